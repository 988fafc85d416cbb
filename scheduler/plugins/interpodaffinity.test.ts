import { describe, expect, it } from 'vitest';
import { selectorFromLabelSelector } from '../../api/labels.js';
import type { Pod, PodAffinityTerm } from '../../api/types.js';
import { Algorithm } from '../algorithm.js';
import { SchedulerCache } from '../cache.js';
import { newCycleContext, type ClusterLister, type NodeInfo, type Status } from '../framework.js';
import { makeNode, makeNodeInfo, makePod } from '../testing.js';
import { defaultFilters, defaultScores } from './index.js';
import { ERR_AFFINITY, ERR_ANTI_AFFINITY, ERR_EXISTING_ANTI_AFFINITY, interPodAffinityFilter, interPodAffinityScore } from './interpodaffinity.js';

const HOST = 'kubernetes.io/hostname';
const ZONE = 'topology.kubernetes.io/zone';

function pod(name: string, labels: Record<string, string>, opts: Parameters<typeof makePod>[1] = {}): Pod {
  const p = makePod(name, opts);
  p.metadata.labels = labels;
  return p;
}

const term = (matchLabels: Record<string, string>, topologyKey = HOST, extra: Partial<PodAffinityTerm> = {}): PodAffinityTerm => ({ labelSelector: { matchLabels }, topologyKey, ...extra });

function filterAll(p: Pod, nodes: NodeInfo[], cluster?: ClusterLister): (Status | null)[] {
  const ctx = newCycleContext(p, cluster);
  expect(interPodAffinityFilter.preFilter!(ctx, nodes)).toBeNull();
  return nodes.map((n) => interPodAffinityFilter.filter(ctx, p, n));
}

function scoreAll(p: Pod, nodes: NodeInfo[]): number[] {
  const ctx = newCycleContext(p);
  interPodAffinityScore.preScore!(ctx, nodes, nodes);
  const scores = nodes.map((n) => interPodAffinityScore.score(ctx, p, n));
  interPodAffinityScore.normalize!(ctx, scores);
  return scores;
}

const zoned = (name: string, zone?: string) => makeNode(name, { labels: zone ? { [ZONE]: zone } : {} });

describe('InterPodAffinity filter', () => {
  it('keeps a pod with required anti-affinity off nodes (and zones) holding a matching pod', () => {
    const web = pod('web-0', { app: 'web' });
    const incoming = pod('web-1', { app: 'web' }, { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' })] } } });
    const nodes = [makeNodeInfo(zoned('a1', 'a'), web), makeNodeInfo(zoned('a2', 'a')), makeNodeInfo(zoned('b1', 'b'))];
    expect(filterAll(incoming, nodes)).toEqual([{ code: 'Unschedulable', reasons: [ERR_ANTI_AFFINITY] }, null, null]);

    const perZone = pod('web-1', { app: 'web' }, { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' }, ZONE)] } } });
    expect(filterAll(perZone, nodes).map((s) => s?.reasons[0] ?? null)).toEqual([ERR_ANTI_AFFINITY, ERR_ANTI_AFFINITY, null]);
  });

  it('honours an existing pod\'s anti-affinity against the incoming pod', () => {
    const loner = pod('loner', { app: 'loner' }, { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' }, ZONE)] } } });
    const nodes = [makeNodeInfo(zoned('a1', 'a'), loner), makeNodeInfo(zoned('a2', 'a')), makeNodeInfo(zoned('b1', 'b'))];
    expect(filterAll(pod('w', { app: 'web' }), nodes)).toEqual([
      { code: 'Unschedulable', reasons: [ERR_EXISTING_ANTI_AFFINITY] },
      { code: 'Unschedulable', reasons: [ERR_EXISTING_ANTI_AFFINITY] },
      null,
    ]);
    // A pod the term does not select goes anywhere.
    expect(filterAll(pod('d', { app: 'db' }), nodes)).toEqual([null, null, null]);
  });

  it('requires a matching pod in the domain for required affinity, and every topology key on the node', () => {
    const db = pod('db', { app: 'db' });
    const incoming = pod('w', { app: 'web' }, { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'db' }, ZONE)] } } });
    const nodes = [makeNodeInfo(zoned('a1', 'a')), makeNodeInfo(zoned('b1', 'b'), db), makeNodeInfo(zoned('b2', 'b')), makeNodeInfo(zoned('nozone'))];
    expect(filterAll(incoming, nodes)).toEqual([
      { code: 'UnschedulableAndUnresolvable', reasons: [ERR_AFFINITY] },
      null,
      null,
      { code: 'UnschedulableAndUnresolvable', reasons: [ERR_AFFINITY] },
    ]);
  });

  it('lets the first pod of a group with affinity to itself go to any node with the key', () => {
    const first = pod('c-0', { app: 'cache' }, { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'cache' }, ZONE)] } } });
    const nodes = [makeNodeInfo(zoned('a1', 'a')), makeNodeInfo(zoned('nozone'))];
    expect(filterAll(first, nodes).map((s) => s?.reasons[0] ?? null)).toEqual([null, ERR_AFFINITY]);
    // Not so for a pod whose terms do not select itself.
    const other = pod('x', { app: 'x' }, { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'cache' }, ZONE)] } } });
    expect(filterAll(other, nodes).map((s) => s?.reasons[0] ?? null)).toEqual([ERR_AFFINITY, ERR_AFFINITY]);
  });

  it('looks only in the term\'s namespaces: its own by default, those named, or those its namespaceSelector matches', () => {
    const other = pod('web-o', { app: 'web' }, { namespace: 'other' });
    const nodes = [makeNodeInfo(zoned('a1', 'a'), other), makeNodeInfo(zoned('b1', 'b'))];
    const anti = (extra: Partial<PodAffinityTerm>) => pod('w', { app: 'web' }, { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' }, HOST, extra)] } } });
    expect(filterAll(anti({}), nodes)).toEqual([null, null]);
    expect(filterAll(anti({ namespaces: ['other'] }), nodes)[0]?.reasons).toEqual([ERR_ANTI_AFFINITY]);
    const cluster: ClusterLister = {
      namespaceLabels: (ns) => (({ default: {}, other: { team: 'x' } }) as Record<string, Record<string, string>>)[ns],
      namespacesMatching: (sel) => ['default', 'other'].filter((ns) => sel.matches(ns === 'other' ? { team: 'x' } : {})),
      defaultSpreadSelector: () => selectorFromLabelSelector({}),
    };
    expect(filterAll(anti({ namespaceSelector: { matchLabels: { team: 'x' } } }), nodes, cluster)[0]?.reasons).toEqual([ERR_ANTI_AFFINITY]);
    expect(filterAll(anti({ namespaceSelector: { matchLabels: { team: 'y' } } }), nodes, cluster)[0]).toBeNull();
  });

  it('adds matchLabelKeys and mismatchLabelKeys values to the selector', () => {
    const v1 = pod('v1', { app: 'web', version: '1' });
    const nodes = [makeNodeInfo(zoned('a1', 'a'), v1), makeNodeInfo(zoned('b1', 'b'))];
    const anti = (labels: Record<string, string>, extra: Partial<PodAffinityTerm>) => pod('w', labels, { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' }, HOST, extra)] } } });
    expect(filterAll(anti({ app: 'web', version: '2' }, { matchLabelKeys: ['version'] }), nodes)[0]).toBeNull();
    expect(filterAll(anti({ app: 'web', version: '1' }, { matchLabelKeys: ['version'] }), nodes)[0]?.reasons).toEqual([ERR_ANTI_AFFINITY]);
    expect(filterAll(anti({ app: 'web', version: '1' }, { mismatchLabelKeys: ['version'] }), nodes)[0]).toBeNull();
  });

  it('ignores terminating pods', () => {
    const web = pod('web-0', { app: 'web' });
    web.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    const incoming = pod('web-1', { app: 'web' }, { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' })] } } });
    expect(filterAll(incoming, [makeNodeInfo(zoned('a1', 'a'), web)])).toEqual([null]);
  });

  it('finds existing pods\' anti-affinity and affinity through the cache\'s lists of such nodes', () => {
    const cache = new SchedulerCache();
    for (const n of ['a1', 'a2', 'b1', 'b2']) cache.addNode(zoned(n, n[0]));
    cache.addPod(pod('loner', { app: 'loner' }, { nodeName: 'a1', affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' }, ZONE)] } } }));
    cache.addPod(pod('fan', { app: 'fan' }, { nodeName: 'b2', affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' })] } } }));
    const incoming = pod('w', { app: 'web' });
    const ctx = newCycleContext(incoming, undefined, cache);
    const nodes = cache.nodeInfos();
    expect(interPodAffinityFilter.preFilter!(ctx, nodes)).toBeNull();
    expect(nodes.map((n) => interPodAffinityFilter.filter(ctx, incoming, n)?.reasons[0] ?? null)).toEqual([ERR_EXISTING_ANTI_AFFINITY, ERR_EXISTING_ANTI_AFFINITY, null, null]);
    // The existing pod's required affinity scores its node at the hard weight.
    interPodAffinityScore.preScore!(ctx, nodes, nodes);
    const scores = nodes.map((n) => interPodAffinityScore.score(ctx, incoming, n));
    interPodAffinityScore.normalize!(ctx, scores);
    expect(scores).toEqual([0, 0, 0, 100]);
  });

  it('words the fit error as kube when anti-affinity rejects every node', () => {
    const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' })] } };
    const nodes = [makeNodeInfo(zoned('n1'), pod('w0', { app: 'web' }, { affinity: anti })), makeNodeInfo(zoned('n2'), pod('w1', { app: 'web' }, { affinity: anti }))];
    expect(() => new Algorithm(defaultFilters, defaultScores).schedule(newCycleContext(pod('w2', { app: 'web' }, { affinity: anti })), nodes)).toThrow(
      "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
    );
  });
});

describe('InterPodAffinity score', () => {
  it('adds preferred affinity weights per matching pod in the domain and scales min-max to 0-100', () => {
    const incoming = pod('w', { app: 'web' }, { affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: term({ app: 'db' }, ZONE) }] } } });
    const nodes = [
      makeNodeInfo(zoned('a1', 'a'), pod('db0', { app: 'db' }), pod('db1', { app: 'db' })),
      makeNodeInfo(zoned('a2', 'a')),
      makeNodeInfo(zoned('b1', 'b'), pod('db2', { app: 'db' })),
      makeNodeInfo(zoned('c1', 'c')),
    ];
    // Raw: a = 20, b = 10, c = 0.
    expect(scoreAll(incoming, nodes)).toEqual([100, 100, 50, 0]);
  });

  it('subtracts preferred anti-affinity weights, of the incoming pod and of existing pods', () => {
    const incoming = pod('w', { app: 'web' }, { affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 5, podAffinityTerm: term({ app: 'web' }) }] } } });
    const nodes = [makeNodeInfo(zoned('n1'), pod('w0', { app: 'web' })), makeNodeInfo(zoned('n2'))];
    expect(scoreAll(incoming, nodes)).toEqual([0, 100]);
    const shy = pod('shy', { app: 'shy' }, { affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: term({ app: 'web' }) }] } } });
    expect(scoreAll(pod('plain', { app: 'web' }), [makeNodeInfo(zoned('n1'), shy), makeNodeInfo(zoned('n2'))])).toEqual([0, 100]);
  });

  it('gives an existing pod\'s required affinity the hard weight, and scores nothing without terms', () => {
    const needsWeb = pod('n', { app: 'n' }, { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' })] } } });
    expect(scoreAll(pod('plain', { app: 'web' }), [makeNodeInfo(zoned('n1')), makeNodeInfo(zoned('n2'), needsWeb)])).toEqual([0, 100]);
    expect(scoreAll(pod('plain', { app: 'db' }), [makeNodeInfo(zoned('n1')), makeNodeInfo(zoned('n2'), needsWeb)])).toEqual([0, 0]);
  });
});

import { describe, expect, it } from 'vitest';
import { selectorFromSet } from '../../api/labels.js';
import type { Pod, TopologySpreadConstraint } from '../../api/types.js';
import { newCycleContext, type ClusterLister, type NodeInfo, type Status } from '../framework.js';
import { makeNode, makeNodeInfo, makePod } from '../testing.js';
import { ERR_CONSTRAINTS_NOT_MATCH, ERR_NODE_LABEL_NOT_MATCH, podTopologySpreadFilter, podTopologySpreadScore } from './podtopologyspread.js';

const ZONE = 'topology.kubernetes.io/zone';

function pod(name: string, labels: Record<string, string>, opts: Parameters<typeof makePod>[1] = {}): Pod {
  const p = makePod(name, opts);
  p.metadata.labels = labels;
  return p;
}

const spread = (maxSkew: number, extra: Partial<TopologySpreadConstraint> = {}): TopologySpreadConstraint => ({
  maxSkew, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } }, ...extra,
});

const zoned = (name: string, zone?: string, extra: Parameters<typeof makeNode>[1] = {}) => makeNode(name, { ...extra, labels: { ...(zone ? { [ZONE]: zone } : {}), ...extra.labels } });
const web = (i: number) => pod(`web-${i}`, { app: 'web' });

function filterAll(p: Pod, nodes: NodeInfo[]): (string | null)[] {
  const ctx = newCycleContext(p);
  expect(podTopologySpreadFilter.preFilter!(ctx, nodes)).toBeNull();
  return nodes.map((n) => podTopologySpreadFilter.filter(ctx, p, n)).map((s: Status | null) => (s ? `${s.code}: ${s.reasons[0]}` : null));
}

function scoreAll(p: Pod, nodes: NodeInfo[], cluster?: ClusterLister): number[] {
  const ctx = newCycleContext(p, cluster);
  podTopologySpreadScore.preScore!(ctx, nodes, nodes);
  const scores = nodes.map((n) => podTopologySpreadScore.score(ctx, p, n));
  podTopologySpreadScore.normalize!(ctx, scores);
  return scores;
}

const SKEW = `Unschedulable: ${ERR_CONSTRAINTS_NOT_MATCH}`;
const MISSING = `UnschedulableAndUnresolvable: ${ERR_NODE_LABEL_NOT_MATCH}`;

describe('PodTopologySpread filter', () => {
  it('allows a domain only while its count plus the pod stays within maxSkew of the smallest', () => {
    const incoming = pod('web-x', { app: 'web' }, { topologySpreadConstraints: [spread(1)] });
    const nodes = [makeNodeInfo(zoned('a1', 'a'), web(0), web(1)), makeNodeInfo(zoned('b1', 'b'), web(2)), makeNodeInfo(zoned('nozone'))];
    // a: 2 + 1 - 1 = 2 > 1; b: 1 + 1 - 1 = 1.
    expect(filterAll(incoming, nodes)).toEqual([SKEW, null, MISSING]);
    const loose = pod('web-x', { app: 'web' }, { topologySpreadConstraints: [spread(2)] });
    expect(filterAll(loose, nodes)).toEqual([null, null, MISSING]);
  });

  it('does not count the pod itself when the selector does not select it, nor pods of other namespaces', () => {
    const nodes = [makeNodeInfo(zoned('a1', 'a'), web(0)), makeNodeInfo(zoned('b1', 'b'), pod('o', { app: 'web' }, { namespace: 'other' }))];
    expect(filterAll(pod('db', { app: 'db' }, { topologySpreadConstraints: [spread(1)] }), nodes)).toEqual([null, null]);
    expect(filterAll(pod('w', { app: 'web' }, { topologySpreadConstraints: [spread(1)] }), nodes)).toEqual([SKEW, null]);
  });

  it('takes the global minimum as 0 while fewer domains than minDomains exist', () => {
    const nodes = [makeNodeInfo(zoned('a1', 'a'), web(0)), makeNodeInfo(zoned('b1', 'b'), web(1))];
    expect(filterAll(pod('w', { app: 'web' }, { topologySpreadConstraints: [spread(1)] }), nodes)).toEqual([null, null]);
    expect(filterAll(pod('w', { app: 'web' }, { topologySpreadConstraints: [spread(1, { minDomains: 3 })] }), nodes)).toEqual([SKEW, SKEW]);
  });

  it('counts only nodes matching the pod\'s node affinity (Honor by default) and ignores taints unless told', () => {
    const tainted = makeNodeInfo(zoned('c1', 'c', { taints: [{ key: 'k', effect: 'NoSchedule' }] }));
    const nodes = [makeNodeInfo(zoned('a1', 'a', { labels: { disk: 'ssd' } }), web(0)), makeNodeInfo(zoned('b1', 'b')), tainted];
    // Domains b and c are empty: a's 1 + 1 - 0 > 1.
    expect(filterAll(pod('w', { app: 'web' }, { topologySpreadConstraints: [spread(1)] }), nodes)[0]).toBe(SKEW);
    // Only ssd nodes count: a is the only domain, its minimum is its own 1.
    expect(filterAll(pod('w', { app: 'web' }, { nodeSelector: { disk: 'ssd' }, topologySpreadConstraints: [spread(1)] }), nodes)[0]).toBeNull();
    expect(filterAll(pod('w', { app: 'web' }, { nodeSelector: { disk: 'ssd' }, topologySpreadConstraints: [spread(1, { nodeAffinityPolicy: 'Ignore' })] }), nodes)[0]).toBe(SKEW);
    // Taints honoured: domain c drops out, b is still empty.
    const honour = [makeNodeInfo(zoned('a1', 'a'), web(0)), makeNodeInfo(zoned('b1', 'b'), web(1)), tainted];
    expect(filterAll(pod('w', { app: 'web' }, { topologySpreadConstraints: [spread(1)] }), honour)[0]).toBe(SKEW);
    expect(filterAll(pod('w', { app: 'web' }, { topologySpreadConstraints: [spread(1, { nodeTaintsPolicy: 'Honor' })] }), honour)[0]).toBeNull();
  });

  it('narrows the selector by matchLabelKeys', () => {
    const v1 = (i: number) => pod(`v1-${i}`, { app: 'web', rev: '1' });
    const nodes = [makeNodeInfo(zoned('a1', 'a'), v1(0), v1(1)), makeNodeInfo(zoned('b1', 'b'))];
    expect(filterAll(pod('w', { app: 'web', rev: '2' }, { topologySpreadConstraints: [spread(1, { matchLabelKeys: ['rev'] })] }), nodes)).toEqual([null, null]);
    expect(filterAll(pod('w', { app: 'web', rev: '1' }, { topologySpreadConstraints: [spread(1, { matchLabelKeys: ['rev'] })] }), nodes)).toEqual([SKEW, null]);
  });

  it('has no filter state for ScheduleAnyway constraints', () => {
    const nodes = [makeNodeInfo(zoned('a1', 'a'), web(0), web(1)), makeNodeInfo(zoned('b1', 'b'))];
    expect(filterAll(pod('w', { app: 'web' }, { topologySpreadConstraints: [spread(1, { whenUnsatisfiable: 'ScheduleAnyway' })] }), nodes)).toEqual([null, null]);
  });
});

describe('PodTopologySpread score', () => {
  it('prefers the less crowded domain for ScheduleAnyway, and gives nodes missing the key 0', () => {
    const nodes = [makeNodeInfo(zoned('a1', 'a'), web(0), web(1)), makeNodeInfo(zoned('b1', 'b'), web(2)), makeNodeInfo(zoned('c1', 'c')), makeNodeInfo(zoned('nozone'))];
    const scores = scoreAll(pod('w', { app: 'web' }, { topologySpreadConstraints: [spread(1, { whenUnsatisfiable: 'ScheduleAnyway' })] }), nodes);
    // weight log(3 + 2) = 1.609: raw a 3, b 2, c 0; 100 * (3 + 0 - s) / 3.
    expect(scores).toEqual([0, 33, 100, 0]);
  });

  it('applies the system defaults (hostname maxSkew 3, zone maxSkew 5) to a pod something selects', () => {
    const cluster = (sel: Record<string, string>): ClusterLister => ({
      namespaceLabels: () => ({}),
      namespacesMatching: () => [],
      defaultSpreadSelector: () => selectorFromSet(sel),
    });
    const nodes = [makeNodeInfo(zoned('n1'), web(0), web(1)), makeNodeInfo(zoned('n2'), web(2)), makeNodeInfo(zoned('n3'))];
    // Hostname only (no zones): weight log(3 + 2); raw n1 round(2*1.609 + 2) = 5, n2 4, n3 2; 100 * (5 + 2 - s) / 5.
    expect(scoreAll(web(9), nodes, cluster({ app: 'web' }))).toEqual([40, 60, 100]);
    // Nothing selects the pod: no constraints, no state, every node scores 0.
    const ctx = newCycleContext(web(9), cluster({}));
    podTopologySpreadScore.preScore!(ctx, nodes, nodes);
    expect(ctx.state.size).toBe(0);
    expect(nodes.map((n) => podTopologySpreadScore.score(ctx, web(9), n))).toEqual([0, 0, 0]);
    // Constraints of its own replace the defaults (here DoNotSchedule only, so nothing to score).
    const own = newCycleContext(pod('w', { app: 'web' }, { topologySpreadConstraints: [spread(1)] }), cluster({ app: 'web' }));
    podTopologySpreadScore.preScore!(own, nodes, nodes);
    expect(own.state.size).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { SchedulerCache } from './cache.js';
import { makeNode, makePod } from './testing.js';

describe('SchedulerCache', () => {
  function setup() {
    let t = 0;
    const cache = new SchedulerCache(30_000, () => t);
    cache.addNode(makeNode('n1'));
    return { cache, advance: (ms: number) => (t += ms) };
  }

  it('counts an assumed pod on its node at once', () => {
    const { cache } = setup();
    cache.assumePod(makePod('p', { cpu: '500m', memory: '1Gi' }), 'n1');
    const ni = cache.nodeInfo('n1')!;
    expect(ni.requested).toEqual({ milliCPU: 500, memory: 2 ** 30 });
    expect(ni.pods.size).toBe(1);
    expect(cache.isAssumed(makePod('p'))).toBe(true);
  });

  it('forgets an assumption when the binding fails', () => {
    const { cache } = setup();
    const pod = makePod('p', { cpu: '500m' });
    cache.assumePod(pod, 'n1');
    cache.forgetPod(pod);
    expect(cache.nodeInfo('n1')!.requested.milliCPU).toBe(0);
    expect(cache.hasPod(pod)).toBe(false);
  });

  it('expires an assumption whose binding is never observed, counting from the binding', () => {
    const { cache, advance } = setup();
    const pod = makePod('p', { cpu: '1' });
    cache.assumePod(pod, 'n1');
    advance(60_000);
    expect(cache.cleanupExpired()).toEqual([]); // binding still in flight: no deadline yet
    cache.finishBinding(pod);
    advance(29_999);
    expect(cache.cleanupExpired()).toEqual([]);
    advance(1);
    expect(cache.cleanupExpired().map((p) => p.metadata.name)).toEqual(['p']);
    expect(cache.nodeInfo('n1')!.requested.milliCPU).toBe(0);
  });

  it('confirms an assumption when the bound pod is observed, and it no longer expires', () => {
    const { cache, advance } = setup();
    const pod = makePod('p', { cpu: '1' });
    cache.assumePod(pod, 'n1');
    cache.finishBinding(pod);
    cache.addPod(makePod('p', { cpu: '1', nodeName: 'n1' }));
    advance(60_000);
    expect(cache.cleanupExpired()).toEqual([]);
    expect(cache.isAssumed(pod)).toBe(false);
    expect(cache.nodeInfo('n1')!.requested.milliCPU).toBe(1000);
    expect(cache.nodeInfo('n1')!.pods.size).toBe(1);
  });

  it('moves a pod observed on another node than assumed', () => {
    const { cache } = setup();
    cache.addNode(makeNode('n2'));
    cache.assumePod(makePod('p', { cpu: '1' }), 'n1');
    cache.addPod(makePod('p', { cpu: '1', nodeName: 'n2' }));
    expect(cache.nodeInfo('n1')!.requested.milliCPU).toBe(0);
    expect(cache.nodeInfo('n2')!.requested.milliCPU).toBe(1000);
  });

  it('keeps pods of a node seen before its Node object, and drops removed nodes from scheduling', () => {
    const cache = new SchedulerCache();
    cache.addPod(makePod('p', { cpu: '1', nodeName: 'late' }));
    expect(cache.nodeInfos()).toEqual([]);
    cache.addNode(makeNode('late'));
    expect(cache.nodeInfos().map((n) => n.name)).toEqual(['late']);
    expect(cache.nodeInfo('late')!.requested.milliCPU).toBe(1000);
    cache.removeNode(makeNode('late'));
    expect(cache.nodeInfos()).toEqual([]);
    cache.removePod(makePod('p', { nodeName: 'late' }));
    expect(cache.nodeInfo('late')).toBeUndefined();
  });

  it('lists the nodes holding pods with affinity and with required anti-affinity as pods come and go', () => {
    const { cache } = setup();
    cache.addNode(makeNode('n2'));
    cache.addNode(makeNode('n3'));
    const term = { labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' };
    const anti = makePod('anti', { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } } });
    const preferred = makePod('pref', { nodeName: 'n2', affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, podAffinityTerm: term }] } } });
    const names = (l: Iterable<{ name: string }>) => [...l].map((n) => n.name).sort();
    cache.addPod(makePod('plain', { nodeName: 'n3' }));
    cache.assumePod(anti, 'n1');
    cache.addPod(preferred);
    expect(names(cache.havePodsWithAffinityList())).toEqual(['n1', 'n2']);
    expect(names(cache.havePodsWithRequiredAntiAffinityList())).toEqual(['n1']);
    // Confirmed on another node than assumed: the lists follow the pod.
    cache.addPod({ ...anti, spec: { ...anti.spec, nodeName: 'n3' } });
    expect(names(cache.havePodsWithAffinityList())).toEqual(['n2', 'n3']);
    expect(names(cache.havePodsWithRequiredAntiAffinityList())).toEqual(['n3']);
    cache.removePod(preferred);
    cache.removePod({ ...anti, spec: { ...anti.spec, nodeName: 'n3' } });
    expect(names(cache.havePodsWithAffinityList())).toEqual([]);
    expect(names(cache.havePodsWithRequiredAntiAffinityList())).toEqual([]);
    cache.assumePod(anti, 'n2');
    cache.forgetPod(anti);
    expect(names(cache.havePodsWithRequiredAntiAffinityList())).toEqual([]);
  });

  it('keeps what filters read of a node in step with its updates and removal', () => {
    const { cache } = setup();
    const ni = cache.nodeInfo('n1')!;
    expect([ni.name, ni.unschedulable, ni.readyStatus, ni.taints]).toEqual(['n1', false, 'True', []]);
    const taints = [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' as const }];
    cache.updateNode(makeNode('n1', { unschedulable: true, ready: 'Unknown', taints, cpu: '2' }));
    expect([ni.unschedulable, ni.readyStatus, ni.taints, ni.allocatable.milliCPU]).toEqual([true, 'Unknown', taints, 2000]);
    cache.updateNode(makeNode('n1', { ready: null }));
    expect([ni.unschedulable, ni.readyStatus, ni.taints]).toEqual([false, undefined, []]);
    cache.addPod(makePod('p', { nodeName: 'n1' }));
    cache.updateNode(makeNode('n1', { unschedulable: true, taints }));
    cache.removeNode(makeNode('n1'));
    expect([ni.node, ni.name, ni.unschedulable, ni.readyStatus, ni.taints]).toEqual([undefined, '', false, undefined, []]);
  });
});

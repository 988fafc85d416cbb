// Table tests of the replica calculator, after kube's replica_calculator_test.go:
// scale up and down on utilization, the tolerance, unready pods on a scale-up,
// missing metrics in both directions, raw average values, and the errors.

import { describe, expect, it } from 'vitest';
import type { Pod } from '../../api/types.js';
import { ReplicaCalculator, type PodMetrics } from './replicacalculator.js';

const now = new Date('2026-06-01T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();

interface PodSpec { request?: string; ready?: boolean; phase?: 'Pending' | 'Running' | 'Failed'; neverReady?: boolean; deleting?: boolean; startedAgoMs?: number; memory?: string }

function pods(specs: PodSpec[]): Pod[] {
  return specs.map((s, i) => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: `p${i}`, namespace: 'default', labels: { app: 'web' }, ...(s.deleting ? { deletionTimestamp: ago(0) } : {}) },
    spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { ...(s.request ? { cpu: s.request } : {}), ...(s.memory ? { memory: s.memory } : {}) } } }] },
    status: {
      phase: s.phase ?? 'Running',
      startTime: ago(s.startedAgoMs ?? 10 * 60_000),
      // A pod that has never been ready turned unready when it started; a ready one became ready long ago.
      conditions: [{ type: 'Ready', status: s.ready === false ? 'False' : 'True', lastTransitionTime: s.neverReady ? ago(s.startedAgoMs ?? 10 * 60_000) : ago(9 * 60_000) }],
    },
  }));
}

function metrics(values: (number | undefined)[]): PodMetrics {
  const m: PodMetrics = new Map();
  values.forEach((v, i) => { if (v !== undefined) m.set(`p${i}`, { value: v, timestamp: new Date(now.getTime() - 5000), windowMs: 30_000 }); });
  return m;
}

const calc = new ReplicaCalculator({ tolerance: 0.1, cpuInitializationPeriodMs: 5 * 60_000, delayOfInitialReadinessStatusMs: 30_000, now: () => now });

describe('resource utilization', () => {
  const cases: { name: string; current: number; target: number; pods: PodSpec[]; usage: (number | undefined)[]; want: number; utilization: number; raw?: number }[] = [
    { name: 'scale up', current: 3, target: 30, pods: [{ request: '1' }, { request: '1' }, { request: '1' }], usage: [300, 500, 700], want: 5, utilization: 50, raw: 500 },
    { name: 'scale down', current: 5, target: 50, pods: Array(5).fill({ request: '1' }), usage: [100, 300, 500, 250, 250], want: 3, utilization: 28, raw: 280 },
    { name: 'within the tolerance', current: 3, target: 100, pods: [{ request: '900m' }, { request: '1' }, { request: '1100m' }], usage: [1010, 1030, 1020], want: 3, utilization: 102 },
    // An unready pod counts as using nothing on a scale-up, so fewer replicas are asked for.
    { name: 'scale up with an unready pod', current: 3, target: 30, pods: [{ request: '1', ready: false, neverReady: true }, { request: '1' }, { request: '1' }], usage: [300, 500, 700], want: 4, utilization: 60 },
    // Pending and deleted/failed pods do not count.
    { name: 'pending and deleting pods ignored', current: 3, target: 50, pods: [{ request: '1', phase: 'Pending' }, { request: '1', deleting: true }, { request: '1' }], usage: [undefined, 900, 1000], want: 3, utilization: 100 },
    // Missing metrics: on a scale-up the missing pod counts as 0%.
    { name: 'scale up with a missing metric', current: 3, target: 50, pods: [{ request: '1' }, { request: '1' }, { request: '1' }], usage: [900, 900, undefined], want: 4, utilization: 90 },
    // On a scale-down the missing pod counts as 100% of its request, which here reverses the direction: no change.
    { name: 'scale down with a missing metric that would reverse it', current: 4, target: 50, pods: Array(4).fill({ request: '1' }), usage: [400, 95, undefined, undefined], want: 4, utilization: 24 },
    // (100+100+100+1000)/4000 = 32% of an 80% target: ceil(0.4 * 4).
    { name: 'scale down with a missing metric', current: 4, target: 80, pods: Array(4).fill({ request: '1' }), usage: [100, 100, 100, undefined], want: 2, utilization: 10 },
    { name: 'missing metrics, ratio exactly one: no change', current: 2, target: 100, pods: [{ request: '1' }, { request: '1' }], usage: [1000, undefined], want: 2, utilization: 100 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = calc.resourceReplicas(c.current, c.target, 'cpu', pods(c.pods), metrics(c.usage));
      expect(r.replicas).toBe(c.want);
      expect(r.utilization).toBe(c.utilization);
      if (c.raw !== undefined) expect(r.rawAverage).toBe(c.raw);
    });
  }

  it('a pod still initialising without a full metrics window since it became ready does not count on a scale-up', () => {
    const ps = pods([{ request: '1', startedAgoMs: 60_000 }, { request: '1' }]);
    ps[0].status!.conditions = [{ type: 'Ready', status: 'True', lastTransitionTime: ago(10_000) }];
    const r = calc.resourceReplicas(2, 50, 'cpu', ps, metrics([1000, 1000]));
    // Only p1's sample is evidence (200%); p0 is taken as 0: (0 + 1000) / 2000 = 50% -> no change.
    expect(r.replicas).toBe(2);
  });

  it('errors as kube: no pods, no matching metrics, missing requests', () => {
    expect(() => calc.resourceReplicas(1, 50, 'cpu', [], metrics([1]))).toThrow('no pods returned by selector while calculating replica count');
    expect(() => calc.resourceReplicas(1, 50, 'cpu', pods([{ request: '1', phase: 'Pending' }]), metrics([1]))).toThrow('did not receive metrics for targeted pods (pods might be unready)');
    expect(() => calc.resourceReplicas(1, 50, 'cpu', pods([{}]), metrics([1]))).toThrow('missing request for cpu in container c of Pod p0');
  });
});

describe('raw average value', () => {
  it('scales memory on an average value target, with the tolerance', () => {
    const mi = 1024 * 1024 * 1000; // 1Mi in milli-bytes
    expect(calc.rawResourceReplicas(2, 100 * mi, 'memory', pods([{}, {}]), metrics([300 * mi, 100 * mi]))).toEqual({ replicas: 4, usage: 200 * mi });
    expect(calc.rawResourceReplicas(2, 100 * mi, 'memory', pods([{}, {}]), metrics([105 * mi, 100 * mi])).replicas).toBe(2);
    expect(calc.rawResourceReplicas(4, 100 * mi, 'memory', pods([{}, {}, {}, {}]), metrics([10 * mi, 10 * mi, 10 * mi, 10 * mi])).replicas).toBe(1);
  });
});

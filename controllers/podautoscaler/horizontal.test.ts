// The HPA controller with fake metrics, a fake scale client and the fake API
// client: a scale-up through the scale subresource with SuccessfulRescale
// and kube's conditions, min/max limits, the legacy scale-down stabilization
// window, behavior policies limiting the rate, and a metrics failure.

import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { KubeObject, Pod } from '../../api/types.js';
import { FakeInformerFactory, FakeRecorder, RecordingClient } from '../testing/fake.js';
import type { MetricsClient, Scale, ScaleClient } from './clients.js';
import { formatMilliQuantity } from './clients.js';
import { HorizontalController } from './horizontal.js';
import type { PodMetrics } from './replicacalculator.js';

class FakeScales implements ScaleClient {
  updates: number[] = [];
  constructor(public replicas: number) {}
  async get(): Promise<Scale> {
    return { metadata: { name: 'web', namespace: 'default' }, spec: { replicas: this.replicas }, status: { replicas: this.replicas, selector: 'app=web' } };
  }
  async update(_ns: string, _ref: unknown, s: Scale): Promise<Scale> {
    this.replicas = s.spec.replicas!;
    this.updates.push(this.replicas);
    return s;
  }
}

class FakeMetrics implements MetricsClient {
  /** Per-pod millicores. */
  usage = 0;
  fail?: string;
  constructor(private readonly pods: () => readonly Pod[], private readonly at: () => Date) {}
  async resourceMetric(): Promise<PodMetrics> {
    if (this.fail) throw new Error(this.fail);
    return new Map(this.pods().map((p) => [p.metadata.name!, { value: this.usage, timestamp: new Date(this.at().getTime() - 1000), windowMs: 15_000 }]));
  }
}

function hpa(spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', namespace: 'default', uid: 'uid-hpa', generation: 1 },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 10,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }], ...spec },
    status: {},
  };
}

function readyPod(i: number): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: `web-${i}`, namespace: 'default', labels: { app: 'web' } },
    spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '100m' } } }] },
    status: { phase: 'Running', startTime: '2026-01-01T00:00:00Z', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:10Z' }] },
  };
}

function setup(h: KubeObject, replicas: number, opts: { downscaleStabilizationMs?: number } = {}) {
  let t = new Date('2026-06-01T12:00:00Z');
  const informers = new FakeInformerFactory();
  const client = new RecordingClient();
  const recorder = new FakeRecorder();
  const scales = new FakeScales(replicas);
  const podInformer = informers.informerFor<Pod>(R.pods);
  const syncPods = () => { podInformer.items.clear(); podInformer.set(...Array.from({ length: scales.replicas }, (_, i) => readyPod(i))); };
  syncPods();
  const metrics = new FakeMetrics(() => podInformer.list(), () => t);
  const hpas = informers.informerFor(R.horizontalpodautoscalers);
  hpas.set(h);
  client.seed('horizontalpodautoscalers', h);
  const c = new HorizontalController({ client, informers, recorder, metrics, scales, now: () => t, ...opts });
  /** One sync at time +seconds, with the pods the target has now and the status last written. */
  const syncAt = async (seconds: number) => {
    t = new Date(Date.parse('2026-06-01T12:00:00Z') + seconds * 1000);
    syncPods();
    const written = client.of('updateStatus').at(-1)?.object;
    if (written) hpas.set(written);
    await c.sync('default/web');
    return client.of('updateStatus').at(-1)?.object;
  };
  return { c, client, recorder, scales, metrics, syncAt };
}

const cond = (h: KubeObject | undefined, type: string) => h?.status?.conditions?.find((c: { type: string }) => c.type === type);

describe('HorizontalController', () => {
  it('scales a target up through its scale subresource, with SuccessfulRescale and kube\'s status', async () => {
    const { scales, metrics, recorder, syncAt } = setup(hpa(), 2);
    metrics.usage = 150; // 150% of a 100m request against a 50% target
    const st = await syncAt(0);
    expect(scales.updates).toEqual([4]); // legacy limit: at most max(2*2, 4) per sync (ceil(3 * 2) = 6 wanted)
    expect(recorder.events).toEqual(['Normal SuccessfulRescale New size: 4; reason: cpu resource utilization (percentage of request) above target']);
    expect(st!.status).toMatchObject({
      currentReplicas: 2, desiredReplicas: 4,
      currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 150, averageValue: '150m' } } }],
    });
    expect(st!.status.lastScaleTime).toBe('2026-06-01T12:00:00Z');
    expect(cond(st, 'AbleToScale')).toMatchObject({ status: 'True', reason: 'SucceededRescale', message: 'the HPA controller was able to update the target scale to 4' });
    expect(cond(st, 'ScalingActive')).toMatchObject({ status: 'True', reason: 'ValidMetricFound' });
    expect(cond(st, 'ScalingLimited')).toMatchObject({ status: 'True', reason: 'ScaleUpLimit' });
    await syncAt(15);
    expect(scales.updates).toEqual([4, 8]);
    const last = await syncAt(30);
    expect(scales.updates).toEqual([4, 8, 10]);
    expect(cond(last, 'ScalingLimited')).toMatchObject({ status: 'True', reason: 'TooManyReplicas' });
  });

  it('holds a scale-down for the stabilization window, then takes the highest recent recommendation', async () => {
    const { scales, metrics, syncAt } = setup(hpa(), 4, { downscaleStabilizationMs: 60_000 });
    metrics.usage = 50; // exactly on target
    await syncAt(0);
    expect(scales.updates).toEqual([]);
    metrics.usage = 10; // wants 1
    const st = await syncAt(15);
    expect(scales.updates).toEqual([]);
    expect(cond(st, 'AbleToScale')).toMatchObject({ reason: 'ScaleDownStabilized' });
    await syncAt(75); // the 4 recommended at 0s has left the window, 1 recommended at 15s has not
    expect(scales.updates).toEqual([1]);
  });

  it('limits a scale-up by the behavior policies and keeps within min and max', async () => {
    const behavior = { scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] },
      scaleDown: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] } };
    const { scales, metrics, syncAt } = setup(hpa({ behavior, minReplicas: 2 }), 2);
    metrics.usage = 500;
    const st = await syncAt(0);
    expect(scales.updates).toEqual([3]);
    expect(cond(st, 'ScalingLimited')).toMatchObject({ status: 'True', reason: 'ScaleUpLimit' });
    await syncAt(30); // one pod per minute: still 3
    expect(scales.updates).toEqual([3]);
    await syncAt(61);
    expect(scales.updates).toEqual([3, 4]);
    metrics.usage = 1;
    const down = await syncAt(90);
    expect(scales.updates).toEqual([3, 4, 2]);
    expect(cond(down, 'ScalingLimited')).toMatchObject({ status: 'True', reason: 'TooFewReplicas' });
  });

  it('reports a metrics failure as ScalingActive False and does not scale', async () => {
    const { scales, metrics, recorder, syncAt } = setup(hpa(), 3);
    metrics.fail = 'the server is currently unable to handle the request';
    await expect(syncAt(0)).rejects.toThrow(/invalid metrics \(1 invalid out of 1\)/);
    expect(scales.updates).toEqual([]);
    expect(recorder.events[0]).toBe('Warning FailedGetResourceMetric unable to get metrics for resource cpu: the server is currently unable to handle the request');
  });

  it('brings a target outside min/max back in range without metrics', async () => {
    const { scales, recorder, syncAt } = setup(hpa({ minReplicas: 3 }), 1);
    await syncAt(0);
    expect(scales.updates).toEqual([3]);
    expect(recorder.events).toEqual(['Normal SuccessfulRescale New size: 3; reason: Current number of replicas below Spec.MinReplicas']);
  });
});

describe('formatMilliQuantity', () => {
  it('prints as resource.Quantity does', () => {
    expect([formatMilliQuantity(250), formatMilliQuantity(2000), formatMilliQuantity(0), formatMilliQuantity(200_000_000_000)]).toEqual(['250m', '2', '0', '200M']);
  });
});

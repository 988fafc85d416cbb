// One object at several versions: HPA autoscaling/v1 <-> v2 and Event core
// v1 <-> events.k8s.io/v1, through the conversion functions and through the
// real store (memory storage): written at one version, read, listed, watched
// and printed at the other, with one resourceVersion.

import { describe, expect, it } from 'vitest';
import { findByPlural, R } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { StatusError } from '../../api/errors.js';
import { checkSupportedFields, parseFieldSelector, selectableFields } from '../../api/fields.js';
import { hpaV1ToV2, hpaV2ToV1, metricSpecsAnnotation } from '../../api/kinds/autoscaling/conversion.js';
import { coreToEventsV1, eventsV1ToCore } from '../../api/kinds/events/event.js';
import { toTable } from '../printers.js';
import { MemoryStorage } from './memory.js';
import { Store } from '../registry/store.js';
import type { StorageEvent } from './interface.js';

const hpaV1 = findByPlural('autoscaling', 'v1', 'horizontalpodautoscalers')!;
const hpaV2 = findByPlural('autoscaling', 'v2', 'horizontalpodautoscalers')!;
const eventsV1 = findByPlural('events.k8s.io', 'v1', 'events')!;

const v2hpa = (): KubeObject => ({
  apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', namespace: 'default', annotations: { keep: 'me' } },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 10,
    metrics: [
      { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '200Mi' } } },
      { type: 'Pods', pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '10' } } },
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
    ],
    behavior: { scaleDown: { stabilizationWindowSeconds: 60, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } },
  },
  status: {
    currentReplicas: 3, desiredReplicas: 4,
    currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 70, averageValue: '140m' } } }],
    conditions: [{ type: 'AbleToScale', status: 'True', reason: 'SucceededRescale', lastTransitionTime: '2026-01-01T00:00:00Z' }],
  },
});

function phase() {
  return async () => 'Active' as const;
}

describe('HPA autoscaling/v1 <-> v2 conversion', () => {
  it('carries the CPU target in v1 and everything else in annotations, and back without loss', () => {
    const v1 = hpaV2ToV1(v2hpa());
    expect(v1.apiVersion).toBe('autoscaling/v1');
    expect(v1.spec).toEqual({ scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 10, targetCPUUtilizationPercentage: 50 });
    expect(v1.status).toMatchObject({ currentReplicas: 3, desiredReplicas: 4, currentCPUUtilizationPercentage: 70 });
    expect(JSON.parse(v1.metadata.annotations![metricSpecsAnnotation])).toEqual([
      { type: 'Resource', resource: { name: 'memory', targetAverageValue: '200Mi' } },
      { type: 'Pods', pods: { metricName: 'qps', targetAverageValue: '10' } },
    ]);
    expect(v1.metadata.annotations!.keep).toBe('me');
    const back = hpaV1ToV2(v1);
    const want = v2hpa();
    // As kube: the CPU metric comes back last (after the annotation's metrics).
    expect(back.spec.metrics).toEqual(want.spec.metrics);
    expect(back.spec.behavior).toEqual(want.spec.behavior);
    expect(back.status).toEqual(want.status);
    expect(back.metadata.annotations).toEqual({ keep: 'me' });
  });

  it('a plain v1 HPA is a v2 HPA with one CPU utilization metric', () => {
    const v2 = hpaV1ToV2({ apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'x' },
      spec: { scaleTargetRef: { kind: 'Deployment', name: 'x' }, maxReplicas: 3, targetCPUUtilizationPercentage: 40 } });
    expect(v2.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 40 } } }]);
    expect(v2.metadata.annotations).toBeUndefined();
  });
});

describe('Event core v1 <-> events.k8s.io/v1 conversion', () => {
  it('renames the fields both ways', () => {
    const core: KubeObject = {
      apiVersion: 'v1', kind: 'Event', metadata: { name: 'e', namespace: 'default' },
      involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' }, reason: 'Started', message: 'started container', type: 'Normal',
      source: { component: 'kubelet', host: 'n1' }, firstTimestamp: '2026-01-01T00:00:00Z', lastTimestamp: '2026-01-01T00:01:00Z', count: 3,
      reportingComponent: 'kubelet', reportingInstance: 'n1',
    };
    const ev = coreToEventsV1(core);
    expect(ev).toMatchObject({
      apiVersion: 'events.k8s.io/v1', regarding: core.involvedObject, note: 'started container', reason: 'Started', type: 'Normal',
      deprecatedSource: core.source, deprecatedFirstTimestamp: core.firstTimestamp, deprecatedLastTimestamp: core.lastTimestamp, deprecatedCount: 3,
      reportingController: 'kubelet', reportingInstance: 'n1', eventTime: null,
    });
    expect(ev.message).toBeUndefined();
    expect(eventsV1ToCore(ev)).toEqual(core);
  });
});

describe('the store serves one object at every version', () => {
  it('an HPA written through v1 is read, listed and watched through v2, and updated back through v1', async () => {
    const storage = new MemoryStorage();
    const s1 = new Store(hpaV1, storage, '/registry', phase());
    const s2 = new Store(hpaV2, storage, '/registry', phase());
    expect(s1.listPrefix()).toBe(s2.listPrefix());
    const seen: StorageEvent[] = [];
    const w = s2.storage.watch(s2.listPrefix('default'), { sinceRevision: 0, recursive: true }, { onEvent: (e) => seen.push(e), onError: () => {} });
    const created = await s1.create('default', { apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 5, targetCPUUtilizationPercentage: 50 } });
    expect(created.apiVersion).toBe('autoscaling/v1');
    expect(created.spec.minReplicas).toBe(1);
    const got = await s2.get('default', 'web');
    expect(got.apiVersion).toBe('autoscaling/v2');
    expect(got.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
    expect(got.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }]);
    const listed = await s2.list('default', {});
    expect(listed.items.map((o) => o.apiVersion)).toEqual(['autoscaling/v2']);

    // A v2-only metric survives a v1 update (the annotation round trip).
    await s2.update('default', 'web', (cur) => ({ ...cur!, spec: { ...cur!.spec, metrics: [...cur!.spec.metrics, { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '1Gi' } } }] } }));
    const asV1 = await s1.get('default', 'web');
    expect(asV1.metadata.annotations?.[metricSpecsAnnotation]).toContain('memory');
    await s1.update('default', 'web', (cur) => ({ ...cur!, spec: { ...cur!.spec, maxReplicas: 7 } }));
    const after = await s2.get('default', 'web');
    expect(after.spec.maxReplicas).toBe(7);
    expect(after.spec.metrics.map((m: any) => m.resource.name).sort()).toEqual(['cpu', 'memory']);
    expect(after.metadata.annotations).toBeUndefined();
    expect(after.metadata.generation).toBe(3);

    await new Promise((r) => setTimeout(r, 20));
    w.stop();
    expect(seen.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'MODIFIED']);
    expect(seen.every((e) => e.object.apiVersion === 'autoscaling/v2')).toBe(true);

    const table = toTable(hpaV1, [asV1], {});
    expect(table.rows[0].cells.slice(1, 6)).toEqual(['Deployment/web', 'memory: <unknown>/1Gi, cpu: <unknown>/50%', '1', 5, 0]);
  });

  it('an Event written through core v1 is read through events.k8s.io/v1 and the reverse, and refused without its required fields', async () => {
    const storage = new MemoryStorage();
    const core = new Store(R.events, storage, '/registry', phase());
    const events = new Store(eventsV1, storage, '/registry', phase());
    await core.create('default', { apiVersion: 'v1', kind: 'Event', metadata: { name: 'a' }, involvedObject: { kind: 'Pod', name: 'p' }, reason: 'Pulled', message: 'pulled', type: 'Normal' });
    const a = await events.get('default', 'a');
    expect(a).toMatchObject({ apiVersion: 'events.k8s.io/v1', note: 'pulled', regarding: { kind: 'Pod', name: 'p' } });

    await events.create('default', { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'b' }, eventTime: '2026-01-01T00:00:00.000000Z',
      reportingController: 'example.com/ctl', reportingInstance: 'ctl-1', action: 'Sync', reason: 'Synced', type: 'Normal', note: 'synced', regarding: { kind: 'Pod', name: 'p' } });
    const b = await core.get('default', 'b');
    expect(b).toMatchObject({ apiVersion: 'v1', message: 'synced', reportingComponent: 'example.com/ctl', involvedObject: { kind: 'Pod', name: 'p' } });
    expect(b.note).toBeUndefined();
    expect(toTable(eventsV1, [await events.get('default', 'b')], {}).rows[0].cells.slice(1, 4)).toEqual(['Normal', 'Synced', 'pod/p']);

    // Field selectors are the version's own: regarding.* and reportingController here, involvedObject.* in core.
    const sel = (r: typeof eventsV1, q: string) => {
      const m = parseFieldSelector(q);
      checkSupportedFields(r, m);
      return (o: KubeObject) => m.matches(selectableFields(r, o));
    };
    expect((await events.list('default', { predicate: sel(eventsV1, 'regarding.name=p,reportingController=example.com/ctl') })).items.map((o) => o.metadata.name)).toEqual(['b']);
    expect((await core.list('default', { predicate: sel(R.events, 'involvedObject.name=p,reportingComponent=example.com/ctl') })).items.map((o) => o.metadata.name)).toEqual(['b']);
    expect(() => sel(eventsV1, 'involvedObject.name=p')).toThrow('field label not supported: involvedObject.name');

    const err = await events.create('default', { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'c' }, eventTime: '2026-01-01T00:00:00.000000Z', type: 'Normal' }).catch((e) => e);
    expect(err).toBeInstanceOf(StatusError);
    expect((err as StatusError).status.details?.causes?.map((c) => c.field)).toEqual(['reportingController', 'reportingInstance', 'action', 'reason']);
  });
});

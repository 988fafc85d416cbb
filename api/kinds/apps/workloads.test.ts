import { describe, expect, it } from 'vitest';
import daemonsets, { templateGenerationAnnotation } from './daemonset.js';
import statefulsets from './statefulset.js';

const template = { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
const meta = { name: 'x', namespace: 'default' };

function ds(spec: Record<string, unknown> = {}) {
  const o: any = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { ...meta }, spec: { selector: { matchLabels: { app: 'a' } }, template: structuredClone(template), ...spec } };
  daemonsets.defaults!(o);
  return o;
}
function sts(spec: Record<string, unknown> = {}) {
  const o: any = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { ...meta }, spec: { serviceName: 'x', selector: { matchLabels: { app: 'a' } }, template: structuredClone(template), ...spec } };
  statefulsets.defaults!(o);
  return o;
}
const messages = (causes: { field?: string; message?: string }[]) => causes.map((c) => `${c.field}: ${c.message}`);

describe('DaemonSet', () => {
  it('defaults as SetDefaults_DaemonSet', () => {
    const o = ds();
    expect(o.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    expect(o.spec.revisionHistoryLimit).toBe(10);
    expect(o.spec.template.spec.restartPolicy).toBe('Always');
    expect(daemonsets.validate!(o, {})).toEqual([]);
  });

  it('refuses both maxSurge and maxUnavailable, neither, an empty selector and a changed selector', () => {
    expect(messages(daemonsets.validate!(ds({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: '10%' } } }), {})))
      .toEqual(['spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: "10%": may not be set when maxUnavailable is non-zero']);
    expect(messages(daemonsets.validate!(ds({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } } }), {})))
      .toEqual(['spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0']);
    expect(messages(daemonsets.validate!(ds({ selector: {} }), {})).join()).toMatch(/spec.selector: Invalid value: .*: empty selector is invalid for daemonset/);
    const old = ds();
    const changed = ds({ selector: { matchLabels: { app: 'a', tier: 'b' } }, template: { ...template, metadata: { labels: { app: 'a', tier: 'b' } } } });
    expect(messages(daemonsets.validate!(changed, { old })).join()).toContain('spec.selector: Invalid value');
    expect(messages(daemonsets.validate!(changed, { old })).join()).toContain('field is immutable');
  });

  it('moves the template generation only with the template', () => {
    const old = ds();
    daemonsets.strategy!.prepareForCreate!(old);
    expect(old.metadata.annotations[templateGenerationAnnotation]).toBe('1');
    expect(old.status.desiredNumberScheduled).toBe(0);
    const same = structuredClone(old);
    same.spec.minReadySeconds = 5;
    daemonsets.strategy!.prepareForUpdate!(same, old);
    expect(same.metadata.annotations[templateGenerationAnnotation]).toBe('1');
    const next = structuredClone(old);
    next.spec.template.spec.containers[0].image = 'busybox:2';
    daemonsets.strategy!.prepareForUpdate!(next, old);
    expect(next.metadata.annotations[templateGenerationAnnotation]).toBe('2');
  });

  it('prints kube\'s columns', () => {
    const o = ds({ template: { ...template, spec: { ...template.spec, nodeSelector: { disk: 'ssd' } } } });
    o.metadata.creationTimestamp = '2026-01-01T00:00:00Z';
    o.status = { desiredNumberScheduled: 2, currentNumberScheduled: 2, numberReady: 1, updatedNumberScheduled: 2, numberAvailable: 1 };
    expect(daemonsets.printer!.columns.map((c) => c[0])).toEqual(['Name', 'Desired', 'Current', 'Ready', 'Up-to-date', 'Available', 'Node Selector', 'Age', 'Containers', 'Images', 'Selector']);
    expect(daemonsets.printer!.cells(o, () => '5m')).toEqual(['x', 2, 2, 1, 2, 1, 'disk=ssd', '5m', 'c', 'busybox', 'app=a']);
  });
});

describe('StatefulSet', () => {
  it('defaults as SetDefaults_StatefulSet', () => {
    const o = sts({ volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'] } }] });
    expect(o.spec).toMatchObject({
      podManagementPolicy: 'OrderedReady', replicas: 1, revisionHistoryLimit: 10,
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    });
    expect(o.spec.volumeClaimTemplates[0]).toMatchObject({ spec: { volumeMode: 'Filesystem' }, status: { phase: 'Pending' } });
    expect(statefulsets.validate!(o, {})).toEqual([]);
  });

  it('lets only replicas, ordinals, template, updateStrategy, the retention policy and minReadySeconds change', () => {
    const old = sts();
    const ok = sts({ replicas: 3, minReadySeconds: 2, updateStrategy: { type: 'OnDelete' } });
    expect(statefulsets.validate!(ok, { old })).toEqual([]);
    expect(messages(statefulsets.validate!(sts({ serviceName: 'other' }), { old })))
      .toEqual(["spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"]);
  });

  it('refuses a bad policy, a rollingUpdate with OnDelete and a template its selector misses', () => {
    const bad = sts({ podManagementPolicy: 'Random', updateStrategy: { type: 'OnDelete', rollingUpdate: { partition: 1 } } });
    bad.spec.template.metadata.labels = { app: 'b' };
    expect(messages(statefulsets.validate!(bad, {}))).toEqual([
      'spec.podManagementPolicy: Invalid value: "Random": must be \'OrderedReady\' or \'Parallel\'',
      'spec.updateStrategy.rollingUpdate: Invalid value: {"partition":1}: only allowed for updateStrategy \'RollingUpdate\'',
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"b"}: `selector` does not match template `labels`',
    ]);
    expect(statefulsets.nameRule!('web.a')).not.toEqual([]);
  });

  it('prints NAME READY AGE and the wide containers and images', () => {
    const o = sts({ replicas: 3 });
    o.status = { readyReplicas: 2 };
    expect(statefulsets.printer!.columns.map((c) => c[0])).toEqual(['Name', 'Ready', 'Age', 'Containers', 'Images']);
    expect(statefulsets.printer!.cells(o, () => '1m')).toEqual(['x', '2/3', '1m', 'c', 'busybox']);
  });
});

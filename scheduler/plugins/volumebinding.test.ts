import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { FakeClient } from '../../client/fake.js';
import { newCycleContext, type ClusterLister } from '../framework.js';
import { makeNode, makeNodeInfo, makePod } from '../testing.js';
import { newVolumeBinding, reasonBindConflict, reasonNodeConflict, reasonUnboundImmediate, volumeBinding } from './volumebinding.js';

const sc = (name: string, mode: string, provisioner = 'rancher.io/local-path'): KubeObject => ({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name }, provisioner, volumeBindingMode: mode });
const pvc = (name: string, klass: string, extra: Record<string, unknown> = {}, annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: 'default', uid: `uid-${name}`, annotations },
  spec: { storageClassName: klass, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...extra },
});
const pv = (name: string, host: string | undefined, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name },
  spec: {
    capacity: { storage: '2Gi' }, accessModes: ['ReadWriteOnce'], storageClassName: 'local', hostPath: { path: `/d/${name}` },
    ...(host ? { nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [host] }] }] } } } : {}),
    ...extra,
  },
  status: { phase: 'Available' },
});

function lister(objs: KubeObject[]): ClusterLister {
  const of = (kind: string) => objs.filter((o) => o.kind === kind);
  return {
    namespaceLabels: () => ({}), namespacesMatching: () => [], defaultSpreadSelector: () => ({ matches: () => false }) as never,
    claim: (ns, name) => of('PersistentVolumeClaim').find((c) => c.metadata.namespace === ns && c.metadata.name === name),
    volume: (name) => of('PersistentVolume').find((v) => v.metadata.name === name),
    volumes: () => of('PersistentVolume'),
    storageClass: (name) => of('StorageClass').find((c) => c.metadata.name === name),
  };
}

const nodeA = makeNodeInfo(makeNode('a', { labels: { 'kubernetes.io/hostname': 'a' } }));
const nodeB = makeNodeInfo(makeNode('b', { labels: { 'kubernetes.io/hostname': 'b' } }));
const podWith = (...claims: string[]) => makePod('p', { volumes: claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } })) } as never);

describe('VolumeBinding filter', () => {
  it('rejects a pod with an unbound Immediate claim everywhere, and a missing claim', () => {
    const pod = podWith('data');
    const ctx = newCycleContext(pod, lister([sc('fast', 'Immediate'), pvc('data', 'fast')]));
    expect(volumeBinding.preFilter!(ctx, [nodeA])).toEqual({ code: 'UnschedulableAndUnresolvable', reasons: [reasonUnboundImmediate] });
    const none = newCycleContext(pod, lister([]));
    expect(volumeBinding.preFilter!(none, [nodeA])?.reasons).toEqual(['persistentvolumeclaim "data" not found']);
  });

  it('keeps a pod with a bound claim on the nodes its volume\'s node affinity admits', () => {
    const pod = podWith('data');
    const ctx = newCycleContext(pod, lister([sc('local', 'WaitForFirstConsumer'), pvc('data', 'local', { volumeName: 'pv-a' }), pv('pv-a', 'a')]));
    expect(volumeBinding.preFilter!(ctx, [nodeA, nodeB])).toBeNull();
    expect(volumeBinding.filter(ctx, pod, nodeA)).toBeNull();
    expect(volumeBinding.filter(ctx, pod, nodeB)).toEqual({ code: 'UnschedulableAndUnresolvable', reasons: [reasonNodeConflict] });
  });

  it('for a WaitForFirstConsumer claim: a node with a fitting volume, or any node when the class provisions', () => {
    const pod = podWith('data');
    const static_ = newCycleContext(pod, lister([sc('local', 'WaitForFirstConsumer', 'kubernetes.io/no-provisioner'), pvc('data', 'local'), pv('pv-b', 'b')]));
    expect(volumeBinding.preFilter!(static_, [nodeA, nodeB])).toBeNull();
    expect(volumeBinding.filter(static_, pod, nodeA)).toEqual({ code: 'Unschedulable', reasons: [reasonBindConflict] });
    expect(volumeBinding.filter(static_, pod, nodeB)).toBeNull();
    const dynamic = newCycleContext(pod, lister([sc('local', 'WaitForFirstConsumer'), pvc('data', 'local')]));
    volumeBinding.preFilter!(dynamic, [nodeA, nodeB]);
    expect(volumeBinding.filter(dynamic, pod, nodeA)).toBeNull();
    // Once a node is selected for provisioning, the claim stays with it.
    const selected = newCycleContext(pod, lister([sc('local', 'WaitForFirstConsumer'), pvc('data', 'local', {}, { 'volume.kubernetes.io/selected-node': 'b' })]));
    volumeBinding.preFilter!(selected, [nodeA, nodeB]);
    expect(volumeBinding.filter(selected, pod, nodeA)?.reasons).toEqual([reasonBindConflict]);
    expect(volumeBinding.filter(selected, pod, nodeB)).toBeNull();
  });
});

describe('VolumeBinding PreBind', () => {
  it('names the chosen node on a claim to provision, waits for it to be Bound, and gives up at the bind timeout', async () => {
    const objs = [sc('local', 'WaitForFirstConsumer'), pvc('data', 'local')];
    const client = new FakeClient([R.persistentvolumeclaims, objs[1]]);
    const pod = podWith('data');
    const ctx = newCycleContext(pod, lister(objs));
    const plugin = newVolumeBinding({ bindTimeoutMs: 300 });
    plugin.preFilter!(ctx, [nodeA]);
    const status = await plugin.preBind(ctx, pod, nodeA.node!, client);
    expect((await client.resource(R.persistentvolumeclaims, 'default').get('data')).metadata.annotations).toEqual({ 'volume.kubernetes.io/selected-node': 'a' });
    expect(status?.reasons[0]).toMatch(/timed out/);

    // Bound meanwhile (as the provisioner and binder do): PreBind lets the pod bind.
    const bound = pvc('data', 'local', { volumeName: 'pv-1' });
    bound.status = { phase: 'Bound' };
    let calls = 0;
    const later: ClusterLister = { ...lister(objs), claim: () => (++calls > 2 ? bound : objs[1]) };
    const ctx2 = newCycleContext(pod, later);
    plugin.preFilter!(ctx2, [nodeA]);
    expect(await newVolumeBinding({ bindTimeoutMs: 5000 }).preBind(ctx2, pod, nodeA.node!, client)).toBeNull();
  });

  it('pre-binds a fitting static volume to the claim instead of asking for provisioning', async () => {
    const objs = [sc('local', 'WaitForFirstConsumer', 'kubernetes.io/no-provisioner'), pvc('data', 'local'), pv('pv-a', 'a')];
    const client = new FakeClient([R.persistentvolumes, objs[2]], [R.persistentvolumeclaims, objs[1]]);
    const pod = podWith('data');
    const ctx = newCycleContext(pod, lister(objs));
    const plugin = newVolumeBinding({ bindTimeoutMs: 100 });
    plugin.preFilter!(ctx, [nodeA]);
    await plugin.preBind(ctx, pod, nodeA.node!, client);
    const stored = await client.resource(R.persistentvolumes).get('pv-a');
    expect(stored.spec.claimRef).toMatchObject({ namespace: 'default', name: 'data', uid: 'uid-data' });
    expect((await client.resource(R.persistentvolumeclaims, 'default').get('data')).metadata.annotations?.['volume.kubernetes.io/selected-node']).toBeUndefined();
  });
});

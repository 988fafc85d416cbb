import { describe, expect, it } from 'vitest';
import pvKind from './persistentvolume.js';
import pvcKind from './persistentvolumeclaim.js';
import scKind from '../storage/storageclass.js';
import type { KubeObject } from '../../types.js';

const since = () => '5m';
const msgs = (c: { field?: string; message?: string }[]) => c.map((x) => `${x.field}: ${x.message}`);
const pv = (spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'v' }, spec });
const pvc = (spec: Record<string, unknown>, status?: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c', namespace: 'default' }, spec, status });

describe('PersistentVolume', () => {
  it('defaults reclaim policy Retain, volumeMode Filesystem and phase Pending', () => {
    const v = pv({ capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/d' } });
    pvKind.defaults!(v);
    expect(v.spec).toMatchObject({ persistentVolumeReclaimPolicy: 'Retain', volumeMode: 'Filesystem' });
    expect(v.status.phase).toBe('Pending');
  });

  it('requires capacity, access modes and exactly one volume source, with kube\'s messages', () => {
    expect(msgs(pvKind.validate!(pv({}), {}))).toEqual([
      'spec.accessModes: Required value', 'spec.capacity: Required value', 'spec: Required value: must specify a volume type',
    ]);
    expect(msgs(pvKind.validate!(pv({ capacity: { storage: '1Gi' }, accessModes: ['ReadWriteSometimes'], hostPath: { path: '/a' }, nfs: { server: 's', path: '/' } }), {}))).toEqual([
      'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"',
      'spec.nfs: Forbidden: may not specify more than 1 volume type',
    ]);
    expect(msgs(pvKind.validate!(pv({ capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], local: { path: 'rel/../x' } }), {}))).toEqual([
      'spec.local.path: Invalid value: "rel/../x": must be an absolute path', 'spec.local.path: Invalid value: "rel/../x": must not contain \'..\'',
      'spec.nodeAffinity: Required value: Local volume requires node affinity',
    ]);
  });

  it('keeps the volume source immutable and prints kube\'s columns', () => {
    const old = pv({ capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/a' }, volumeMode: 'Filesystem' });
    const next = pv({ capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/b' }, volumeMode: 'Filesystem' });
    expect(msgs(pvKind.validate!(next, { old }))).toEqual(['spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation']);
    const bound = { ...old, spec: { ...old.spec, accessModes: ['ReadWriteMany', 'ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Delete', storageClassName: 'local-path', claimRef: { namespace: 'ns', name: 'c' } }, status: { phase: 'Bound' } };
    expect(pvKind.printer!.cells(bound, since)).toEqual(['v', '1Gi', 'RWO,RWX', 'Delete', 'Bound', 'ns/c', 'local-path', '<unset>', '', '5m', 'Filesystem']);
    expect(pvKind.printer!.columns.map((c) => c[0])).toEqual(['Name', 'Capacity', 'Access Modes', 'Reclaim Policy', 'Status', 'Claim', 'StorageClass', 'VolumeAttributesClass', 'Reason', 'Age', 'VolumeMode']);
  });
});

describe('PersistentVolumeClaim', () => {
  it('requires access modes and a storage request', () => {
    expect(msgs(pvcKind.validate!(pvc({}), {}))).toEqual([
      'spec.accessModes: Required value: at least 1 access mode is required', 'spec.resources[storage]: Required value',
    ]);
    expect(msgs(pvcKind.validate!(pvc({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '0' } } }), {}))).toEqual([
      'spec.resources[storage]: Invalid value: "0": must be greater than zero',
    ]);
  });

  it('lets the binder set volumeName once and a bound claim grow, and nothing else', () => {
    const spec = { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: 'x' };
    const old = pvc(spec, { phase: 'Pending' });
    expect(pvcKind.validate!(pvc({ ...spec, volumeName: 'pv-1' }), { old })).toEqual([]);
    expect(pvcKind.validate!(pvc(spec, { phase: 'Pending' }), { old })).toEqual([]);
    const bound = pvc({ ...spec, volumeName: 'pv-1' }, { phase: 'Bound' });
    expect(pvcKind.validate!(pvc({ ...spec, volumeName: 'pv-1', resources: { requests: { storage: '2Gi' } } }, { phase: 'Bound' }), { old: bound })).toEqual([]);
    expect(msgs(pvcKind.validate!(pvc({ ...spec, volumeName: 'pv-1', storageClassName: 'y' }, { phase: 'Bound' }), { old: bound }))).toEqual([
      'spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n  storageClassName: "x" -> "y"',
    ]);
    expect(msgs(pvcKind.validate!(pvc({ ...spec, resources: { requests: { storage: '2Gi' } } }), { old }))[0]).toMatch(/^spec: Forbidden: spec is immutable/);
  });

  it('prints capacity and modes of the bound volume only', () => {
    const c = pvc({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: 'local-path', volumeMode: 'Filesystem' }, { phase: 'Pending' });
    expect(pvcKind.printer!.cells(c, since)).toEqual(['c', 'Pending', '', '', '', 'local-path', '<unset>', '5m', 'Filesystem']);
    c.spec.volumeName = 'pvc-1';
    c.status = { phase: 'Bound', capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'] };
    expect(pvcKind.printer!.cells(c, since)).toEqual(['c', 'Bound', 'pvc-1', '1Gi', 'RWO', 'local-path', '<unset>', '5m', 'Filesystem']);
  });
});

describe('StorageClass', () => {
  const sc = (o: Record<string, unknown>): KubeObject => ({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'local-path', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, ...o });

  it('defaults Delete and Immediate, requires a provisioner, and refuses changes to what provisioning depends on', () => {
    const c = sc({ provisioner: 'rancher.io/local-path' });
    scKind.defaults!(c);
    expect(c).toMatchObject({ reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate' });
    expect(msgs(scKind.validate!(sc({ volumeBindingMode: 'Immediate' }), {}))).toEqual(['provisioner: Required value']);
    const changed = sc({ provisioner: 'other.io/x', parameters: { a: 'b' }, reclaimPolicy: 'Retain', volumeBindingMode: 'WaitForFirstConsumer' });
    expect(msgs(scKind.validate!(changed, { old: c }))).toEqual([
      'parameters: Forbidden: updates to parameters are forbidden.', 'provisioner: Forbidden: updates to provisioner are forbidden.',
      'reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.', 'volumeBindingMode: Invalid value: "WaitForFirstConsumer": field is immutable',
    ]);
  });

  it('prints "(default)" after the default class\'s name', () => {
    expect(scKind.printer!.cells(sc({ provisioner: 'rancher.io/local-path', reclaimPolicy: 'Delete', volumeBindingMode: 'WaitForFirstConsumer' }), since))
      .toEqual(['local-path (default)', 'rancher.io/local-path', 'Delete', 'WaitForFirstConsumer', false, '5m']);
  });
});

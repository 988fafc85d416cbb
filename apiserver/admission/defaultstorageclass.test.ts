import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import type { AdmissionAttributes } from '../auth/types.js';
import { DefaultStorageClass, StorageObjectInUseProtection, defaultStorageClass } from './defaultstorageclass.js';

const sc = (name: string, created: string, isDefault: boolean): KubeObject => ({
  apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', provisioner: 'x.io/p',
  metadata: { name, creationTimestamp: created, annotations: isDefault ? { 'storageclass.kubernetes.io/is-default-class': 'true' } : {} },
});
const attrs = (resource: typeof R.pods, object: KubeObject, operation: AdmissionAttributes['operation'] = 'CREATE'): AdmissionAttributes => ({
  user: { username: 'u', groups: [] }, operation, resource, subresource: '', namespace: 'default', name: object.metadata.name!, object, dryRun: false, warnings: [],
});
const claim = (spec: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c', namespace: 'default' }, spec: { accessModes: ['ReadWriteOnce'], ...spec } });

describe('DefaultStorageClass', () => {
  const classes = [sc('old', '2024-01-01T00:00:00Z', true), sc('new', '2025-01-01T00:00:00Z', true), sc('plain', '2026-01-01T00:00:00Z', false)];
  const plugin = new DefaultStorageClass(async () => classes);

  it('picks the newest default class', () => {
    expect(defaultStorageClass(classes)?.metadata.name).toBe('new');
    expect(defaultStorageClass([classes[2]])).toBeUndefined();
  });

  it('gives a new claim without a class the default, and leaves an explicit class (even "") and updates alone', async () => {
    const none = claim();
    await plugin.admit(attrs(R.persistentvolumeclaims, none));
    expect(none.spec.storageClassName).toBe('new');
    const empty = claim({ storageClassName: '' });
    await plugin.admit(attrs(R.persistentvolumeclaims, empty));
    expect(empty.spec.storageClassName).toBe('');
    const updated = claim();
    await plugin.admit(attrs(R.persistentvolumeclaims, updated, 'UPDATE'));
    expect(updated.spec.storageClassName).toBeUndefined();
  });
});

describe('StorageObjectInUseProtection', () => {
  it('adds the protection finalizer to new claims and volumes, once', () => {
    const plugin = new StorageObjectInUseProtection();
    const c = claim();
    c.metadata.finalizers = ['example.com/keep'];
    plugin.admit(attrs(R.persistentvolumeclaims, c));
    plugin.admit(attrs(R.persistentvolumeclaims, c));
    expect(c.metadata.finalizers).toEqual(['example.com/keep', 'kubernetes.io/pvc-protection']);
    const pv: KubeObject = { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'v' }, spec: {} };
    plugin.admit(attrs(R.persistentvolumes, pv));
    expect(pv.metadata.finalizers).toEqual(['kubernetes.io/pv-protection']);
    const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } };
    plugin.admit(attrs(R.configmaps, cm));
    expect(cm.metadata.finalizers).toBeUndefined();
  });
});

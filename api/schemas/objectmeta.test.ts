// ObjectMeta and ConfigMap limits kube enforces on every write (apimachinery's
// ValidateObjectMetaAccessor and ValidateConfigMap), checked through validateObject.
import { describe, expect, it } from 'vitest';
import { R } from '../resources.js';
import type { KubeObject } from '../types.js';
import { pruneUnknownFields, validateObject } from '../validation.js';

const cm = (extra: Partial<KubeObject> = {}, meta: Record<string, unknown> = {}): KubeObject =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'default', ...meta }, ...extra }) as KubeObject;
const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u-1' };

describe('object metadata limits', () => {
  it('annotations: 256 KiB of keys and values in total, the value never echoed', () => {
    const k = 'a'.repeat(10);
    expect(validateObject(R.configmaps, cm({}, { annotations: { [k]: 'x'.repeat(256 * 1024 - 10) } }))).toEqual([]);
    const causes = validateObject(R.configmaps, cm({}, { annotations: { [k]: 'x'.repeat(256 * 1024 - 9) } }));
    expect(causes).toEqual([{ field: 'metadata.annotations', reason: 'FieldValueTooLong', message: 'Too long: may not be more than 262144 bytes' }]);
  });

  it('label and annotation keys and values follow ValidateLabels/ValidateAnnotations on every kind', () => {
    for (const r of [R.configmaps, R.deployments, R.services]) {
      const causes = validateObject(r, { apiVersion: 'v1', kind: r.kind, metadata: { name: 'x', namespace: 'default', labels: { 'bad key!': 'v', ok: 'bad value!' }, annotations: { '-bad': 'anything' } } } as KubeObject);
      expect(causes).toContainEqual(expect.objectContaining({ field: 'metadata.labels', message: expect.stringMatching(/^Invalid value: "bad key!": name part must consist of/) }));
      expect(causes).toContainEqual(expect.objectContaining({ field: 'metadata.labels', message: expect.stringMatching(/^Invalid value: "bad value!": a valid label must be/) }));
      expect(causes).toContainEqual(expect.objectContaining({ field: 'metadata.annotations', message: expect.stringMatching(/^Invalid value: "-bad": name part must consist of/) }));
    }
    // A pod template's metadata is ObjectMeta too (ValidatePodTemplateSpec).
    const d = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default' },
      spec: { selector: { matchLabels: { app: 'd' } }, template: { metadata: { labels: { app: 'd' }, annotations: { '-bad': 'x' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } } as KubeObject;
    expect(validateObject(R.deployments, d)).toContainEqual(expect.objectContaining({ field: 'spec.template.metadata.annotations' }));
  });

  it('finalizers are qualified names, and orphan excludes foregroundDeletion', () => {
    expect(validateObject(R.configmaps, cm({}, { finalizers: ['example.com/keep', 'orphan'] }))).toEqual([]);
    expect(validateObject(R.configmaps, cm({}, { finalizers: ['not a name'] }))).toContainEqual(expect.objectContaining({ field: 'metadata.finalizers', message: expect.stringMatching(/^Invalid value: "not a name": name part must consist of/) }));
    expect(validateObject(R.configmaps, cm({}, { finalizers: [null] }))).toContainEqual(expect.objectContaining({ field: 'metadata.finalizers', message: expect.stringMatching(/^Invalid value: "": name part must be non-empty/) }));
    expect(validateObject(R.configmaps, cm({}, { finalizers: ['orphan', 'foregroundDeletion'] }))).toContainEqual(expect.objectContaining({ field: 'metadata.finalizers', message: expect.stringContaining('cannot be both set') }));
  });

  it('ownerReferences need apiVersion, kind, name and uid, and at most one controller', () => {
    expect(validateObject(R.configmaps, cm({}, { ownerReferences: [owner] }))).toEqual([]);
    const causes = validateObject(R.configmaps, cm({}, { ownerReferences: [{ apiVersion: 'apps/', kind: '', name: '', uid: '' }] }));
    expect(causes.map((c) => `${c.field}: ${c.message}`)).toEqual(expect.arrayContaining([
      'metadata.ownerReferences.apiVersion: Invalid value: "apps/": version must not be empty',
      'metadata.ownerReferences.kind: Invalid value: "": must not be empty',
      'metadata.ownerReferences.name: Invalid value: "": must not be empty',
      'metadata.ownerReferences.uid: Invalid value: "": must not be empty',
    ]));
    const two = validateObject(R.configmaps, cm({}, { ownerReferences: [{ ...owner, controller: true }, { ...owner, uid: 'u-2', name: 'rs2', controller: true }] }));
    expect(two).toContainEqual(expect.objectContaining({ field: 'metadata.ownerReferences', message: expect.stringContaining('Only one reference can have Controller set to true. Found "true" in references for ReplicaSet/rs and ReplicaSet/rs2') }));
  });

  it('a ConfigMap holds at most 1 MiB of data and binaryData together, binaryData base64', () => {
    const half = 'x'.repeat(512 * 1024);
    expect(validateObject(R.configmaps, cm({ data: { a: half }, binaryData: { b: Buffer.from(half).toString('base64') } }))).toEqual([]);
    const over = validateObject(R.configmaps, cm({ data: { a: half, c: 'x' }, binaryData: { b: Buffer.from(half).toString('base64') } }));
    expect(over).toEqual([{ field: '', reason: 'FieldValueTooLong', message: 'Too long: may not be more than 1048576 bytes' }]);
    expect(validateObject(R.configmaps, cm({ binaryData: { b: 'not base64!' } }))).toEqual([{ field: 'binaryData[b]', reason: 'FieldValueInvalid', message: 'Invalid value: "<value omitted>": illegal base64 data at input byte 3' }]);
  });

  it('a uid changed by an update is immutable', () => {
    const old = cm({}, { uid: 'u-1' });
    expect(validateObject(R.configmaps, cm({}, { uid: 'u-1' }), { old })).toEqual([]);
    expect(validateObject(R.configmaps, cm({}, { uid: 'u-2' }), { old })).toEqual([{ field: 'metadata.uid', reason: 'FieldValueInvalid', message: 'Invalid value: "u-2": field is immutable' }]);
  });

  it('"__proto__", "constructor" and "prototype" are unknown fields, pruned at the top and in metadata', () => {
    const obj = JSON.parse('{"apiVersion":"v1","kind":"ConfigMap","__proto__":{"x":1},"constructor":{"x":1},"prototype":1,"metadata":{"name":"cm","__proto__":{"uid":"u"},"constructor":1},"data":{"constructor":"kept"}}');
    expect(pruneUnknownFields(R.configmaps, obj).sort()).toEqual(['.__proto__', '.constructor', '.metadata.__proto__', '.metadata.constructor', '.prototype']);
    expect(JSON.parse(JSON.stringify(obj))).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { constructor: 'kept' } });
  });
});

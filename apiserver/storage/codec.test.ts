import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../api/types.js';
import { createdJSONOf, decode, encode, encodeCreate } from './codec.js';

const objects: KubeObject[] = [
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] }, status: { phase: 'Pending' } } as KubeObject,
  // spec before metadata, with a nested "metadata" that must not be where resourceVersion goes.
  { spec: { template: { metadata: { labels: { app: 'x' } } } }, kind: 'Deployment', apiVersion: 'apps/v1', metadata: { name: 'd' } } as KubeObject,
  { apiVersion: 'v1', kind: 'Namespace', metadata: {} } as KubeObject,
  { metadata: { name: 'bare', resourceVersion: '7' } } as KubeObject,
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'q"uote\u2028' }, data: { 'k"': 'v\n' } } as KubeObject,
];

describe('codec', () => {
  it('stores objects without resourceVersion, apiVersion, kind and metadata first', () => {
    for (const o of objects) {
      const text = encode(o);
      const parsed = JSON.parse(text);
      expect(parsed).toEqual({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
      expect(parsed.metadata.resourceVersion).toBeUndefined();
      expect(decode(text, 9)).toEqual({ ...o, metadata: { ...o.metadata, resourceVersion: '9' } });
    }
  });

  it('a created object carries JSON equal to itself, from the stored bytes with its resourceVersion', () => {
    for (const o of objects) {
      const enc = encodeCreate(o);
      expect(enc.value).toBe(encode(o));
      const created = enc.created(42);
      expect(created.metadata.resourceVersion).toBe('42');
      const json = createdJSONOf(created)!;
      expect(JSON.parse(json)).toEqual(created);
      expect(JSON.parse(json).metadata.resourceVersion).toBe('42');
      // Only that object: a copy is serialised as usual.
      expect(createdJSONOf({ ...created })).toBeUndefined();
    }
  });
});

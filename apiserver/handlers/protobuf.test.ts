import { describe, expect, it } from 'vitest';
import { decodeProtobufObject } from './protobuf.js';

// Minimal protobuf writer for building kube's envelope in tests.
const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n > 127) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); }
  out.push(n);
  return out;
};
const bytes = (field: number, b: Buffer | number[]): number[] => [...varint(field * 8 + 2), ...varint(b.length), ...b];
const str = (field: number, s: string) => bytes(field, Buffer.from(s));
const int = (field: number, n: number) => [...varint(field * 8), ...varint(n)];
const entry = (field: number, k: string, v: string) => bytes(field, [...str(1, k), ...str(2, v)]);

function envelope(apiVersion: string, kind: string, raw: number[]): Buffer {
  const unknown = [...bytes(1, [...str(1, apiVersion), ...str(2, kind)]), ...bytes(2, raw)];
  return Buffer.from([0x6b, 0x38, 0x73, 0x00, ...unknown]);
}

describe('decodeProtobufObject', () => {
  it('decodes a ConfigMap with metadata, labels and data', () => {
    const meta = [...str(1, 'cm'), ...str(3, ''), ...entry(11, 'app', 'web')];
    const body = envelope('v1', 'ConfigMap', [...bytes(1, meta), ...entry(2, 'color', 'blue')]);
    expect(decodeProtobufObject(body)).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', labels: { app: 'web' } }, data: { color: 'blue' } });
  });

  it('decodes Service ports with int and string target ports', () => {
    const port = (p: number, target: number[]) => bytes(1, [...str(2, 'TCP'), ...int(3, p), ...bytes(4, target)]);
    const spec = [...port(80, [...int(1, 0), ...int(2, 8080)]), ...port(443, [...int(1, 1), ...str(3, 'https')]), ...str(4, 'NodePort')];
    const o = decodeProtobufObject(envelope('v1', 'Service', [...bytes(1, str(1, 's')), ...bytes(2, spec)]));
    expect(o.spec).toEqual({ type: 'NodePort', ports: [{ protocol: 'TCP', port: 80, targetPort: 8080 }, { protocol: 'TCP', port: 443, targetPort: 'https' }] });
  });

  it('keeps replicas 0 on a Deployment (a pointer field)', () => {
    const o = decodeProtobufObject(envelope('apps/v1', 'Deployment', [...bytes(1, str(1, 'd')), ...bytes(2, int(1, 0))]));
    expect(o.spec).toEqual({ replicas: 0 });
  });

  it('refuses bodies without the magic prefix and kinds it cannot decode', () => {
    expect(() => decodeProtobufObject(Buffer.from('{}'))).toThrow(/does not appear to be a protobuf message/);
    expect(() => decodeProtobufObject(envelope('v1', 'Secret', []))).toThrow(/send JSON/);
  });
});

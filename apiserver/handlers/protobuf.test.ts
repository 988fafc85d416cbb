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
    expect(() => decodeProtobufObject(envelope('v1', 'Pod', []))).toThrow(/send JSON/);
  });

  it('decodes a Secret: data bytes come back base64, stringData as strings, immutable false is kept', () => {
    const bin = (field: number, k: string, v: Buffer) => bytes(field, [...str(1, k), ...bytes(2, v)]);
    const body = envelope('v1', 'Secret', [...bytes(1, str(1, 's')), ...bin(2, 'key', Buffer.from([0, 255, 1])), ...str(3, 'Opaque'), ...entry(4, 'plain', 'text'), ...int(5, 0)]);
    expect(decodeProtobufObject(body)).toEqual({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { key: 'AP8B' }, type: 'Opaque', stringData: { plain: 'text' }, immutable: false });
  });

  it('decodes the TokenRequest of kubectl create token', () => {
    const bound = [...str(1, 'Pod'), ...str(2, 'v1'), ...str(3, 'web'), ...str(4, 'uid-1')];
    const spec = [...str(1, 'api'), ...str(1, 'vault'), ...bytes(3, bound), ...int(4, 600)];
    const o = decodeProtobufObject(envelope('authentication.k8s.io/v1', 'TokenRequest', [...bytes(1, []), ...bytes(2, spec)]));
    expect(o).toEqual({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: {}, spec: { audiences: ['api', 'vault'], boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'web', uid: 'uid-1' }, expirationSeconds: 600 } });
  });
});

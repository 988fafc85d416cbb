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
    expect(() => decodeProtobufObject(envelope('v1', 'Endpoints', []))).toThrow(/send JSON/);
  });

  it('decodes a Secret: data bytes come back base64, stringData as strings, immutable false is kept', () => {
    const bin = (field: number, k: string, v: Buffer) => bytes(field, [...str(1, k), ...bytes(2, v)]);
    const body = envelope('v1', 'Secret', [...bytes(1, str(1, 's')), ...bin(2, 'key', Buffer.from([0, 255, 1])), ...str(3, 'Opaque'), ...entry(4, 'plain', 'text'), ...int(5, 0)]);
    expect(decodeProtobufObject(body)).toEqual({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { key: 'AP8B' }, type: 'Opaque', stringData: { plain: 'text' }, immutable: false });
  });

  it('decodes the Pod kubectl debug node/<name> creates: embedded volume sources, host namespaces, pointers and quantities', () => {
    const mount = [...str(1, 'host-root'), ...int(2, 0), ...str(3, '/host')];
    const container = [...str(1, 'debugger'), ...str(2, 'busybox'), ...bytes(8, bytes(1, [...str(1, 'cpu'), ...bytes(2, str(1, '100m'))])),
      ...bytes(9, mount), ...str(13, '/dev/termination-log'), ...str(14, 'IfNotPresent'), ...int(16, 1), ...int(17, 0), ...int(18, 1), ...str(20, 'File')];
    const volume = [...str(1, 'host-root'), ...bytes(2, bytes(1, [...str(1, '/'), ...str(2, '')]))];
    const cmVolume = [...str(1, 'cfg'), ...bytes(2, bytes(19, [...bytes(1, str(1, 'my-cm')), ...int(3, 420)]))];
    const spec = [...bytes(1, volume), ...bytes(1, cmVolume), ...bytes(2, container), ...str(3, 'Never'), ...int(4, 0), ...str(10, 'node-1'), ...int(11, 1), ...int(12, 1), ...int(13, 1),
      ...bytes(22, str(2, 'Exists')), ...int(30, 0)];
    const o = decodeProtobufObject(envelope('v1', 'Pod', [...bytes(1, str(1, 'node-debugger-node-1-x')), ...bytes(2, spec)]));
    expect(o.spec).toEqual({
      volumes: [{ name: 'host-root', hostPath: { path: '/', type: '' } }, { name: 'cfg', configMap: { name: 'my-cm', defaultMode: 420 } }],
      containers: [{ name: 'debugger', image: 'busybox', resources: { limits: { cpu: '100m' } }, volumeMounts: [{ name: 'host-root', mountPath: '/host' }],
        terminationMessagePath: '/dev/termination-log', imagePullPolicy: 'IfNotPresent', stdin: true, tty: true, terminationMessagePolicy: 'File' }],
      restartPolicy: 'Never', terminationGracePeriodSeconds: 0, nodeName: 'node-1', hostNetwork: true, hostPID: true, hostIPC: true,
      tolerations: [{ operator: 'Exists' }], enableServiceLinks: false,
    });
  });

  it('decodes ephemeral containers (the embedded common part) and a packed repeated integer', () => {
    const ec = [...bytes(1, [...str(1, 'debugger-abc'), ...str(2, 'busybox'), ...int(18, 1)]), ...str(2, 'app')];
    const groups = bytes(4, [...varint(1000), ...varint(2000)]);
    const spec = [...bytes(2, str(1, 'app')), ...bytes(14, groups), ...bytes(34, ec)];
    const o = decodeProtobufObject(envelope('v1', 'Pod', [...bytes(1, str(1, 'p')), ...bytes(2, spec)]));
    expect(o.spec).toEqual({ containers: [{ name: 'app' }], securityContext: { supplementalGroups: [1000, 2000] }, ephemeralContainers: [{ name: 'debugger-abc', image: 'busybox', tty: true, targetContainerName: 'app' }] });
  });

  it('decodes the TokenRequest of kubectl create token', () => {
    const bound = [...str(1, 'Pod'), ...str(2, 'v1'), ...str(3, 'web'), ...str(4, 'uid-1')];
    const spec = [...str(1, 'api'), ...str(1, 'vault'), ...bytes(3, bound), ...int(4, 600)];
    const o = decodeProtobufObject(envelope('authentication.k8s.io/v1', 'TokenRequest', [...bytes(1, []), ...bytes(2, spec)]));
    expect(o).toEqual({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: {}, spec: { audiences: ['api', 'vault'], boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'web', uid: 'uid-1' }, expirationSeconds: 600 } });
  });
});

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/types.js';
import { slicesFor } from './endpointslices.js';
import { toTable } from './printers.js';
import { endpointSliceResource } from './endpointslices.js';

const ep = (subsets: unknown[]): KubeObject => ({
  apiVersion: 'v1', kind: 'Endpoints',
  metadata: { name: 'web', namespace: 'default', uid: '0b6c7c53-5d2f-4a7e-9d43-5bb7f1b1a001', resourceVersion: '42', creationTimestamp: '2026-01-01T00:00:00Z', labels: { app: 'web' } },
  subsets,
} as KubeObject);
const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', uid: 'svc-uid' }, spec: { selector: { app: 'web' } } } as KubeObject;

describe('EndpointSlices derived from Endpoints', () => {
  it('carries ready and not-ready addresses with their conditions, ports and the service label', () => {
    const [s, ...more] = slicesFor(ep([{
      addresses: [{ ip: '172.17.0.2', nodeName: 'n1', targetRef: { kind: 'Pod', name: 'web-a', namespace: 'default' } }],
      notReadyAddresses: [{ ip: '172.17.0.3', nodeName: 'n1' }],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    }]), svc);
    expect(more).toEqual([]);
    expect(s.metadata.name).toMatch(/^web-[a-z0-9]{5}$/);
    expect(s.metadata.labels).toEqual({ app: 'web', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
    expect(s.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'svc-uid', controller: true, blockOwnerDeletion: true }]);
    expect(s.addressType).toBe('IPv4');
    expect(s.endpoints).toEqual([
      { addresses: ['172.17.0.2'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'n1', targetRef: { kind: 'Pod', name: 'web-a', namespace: 'default' } },
      { addresses: ['172.17.0.3'], conditions: { ready: false, serving: false, terminating: false }, nodeName: 'n1' },
    ]);
    expect(s.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    // The same Endpoints always yields the same slice name and uid.
    expect(slicesFor(ep([{ addresses: [{ ip: '172.17.0.9' }] }]), svc)[0].metadata).toMatchObject({ name: s.metadata.name, uid: s.metadata.uid });
  });

  it('splits address families and keeps an empty slice for a service without endpoints', () => {
    const fam = slicesFor(ep([{ addresses: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }], ports: [{ port: 80 }] }]), undefined);
    expect(fam.map((x) => x.addressType)).toEqual(['IPv4', 'IPv6']);
    expect(fam[0].metadata.labels!['endpointslice.kubernetes.io/managed-by']).toBe('endpointslicemirroring-controller.k8s.io');
    const empty = slicesFor(ep([]), svc);
    expect(empty).toHaveLength(1);
    expect(empty[0]).toMatchObject({ addressType: 'IPv4', endpoints: null, ports: null });
  });

  it('prints kube-apiserver columns with at most three entries', () => {
    const [s] = slicesFor(ep([{ addresses: ['1', '2', '3', '4'].map((i) => ({ ip: `10.0.0.${i}` })), ports: [{ port: 80 }] }]), svc);
    const t = toTable(endpointSliceResource, [s, ...slicesFor(ep([]), svc)], {}, { now: new Date('2026-01-01T00:01:00Z') });
    expect(t.columnDefinitions.map((c) => c.name)).toEqual(['Name', 'AddressType', 'Ports', 'Endpoints', 'Age']);
    expect(t.rows[0].cells.slice(1)).toEqual(['IPv4', '80', '10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...', '60s']);
    expect(t.rows[1].cells.slice(1)).toEqual(['IPv4', '<unset>', '<unset>', '60s']);
  });
});

import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { Endpoints, EndpointSlice, Service } from '../../api/types.js';
import { FakeInformerFactory, FakeRecorder, RecordingClient } from '../testing/fake.js';
import { EndpointSliceMirroringController } from './mirroring.js';

const service = (selector?: Record<string, string>): Service => ({
  apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext', namespace: 'default', uid: 'uid-svc' },
  spec: { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80 }], ...(selector ? { selector } : {}) },
});

const endpoints = (subsets: Endpoints['subsets'], labels: Record<string, string> = { team: 'x' }, annotations?: Record<string, string>): Endpoints => ({
  apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'ext', namespace: 'default', uid: 'uid-ep', labels, ...(annotations ? { annotations } : {}) }, subsets,
});

function setup(svc: Service | undefined, ep: Endpoints | undefined, max?: number) {
  const informers = new FakeInformerFactory();
  const client = new RecordingClient();
  const recorder = new FakeRecorder();
  const c = new EndpointSliceMirroringController({ client, informers, recorder, maxEndpointsPerSubset: max });
  if (svc) informers.informerFor<Service>(R.services).set(svc);
  if (ep) informers.informerFor<Endpoints>(R.endpoints).set(ep);
  const slices = informers.informerFor<EndpointSlice>(R.endpointslices);
  const settle = () => {
    slices.items.clear();
    for (const [k, o] of client.store) if (k.startsWith('endpointslices/')) slices.set(structuredClone(o) as EndpointSlice);
  };
  const stored = () => [...client.store].filter(([k]) => k.startsWith('endpointslices/')).map(([, o]) => o as EndpointSlice);
  const writes = () => client.actions.filter((a) => a.verb !== 'get' && a.verb !== 'list');
  return { c, client, recorder, informers, settle, stored, writes, eps: informers.informerFor<Endpoints>(R.endpoints), svcs: informers.informerFor<Service>(R.services) };
}

describe('EndpointSlice mirroring controller', () => {
  it('mirrors a selector-less Service\'s Endpoints into a slice per family and port set, owned by the Endpoints', async () => {
    const ep = endpoints([
      { addresses: [{ ip: '10.1.0.1', nodeName: 'n1' }, { ip: 'fd00::1' }], notReadyAddresses: [{ ip: '10.1.0.2', hostname: 'b' }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
      { addresses: [{ ip: '10.1.0.3' }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
    ], { team: 'x' }, { note: 'kept', 'kubectl.kubernetes.io/last-applied-configuration': '{}' });
    const h = setup(service(), ep);
    await h.c.sync('default/ext');
    const byType = Object.fromEntries(h.stored().map((s) => [s.addressType, s]));
    expect(Object.keys(byType).sort()).toEqual(['IPv4', 'IPv6']);
    expect(byType.IPv4.metadata).toMatchObject({
      generateName: 'ext-',
      labels: { team: 'x', 'kubernetes.io/service-name': 'ext', 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' },
      annotations: { note: 'kept' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Endpoints', name: 'ext', uid: 'uid-ep', controller: true, blockOwnerDeletion: true }],
    });
    expect(byType.IPv4.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(byType.IPv4.endpoints).toEqual([
      { addresses: ['10.1.0.1'], conditions: { ready: true }, nodeName: 'n1' },
      { addresses: ['10.1.0.2'], conditions: { ready: false }, hostname: 'b' },
      { addresses: ['10.1.0.3'], conditions: { ready: true } },
    ]);
    expect(byType.IPv6.endpoints).toEqual([{ addresses: ['fd00::1'], conditions: { ready: true } }]);

    h.settle();
    const before = h.writes().length;
    await h.c.sync('default/ext');
    expect(h.writes().length).toBe(before);
  });

  it('updates the mirrored slice in place, reports skipped addresses, and removes slices once a selector appears', async () => {
    const h = setup(service(), endpoints([{ addresses: [{ ip: '10.1.0.1' }], ports: [{ port: 80, protocol: 'TCP' }] }]));
    await h.c.sync('default/ext');
    h.settle();
    const [name] = h.stored().map((s) => s.metadata.name);
    h.eps.set(endpoints([{ addresses: [{ ip: '10.1.0.1' }, { ip: 'not-an-ip' }, { ip: '10.1.0.2' }, { ip: '10.1.0.3' }], ports: [{ port: 80, protocol: 'TCP' }] }]));
    const small = new EndpointSliceMirroringController({ client: h.client, informers: h.informers, recorder: h.recorder, maxEndpointsPerSubset: 2 });
    // A fresh controller has no memory of the earlier write, as after a restart.
    await small.sync('default/ext');
    expect(h.client.of('update', 'endpointslices').map((a) => a.name)).toEqual([name]);
    expect(h.stored()[0].endpoints!.map((e) => e.addresses[0])).toEqual(['10.1.0.1', '10.1.0.2']);
    expect(h.recorder.events).toEqual([
      'Warning InvalidIPAddress Skipped 1 invalid IP addresses when mirroring to EndpointSlices',
      'Warning TooManyAddressesToMirror A max of 2 addresses can be mirrored to EndpointSlices per Endpoints subset. 1 addresses were skipped',
    ]);
    h.settle();
    h.svcs.set(service({ app: 'ext' }));
    await small.sync('default/ext');
    expect(h.client.of('delete', 'endpointslices').map((a) => a.name)).toEqual([name]);
    expect(h.stored()).toEqual([]);
  });

  it('does not mirror skip-mirror Endpoints, Endpoints without a Service, or Services with a selector', async () => {
    const sub = [{ addresses: [{ ip: '10.1.0.1' }], ports: [{ port: 80, protocol: 'TCP' as const }] }];
    for (const [svc, ep] of [
      [service(), endpoints(sub, { 'endpointslice.kubernetes.io/skip-mirror': 'true' })],
      [undefined, endpoints(sub)],
      [service({ app: 'x' }), endpoints(sub)],
    ] as const) {
      const h = setup(svc, ep);
      await h.c.sync('default/ext');
      expect(h.writes()).toEqual([]);
    }
  });
});

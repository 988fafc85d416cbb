import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { EndpointSlice, Node, Pod, Service } from '../../api/types.js';
import { FakeInformerFactory, RecordingClient } from '../testing/fake.js';
import { pod } from '../testing/objects.js';
import { EndpointSliceController } from './endpointslice.js';

function service(ports: Service['spec']['ports'], extra: Partial<Service['spec']> = {}, labels: Record<string, string> = { tier: 'front' }): Service {
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'web', namespace: 'default', uid: 'uid-svc', labels },
    spec: { selector: { app: 'web' }, clusterIP: '10.96.0.10', ipFamilies: ['IPv4'], ports, ...extra },
  };
}

const node = (name: string, zone?: string): Node => ({
  apiVersion: 'v1', kind: 'Node', metadata: { name, ...(zone ? { labels: { 'topology.kubernetes.io/zone': zone } } : {}) }, spec: {},
});

function setup(svc: Service | undefined, pods: Pod[], o: { max?: number } = {}) {
  const informers = new FakeInformerFactory();
  const client = new RecordingClient();
  const c = new EndpointSliceController({ client, informers, maxEndpointsPerSlice: o.max });
  if (svc) informers.informerFor<Service>(R.services).set(svc);
  informers.informerFor<Pod>(R.pods).set(...pods);
  informers.informerFor<Node>(R.nodes).set(node('n1', 'zone-a'), node('n2'));
  const slices = informers.informerFor<EndpointSlice>(R.endpointslices);
  /** The watch catching up: the informer now holds what the fake API server stores. */
  const settle = () => {
    slices.items.clear();
    for (const [k, o] of client.store) if (k.startsWith('endpointslices/')) slices.set(structuredClone(o) as EndpointSlice);
  };
  const stored = () => [...client.store].filter(([k]) => k.startsWith('endpointslices/')).map(([, o]) => o as EndpointSlice)
    .sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
  const writes = () => client.actions.filter((a) => a.verb !== 'get' && a.verb !== 'list');
  return { c, client, informers, pods: informers.informerFor<Pod>(R.pods), services: informers.informerFor<Service>(R.services), slices, settle, stored, writes };
}

const namedPort = (p: Pod, name: string, containerPort: number) => {
  p.spec.containers[0].ports = [{ name, containerPort, protocol: 'TCP' }];
  return p;
};
const ips = (s: EndpointSlice) => (s.endpoints ?? []).map((e) => e.addresses[0]).sort();

describe('EndpointSlice controller', () => {
  it('writes one slice per Service with conditions from readiness and deletion, owner, labels and ports', async () => {
    const terminating = pod('gone', { app: 'web' }, undefined, { ip: '10.0.0.9', node: 'n2' });
    terminating.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    const pods = [
      pod('a', { app: 'web' }, undefined, { ip: '10.0.0.2', node: 'n1' }),
      pod('b', { app: 'web' }, undefined, { ip: '10.0.0.10', node: 'n2', ready: false }),
      pod('c', { app: 'web' }, undefined, { phase: 'Pending', ready: false }),
      pod('done', { app: 'web' }, undefined, { ip: '10.0.0.7', node: 'n1', phase: 'Succeeded' }),
      pod('other', { app: 'db' }, undefined, { ip: '10.0.0.3', node: 'n1' }),
      terminating,
    ];
    const h = setup(service([{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }]), pods);
    await h.c.sync('default/web');
    const [create, ...more] = h.client.of('create', 'endpointslices');
    expect(more).toEqual([]);
    const s = create.object as EndpointSlice;
    expect(s.metadata).toMatchObject({
      generateName: 'web-', namespace: 'default',
      labels: { tier: 'front', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'uid-svc', controller: true, blockOwnerDeletion: true }],
    });
    expect(s.addressType).toBe('IPv4');
    expect(s.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    const byName = Object.fromEntries((s.endpoints ?? []).map((e) => [e.targetRef!.name, e]));
    expect(Object.keys(byName).sort()).toEqual(['a', 'b', 'gone']);
    expect(byName.a).toEqual({ addresses: ['10.0.0.2'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'n1', zone: 'zone-a',
      targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: 'uid-a' } });
    expect(byName.b.conditions).toEqual({ ready: false, serving: false, terminating: false });
    expect(byName.gone.conditions).toEqual({ ready: false, serving: true, terminating: true });
  });

  it('groups pods by the ports their named targetPort resolves to, one slice set per port mapping', async () => {
    const pods = [
      namedPort(pod('a', { app: 'web' }, undefined, { ip: '10.0.0.1', node: 'n1' }), 'http', 8080),
      namedPort(pod('b', { app: 'web' }, undefined, { ip: '10.0.0.2', node: 'n1' }), 'http', 9090),
      namedPort(pod('c', { app: 'web' }, undefined, { ip: '10.0.0.3', node: 'n1' }), 'http', 8080),
      namedPort(pod('d', { app: 'web' }, undefined, { ip: '10.0.0.4', node: 'n1' }), 'metrics', 7000),
    ];
    const h = setup(service([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]), pods);
    await h.c.sync('default/web');
    const got = h.stored().map((s) => [JSON.stringify(s.ports), ips(s)]).sort();
    // A pod that resolves none of the Service's ports still gets an endpoint, in a slice with no ports, as kube's reconciler does.
    expect(got).toEqual([
      ['[]', ['10.0.0.4']],
      ['[{"name":"http","port":8080,"protocol":"TCP"}]', ['10.0.0.1', '10.0.0.3']],
      ['[{"name":"http","port":9090,"protocol":"TCP"}]', ['10.0.0.2']],
    ]);
  });

  it('packs at most --max-endpoints-per-slice endpoints per slice and leaves a settled Service alone', async () => {
    const pods = ['a', 'b', 'c', 'd', 'e'].map((n, i) => pod(n, { app: 'web' }, undefined, { ip: `10.0.0.${i + 1}`, node: 'n1' }));
    const h = setup(service([{ port: 80, targetPort: 80, protocol: 'TCP' }]), pods, { max: 2 });
    await h.c.sync('default/web');
    expect(h.stored().map((s) => s.endpoints!.length).sort()).toEqual([1, 2, 2]);
    expect(h.stored().flatMap(ips).sort()).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5']);
    h.settle();
    const before = h.writes().length;
    await h.c.sync('default/web');
    expect(h.writes().length).toBe(before);
  });

  it('updates slices in place as pods change, and keeps a placeholder when none are left', async () => {
    const a = pod('a', { app: 'web' }, undefined, { ip: '10.0.0.1', node: 'n1' });
    const b = pod('b', { app: 'web' }, undefined, { ip: '10.0.0.2', node: 'n1' });
    const h = setup(service([{ port: 80, targetPort: 80, protocol: 'TCP' }]), [a, b]);
    await h.c.sync('default/web');
    h.settle();
    const [name] = h.stored().map((s) => s.metadata.name);

    h.pods.set(pod('b', { app: 'web' }, undefined, { ip: '10.0.0.2', node: 'n1', ready: false }));
    await h.c.sync('default/web');
    expect(h.client.of('update', 'endpointslices').map((x) => x.name)).toEqual([name]);
    const updated = h.stored()[0];
    expect(updated.endpoints!.find((e) => e.targetRef!.name === 'b')!.conditions).toEqual({ ready: false, serving: false, terminating: false });
    h.settle();

    h.pods.items.clear();
    await h.c.sync('default/web');
    // The last slice turns into the placeholder instead of a delete and a create.
    expect(h.client.of('delete', 'endpointslices')).toEqual([]);
    expect(h.client.of('create', 'endpointslices')).toHaveLength(1);
    expect(h.stored()).toHaveLength(1);
    expect(h.stored()[0]).toMatchObject({ metadata: { name }, addressType: 'IPv4', endpoints: null });
    expect(h.stored()[0].ports).toBeUndefined();
    h.settle();
    const before = h.writes().length;
    await h.c.sync('default/web');
    expect(h.writes().length).toBe(before);
  });

  it('deletes slices whose port mapping is gone and follows the Service labels, headless included', async () => {
    const pods = [namedPort(pod('a', { app: 'web' }, undefined, { ip: '10.0.0.1', node: 'n1' }), 'http', 8080)];
    const h = setup(service([{ port: 80, targetPort: 'http', protocol: 'TCP' }]), pods);
    await h.c.sync('default/web');
    h.settle();
    const first = h.stored()[0].metadata.name;
    h.pods.set(namedPort(pod('a', { app: 'web' }, undefined, { ip: '10.0.0.1', node: 'n1' }), 'http', 9090));
    await h.c.sync('default/web');
    h.settle();
    expect(h.stored().map((s) => [s.metadata.name, s.ports![0].port])).toEqual([[first, 9090]]);

    h.services.set(service([{ port: 80, targetPort: 'http', protocol: 'TCP' }], { clusterIP: 'None' }, { tier: 'back' }));
    await h.c.sync('default/web');
    expect(h.stored()[0].metadata.labels).toEqual({ tier: 'back', 'service.kubernetes.io/headless': '', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
  });

  it('refuses to act on a cache that does not show its own writes yet, and ignores their echoes', async () => {
    const h = setup(service([{ port: 80, targetPort: 80, protocol: 'TCP' }]), [pod('a', { app: 'web' }, undefined, { ip: '10.0.0.1', node: 'n1' })]);
    await h.c.sync('default/web');
    const creates = h.client.of('create', 'endpointslices').length;
    // The informer has not seen the created slice: a second sync must not create another.
    await expect(h.c.sync('default/web')).rejects.toThrow(/out of date/);
    expect(h.client.of('create', 'endpointslices').length).toBe(creates);
    h.settle();
    const echo = h.stored()[0];
    h.slices.emitAdd(echo);
    expect(h.c.queue.len()).toBe(0);
    // Someone else's change to a managed slice (a higher generation) wakes the Service.
    h.slices.emitUpdate({ ...structuredClone(echo), metadata: { ...structuredClone(echo.metadata), generation: 5 } });
    expect(h.c.queue.len()).toBe(1);
  });

  it('leaves selector-less, ExternalName and deleted Services to others', async () => {
    for (const svc of [service([{ port: 80 }], { selector: undefined }), service([{ port: 80 }], { type: 'ExternalName', externalName: 'db.example.com' }), undefined]) {
      const h = setup(svc, [pod('a', { app: 'web' }, undefined, { ip: '10.0.0.1', node: 'n1' })]);
      await h.c.sync('default/web');
      expect(h.writes()).toEqual([]);
    }
  });

  it('leaves out a pod whose node is unknown, writes the rest and retries', async () => {
    const pods = [pod('a', { app: 'web' }, undefined, { ip: '10.0.0.1', node: 'n1' }), pod('b', { app: 'web' }, undefined, { ip: '10.0.0.2', node: 'ghost' })];
    const h = setup(service([{ port: 80, targetPort: 80, protocol: 'TCP' }]), pods);
    await expect(h.c.sync('default/web')).rejects.toThrow(/skipped pods b/);
    expect(h.stored().flatMap(ips)).toEqual(['10.0.0.1']);
  });

  it('stamps written slices with the earliest change since the last sync', async () => {
    const svc = service([{ port: 80, targetPort: 80, protocol: 'TCP' }]);
    svc.metadata.creationTimestamp = '2026-01-01T00:05:00Z';
    const a = pod('a', { app: 'web' }, undefined, { ip: '10.0.0.1', node: 'n1', readySince: '2026-01-01T00:03:00Z' });
    const h = setup(svc, [a]);
    await h.c.sync('default/web');
    const stamp = () => h.stored()[0].metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'];
    // First sight of the Service: the earlier of its creation and its pods' last readiness change.
    expect(stamp()).toBe('2026-01-01T00:03:00Z');
    h.settle();
    h.pods.set(pod('a', { app: 'web' }, undefined, { ip: '10.0.0.1', node: 'n1', ready: false, readySince: '2026-01-01T00:07:30Z' }));
    await h.c.sync('default/web');
    expect(stamp()).toBe('2026-01-01T00:07:30Z');
    h.settle();
    // A write caused by nothing the tracker follows (the Service's labels) drops the stamp.
    h.services.set({ ...svc, metadata: { ...svc.metadata, labels: { tier: 'back' } } });
    await h.c.sync('default/web');
    expect(h.stored()[0].metadata.labels!.tier).toBe('back');
    expect(h.stored()[0].metadata.annotations).toBeUndefined();
  });

  it('wakes the Services that select a changed pod', () => {
    const h = setup(service([{ port: 80 }]), []);
    h.pods.emitAdd(pod('x', { app: 'db' }));
    expect(h.c.queue.len()).toBe(0);
    h.pods.emitAdd(pod('a', { app: 'web' }));
    expect(h.c.queue.len()).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { Endpoints, Pod, Service } from '../../api/types.js';
import { FakeInformerFactory, RecordingClient } from '../testing/fake.js';
import { pod } from '../testing/objects.js';
import { EndpointsController } from './endpoints.js';

function service(ports: Service['spec']['ports'], extra: Partial<Service['spec']> = {}): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', labels: { tier: 'front' } }, spec: { selector: { app: 'web' }, ports, ...extra } };
}

function setup(svc: Service | undefined, pods: Pod[], existing?: Endpoints) {
  const informers = new FakeInformerFactory();
  const client = new RecordingClient();
  const c = new EndpointsController({ client, informers });
  if (svc) informers.informerFor<Service>(R.services).set(svc);
  informers.informerFor<Pod>(R.pods).set(...pods);
  if (existing) {
    informers.informerFor<Endpoints>(R.endpoints).set(existing);
    client.seed('endpoints', existing);
  }
  return { c, client, pods: informers.informerFor<Pod>(R.pods) };
}

const namedPort = (p: Pod, name: string, containerPort: number) => {
  p.spec.containers[0].ports = [{ name, containerPort }];
  return p;
};

describe('Endpoints controller', () => {
  it('lists ready pods in addresses and not-ready ones in notReadyAddresses, skipping terminating and IP-less pods', async () => {
    const terminating = pod('gone', { app: 'web' }, undefined, { ip: '10.0.0.9' });
    terminating.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    const pods = [
      pod('a', { app: 'web' }, undefined, { ip: '10.0.0.2', node: 'n1' }),
      pod('b', { app: 'web' }, undefined, { ip: '10.0.0.10', node: 'n2', ready: false }),
      pod('c', { app: 'web' }, undefined, { phase: 'Pending', ready: false }),
      pod('other', { app: 'db' }, undefined, { ip: '10.0.0.3' }),
      terminating,
    ];
    const { c, client } = setup(service([{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }]), pods);
    await c.sync('default/web');
    const [create] = client.of('create', 'endpoints');
    expect(create.object).toMatchObject({ metadata: { name: 'web', labels: { tier: 'front' } } });
    expect(create.object!.subsets).toEqual([
      {
        addresses: [{ ip: '10.0.0.2', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: 'uid-a' } }],
        notReadyAddresses: [{ ip: '10.0.0.10', nodeName: 'n2', targetRef: { kind: 'Pod', namespace: 'default', name: 'b', uid: 'uid-b' } }],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    ]);
  });

  it('resolves a named targetPort per pod and groups pods into subsets by port', async () => {
    const pods = [
      namedPort(pod('a', { app: 'web' }, undefined, { ip: '10.0.0.1' }), 'http', 8080),
      namedPort(pod('b', { app: 'web' }, undefined, { ip: '10.0.0.2' }), 'http', 9090),
      namedPort(pod('c', { app: 'web' }, undefined, { ip: '10.0.0.3' }), 'metrics', 7000),
    ];
    const { c, client } = setup(service([{ port: 80, targetPort: 'http' }]), pods);
    await c.sync('default/web');
    const subsets = client.of('create', 'endpoints')[0].object!.subsets;
    expect(subsets.map((s: any) => [s.addresses.map((a: any) => a.ip), s.ports[0].port])).toEqual([
      [['10.0.0.1'], 8080],
      [['10.0.0.2'], 9090],
    ]);
  });

  it('publishes not-ready pods as addresses when publishNotReadyAddresses is set', async () => {
    const { c, client } = setup(service([{ port: 80 }], { publishNotReadyAddresses: true }), [pod('a', { app: 'web' }, undefined, { ip: '10.0.0.1', ready: false })]);
    await c.sync('default/web');
    expect(client.of('create', 'endpoints')[0].object!.subsets[0].addresses[0].ip).toBe('10.0.0.1');
  });

  it('does not write when nothing changed, and updates when a pod became ready', async () => {
    const pods = [pod('a', { app: 'web' }, undefined, { ip: '10.0.0.1' })];
    const { c, client } = setup(service([{ port: 80 }]), pods);
    await c.sync('default/web');
    const created = client.of('create', 'endpoints')[0].object as Endpoints;
    const h2 = setup(service([{ port: 80 }]), pods, created);
    await h2.c.sync('default/web');
    expect(h2.client.actions.filter((a) => a.verb !== 'get')).toEqual([]);
    h2.pods.set(pod('b', { app: 'web' }, undefined, { ip: '10.0.0.2' }));
    await h2.c.sync('default/web');
    expect(h2.client.of('update', 'endpoints')[0].object!.subsets[0].addresses).toHaveLength(2);
  });

  it('deletes the Endpoints of a deleted Service and leaves selector-less Services alone', async () => {
    const gone = setup(undefined, []);
    await gone.c.sync('default/web');
    expect(gone.client.of('delete', 'endpoints')).toMatchObject([{ name: 'web' }]);
    const manual = setup(service([{ port: 80 }], { selector: undefined }), []);
    await manual.c.sync('default/web');
    expect(manual.client.actions).toEqual([]);
  });

  it('wakes the Services that select a changed pod', () => {
    const { c, pods } = setup(service([{ port: 80 }]), []);
    pods.emitAdd(pod('x', { app: 'db' }));
    expect(c.queue.len()).toBe(0);
    pods.emitAdd(pod('a', { app: 'web' }));
    expect(c.queue.len()).toBe(1);
  });
});

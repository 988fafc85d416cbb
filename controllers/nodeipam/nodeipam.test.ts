import { afterEach, describe, expect, it, vi } from 'vitest';
import { errors } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { KubeObject, Node } from '../../api/types.js';
import { FakeClient } from '../../client/fake.js';
import { SharedInformerFactory } from '../../client/informer.js';
import type { EventRecorder } from '../controller.js';
import { NodeIpamController, type NodeIpamOptions } from './nodeipam.js';

const node = (name: string, podCIDR?: string): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {} });

const running: { c: NodeIpamController; f: SharedInformerFactory; done: Promise<void> }[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.c.shutDown();
    r.f.stop();
    await r.done;
  }
});

async function start(fake: FakeClient, o: Partial<NodeIpamOptions> = {}) {
  const events: { reason: string; message: string; name?: string }[] = [];
  const recorder: EventRecorder = { event: (obj: KubeObject, _t, reason, message) => events.push({ reason, message, name: obj.metadata.name }) };
  const f = new SharedInformerFactory(fake);
  const c = new NodeIpamController({ client: fake, informers: f, clusterCIDR: '10.244.0.0/16', nodeCIDRMaskSize: 24, recorder, ...o });
  f.start();
  await f.waitForCacheSync();
  const done = c.run(5);
  running.push({ c, f, done });
  return { c, events };
}

const cidrOf = async (fake: FakeClient, name: string) => (await fake.resource<Node>(R.nodes).get(name)).spec.podCIDRs;

describe('node IPAM controller (range allocator)', () => {
  it('gives each new node its own /24 in spec.podCIDR and spec.podCIDRs, skipping those existing nodes hold', async () => {
    const fake = new FakeClient([R.nodes, node('old', '10.244.0.0/24')], [R.nodes, node('n1')]);
    await start(fake);
    await vi.waitFor(async () => expect(await cidrOf(fake, 'n1')).toEqual(['10.244.1.0/24']));
    for (const n of ['n2', 'n3']) await fake.resource(R.nodes).create(node(n));
    await vi.waitFor(async () => expect([await cidrOf(fake, 'n2'), await cidrOf(fake, 'n3')]).toEqual([['10.244.2.0/24'], ['10.244.3.0/24']]));
    expect((await fake.resource<Node>(R.nodes).get('n2')).spec.podCIDR).toBe('10.244.2.0/24');
    expect(await cidrOf(fake, 'old')).toEqual(['10.244.0.0/24']);
  });

  it('releases a deleted node\'s CIDR, which a later node gets once the others are taken', async () => {
    const fake = new FakeClient([R.nodes, node('a')], [R.nodes, node('b')]);
    const { c } = await start(fake, { clusterCIDR: '10.244.0.0/23' });
    await vi.waitFor(async () => expect((await cidrOf(fake, 'b'))?.length).toBe(1));
    const aCIDR = await cidrOf(fake, 'a');
    await fake.resource(R.nodes).delete('a');
    await vi.waitFor(() => expect(c.cidrs.usage().used).toBe(1));
    await fake.resource(R.nodes).create(node('c'));
    await vi.waitFor(async () => expect(await cidrOf(fake, 'c')).toEqual(aCIDR));
  });

  it('records CIDRNotAvailable on a node when the range is full, and retries it', async () => {
    const fake = new FakeClient([R.nodes, node('a')]);
    const { events } = await start(fake, { clusterCIDR: '10.244.0.0/24' });
    await vi.waitFor(async () => expect(await cidrOf(fake, 'a')).toEqual(['10.244.0.0/24']));
    await fake.resource(R.nodes).create(node('b'));
    await vi.waitFor(() => expect(events).toContainEqual({ reason: 'CIDRNotAvailable', message: 'Node b status is now: CIDRNotAvailable', name: 'b' }));
    expect(await cidrOf(fake, 'b')).toBeUndefined();
    await fake.resource(R.nodes).delete('a');
    await vi.waitFor(async () => expect(await cidrOf(fake, 'b')).toEqual(['10.244.0.0/24']), { timeout: 5000 });
  });

  it('keeps a CIDR set by someone else between its read and its write, and returns its own to the pool', async () => {
    const fake = new FakeClient();
    let raced = false;
    fake.prependReactor('patch', 'nodes', (a) => {
      if (raced || a.subresource) return { handled: false };
      raced = true;
      // Another writer sets the CIDR first; our patch then carries a stale resourceVersion.
      void fake.resource(R.nodes).patch(a.name!, 'merge', { spec: { podCIDR: '10.244.9.0/24', podCIDRs: ['10.244.9.0/24'] } });
      return { handled: true, err: errors.conflict('nodes', a.name!, 'the object has been modified; please apply your changes to the latest version and try again') };
    });
    const { c } = await start(fake);
    await fake.resource(R.nodes).create(node('x'));
    await vi.waitFor(() => expect(c.cidrs.isUsed('10.244.9.0/24')).toBe(true));
    expect(await cidrOf(fake, 'x')).toEqual(['10.244.9.0/24']);
    expect(c.cidrs.isUsed('10.244.0.0/24')).toBe(false);
  });

  it('never hands out a subnet that overlaps the service range', async () => {
    const fake = new FakeClient([R.nodes, node('a')]);
    await start(fake, { clusterCIDR: '10.96.0.0/22', serviceCIDR: '10.96.0.0/24' });
    await vi.waitFor(async () => expect(await cidrOf(fake, 'a')).toEqual(['10.96.1.0/24']));
  });
});

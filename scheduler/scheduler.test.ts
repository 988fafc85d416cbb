import { afterEach, describe, expect, it } from 'vitest';
import { R } from '../api/resources.js';
import type { KubeObject, Pod } from '../api/types.js';
import { FakeClient } from '../client/fake.js';
import { SharedInformerFactory } from '../client/informer.js';
import { Scheduler, type EventSink } from './scheduler.js';
import { makeNode, makePod } from './testing.js';

async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

class RecordedEvents implements EventSink {
  readonly events: { name: string; type: string; reason: string; message: string }[] = [];
  event(obj: KubeObject, type: string, reason: string, message: string): void {
    this.events.push({ name: obj.metadata.name!, type, reason, message });
  }
}

function bare(p: Pod): Pod {
  const { uid: _u, ...metadata } = p.metadata;
  return { ...p, metadata };
}

describe('Scheduler over the fake client', () => {
  let sched: Scheduler | undefined;
  let informers: SharedInformerFactory | undefined;

  afterEach(async () => {
    await sched?.stop();
    informers?.stop();
  });

  async function start(client: FakeClient) {
    const events = new RecordedEvents();
    informers = new SharedInformerFactory(client);
    sched = new Scheduler({ client, informers, events });
    void sched.run();
    return events;
  }

  async function podsOf(client: FakeClient) {
    return (await client.resource<Pod>(R.pods).list()).items;
  }

  it('binds pods through pods/binding, spreading one controller over three nodes', async () => {
    const client = new FakeClient(...['n1', 'n2', 'n3'].map((n) => [R.nodes, makeNode(n)] as [typeof R.nodes, KubeObject]));
    const events = await start(client);
    for (let i = 0; i < 6; i++) await client.resource(R.pods, 'default').create(bare(makePod(`web-${i}`, { cpu: '100m', ownerUid: 'rs-1' })));

    const pods = await until('all bound', async () => {
      const items = await podsOf(client);
      return items.every((p) => p.spec.nodeName) && items;
    });
    const perNode = new Map<string, number>();
    for (const p of pods) perNode.set(p.spec.nodeName!, (perNode.get(p.spec.nodeName!) ?? 0) + 1);
    expect(Object.fromEntries(perNode)).toEqual({ n1: 2, n2: 2, n3: 2 });

    const bindings = client.actions.filter((a) => a.verb === 'create' && a.subresource === 'binding');
    expect(bindings).toHaveLength(6);
    expect(bindings[0].object).toMatchObject({ apiVersion: 'v1', kind: 'Binding', metadata: { namespace: 'default' }, target: { kind: 'Node' } });
    await until('events', () => events.events.length === 6);
    const web0 = pods.find((p) => p.metadata.name === 'web-0')!;
    expect(events.events).toContainEqual({ name: 'web-0', type: 'Normal', reason: 'Scheduled', message: `Successfully assigned default/web-0 to ${web0.spec.nodeName}` });
  });

  it('leaves a pod that fits nowhere Pending with kube wording, then binds it when a node that fits appears', async () => {
    const client = new FakeClient(
      [R.nodes, makeNode('n1', { cpu: '2' })],
      [R.nodes, makeNode('n2', { cpu: '2' })],
      [R.nodes, makeNode('n3', { unschedulable: true })],
    );
    const events = await start(client);
    await client.resource(R.pods, 'default').create(bare(makePod('big', { cpu: '3' })));
    const message = '0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.';

    const cond = await until('PodScheduled=False', async () => {
      const p = await client.resource<Pod>(R.pods, 'default').get('big');
      return p.status?.conditions?.find((c) => c.type === 'PodScheduled');
    });
    expect(cond).toMatchObject({ status: 'False', reason: 'Unschedulable', message });
    expect(events.events).toContainEqual({ name: 'big', type: 'Warning', reason: 'FailedScheduling', message });
    const statusPatch = client.actions.find((a) => a.verb === 'patch' && a.subresource === 'status');
    expect(statusPatch?.name).toBe('big');
    // kube-scheduler's PatchPodStatus: a strategic merge patch carrying only the changed condition.
    expect(statusPatch?.patchType).toBe('strategic');
    expect(statusPatch?.object).toMatchObject({ status: { conditions: [{ type: 'PodScheduled', status: 'False' }] } });
    expect(sched!.queue.pending().unschedulable).toBe(1);

    await client.resource(R.nodes).create(makeNode('n4', { cpu: '4' }));
    const bound = await until('bound to n4', async () => (await client.resource<Pod>(R.pods, 'default').get('big')).spec.nodeName, 5000);
    expect(bound).toBe('n4');
  });

  it('sees the requests of a pod it assumed before the binding is observed', async () => {
    // Unaware of a's 1500m on n1, b would prefer n1's larger room; aware, only n2 fits.
    const client = new FakeClient([R.nodes, makeNode('n1', { cpu: '2' })], [R.nodes, makeNode('n2', { cpu: '1' })]);
    // Hold every binding until both pods were decided.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const bindings: string[] = [];
    const original = client.resource.bind(client);
    client.resource = ((res, ns) => {
      const rc = original(res, ns);
      return {
        ...rc,
        createSubresource: async (name: string, sub: string, body: unknown) => {
          bindings.push(`${name}->${(body as { target: { name: string } }).target.name}`);
          await held;
          return rc.createSubresource(name, sub, body);
        },
      };
    }) as typeof client.resource;
    await start(client);
    await original(R.pods, 'default').create(bare(makePod('a', { cpu: '1500m' })));
    await until('a decided', () => bindings.length === 1);
    await original(R.pods, 'default').create(bare(makePod('b', { cpu: '800m' })));
    await until('b decided', () => bindings.length === 2);
    release();
    expect(bindings).toEqual(['a->n1', 'b->n2']);
  });

  it('requeues with backoff when the binding fails, then succeeds', async () => {
    const client = new FakeClient([R.nodes, makeNode('n1')]);
    let failures = 1;
    client.prependReactor('create', 'pods', (a) => (a.subresource === 'binding' && failures-- > 0 ? { handled: true, err: new Error('etcd unavailable') } : { handled: false }));
    const events = await start(client);
    await client.resource(R.pods, 'default').create(bare(makePod('p')));
    await until('bound after retry', async () => (await client.resource<Pod>(R.pods, 'default').get('p')).spec.nodeName, 5000);
    expect(client.actions.filter((a) => a.subresource === 'binding')).toHaveLength(2);
    expect(events.events.map((e) => e.reason)).toEqual(['FailedScheduling', 'Scheduled']);
    expect(events.events[0].message).toBe('Binding rejected: etcd unavailable');
  });

  it('lists and watches pods once, and frees the room of a pod that finished', async () => {
    const client = new FakeClient([R.nodes, makeNode('n1', { cpu: '1' })]);
    const pods = client.resource<Pod>(R.pods, 'default');
    await pods.create(bare(makePod('done-soon', { cpu: '800m', nodeName: 'n1' })));
    await start(client);
    await pods.create(bare(makePod('waiting', { cpu: '500m' })));
    await until('waiting found unschedulable', async () => (await pods.get('waiting')).status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False'));

    const done = await pods.get('done-soon');
    await pods.updateStatus({ ...done, status: { ...done.status, phase: 'Succeeded' } });
    const bound = await until('waiting bound', async () => (await pods.get('waiting')).spec.nodeName);
    expect(bound).toBe('n1');
    // One informer feeds cache and queue, as kube-scheduler's, so one list and one watch of pods.
    const podCalls = client.actions.filter((a) => a.resource === 'pods' && (a.verb === 'list' || a.verb === 'watch'));
    expect(podCalls.map((a) => a.verb)).toEqual(['list', 'watch']);
  });

  it('ignores pods for another scheduler', async () => {
    const client = new FakeClient([R.nodes, makeNode('n1')]);
    await start(client);
    await client.resource(R.pods, 'default').create(bare(makePod('other', { schedulerName: 'my-scheduler' })));
    await client.resource(R.pods, 'default').create(bare(makePod('mine')));
    await until('mine bound', async () => (await client.resource<Pod>(R.pods, 'default').get('mine')).spec.nodeName);
    expect((await client.resource<Pod>(R.pods, 'default').get('other')).spec.nodeName).toBeUndefined();
  });
});

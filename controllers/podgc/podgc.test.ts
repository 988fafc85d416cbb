import { describe, expect, it } from 'vitest';
import { errors } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { Node, Pod } from '../../api/types.js';
import { FakeClient } from '../../client/fake.js';
import { FakeInformerFactory, type FakeInformer } from '../testing/fake.js';
import { pod } from '../testing/objects.js';
import { compareForGC, PodGCController } from './podgc.js';

const node = (name: string, o: { ready?: boolean; outOfService?: boolean } = {}): Node => ({
  apiVersion: 'v1', kind: 'Node', metadata: { name },
  spec: o.outOfService ? { taints: [{ key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' }] } : {},
  status: { conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
});

function setup(o: { threshold?: number; quarantineMs?: number } = {}) {
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const client = new FakeClient();
  const informers = new FakeInformerFactory();
  const c = new PodGCController({ client, informers, terminatedPodGCThreshold: o.threshold, quarantineMs: o.quarantineMs, now: () => clock });
  const pods = informers.informerFor<Pod>(R.pods) as FakeInformer<Pod>;
  const nodes = informers.informerFor<Node>(R.nodes) as FakeInformer<Node>;
  /** A pod in the API server and in the cache, as the informer would hold it. */
  const addPod = async (p: Pod) => {
    const created = await client.resource<Pod>(R.pods, 'default').create(p);
    pods.set({ ...created, status: p.status, metadata: { ...created.metadata, creationTimestamp: p.metadata.creationTimestamp, deletionTimestamp: p.metadata.deletionTimestamp } });
    return created;
  };
  const addNode = async (n: Node) => {
    nodes.set(await client.resource<Node>(R.nodes).create(n));
  };
  const deletes = () => client.actions.filter((a) => a.verb === 'delete' && a.resource === 'pods').map((a) => ({ name: a.name, opts: a.object }));
  const statusPatches = () => client.actions.filter((a) => a.verb === 'patch' && a.subresource === 'status');
  return { c, client, pods, nodes, addPod, addNode, deletes, statusPatches, advance: (ms: number) => (clock += ms) };
}

describe('pod garbage collector', () => {
  it('force-deletes a pod bound to a missing Node only after the quarantine and the API server confirm it, marking it Failed with DisruptionTarget first', async () => {
    const t = setup();
    await t.addNode(node('a'));
    const orphan = await t.addPod(pod('orphan', { app: 'x' }, undefined, { node: 'gone' }));
    await t.addPod(pod('kept', { app: 'x' }, undefined, { node: 'a' }));

    await t.c.gc();
    expect(t.deletes()).toEqual([]);
    expect(t.client.actions.some((a) => a.resource === 'nodes' && a.verb === 'get')).toBe(false);

    t.advance(39_000);
    await t.c.gc();
    expect(t.deletes()).toEqual([]);

    t.advance(1_000);
    await t.c.gc();
    expect(t.client.actions.filter((a) => a.resource === 'nodes' && a.verb === 'get').map((a) => a.name)).toEqual(['gone']);
    expect(t.statusPatches()).toEqual([expect.objectContaining({
      name: 'orphan', patchType: 'strategic',
      object: { metadata: { uid: orphan.metadata.uid }, status: { phase: 'Failed', conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists', lastTransitionTime: '2026-01-01T00:00:40Z' }] } },
    })]);
    expect(t.deletes()).toEqual([{ name: 'orphan', opts: { gracePeriodSeconds: 0 } }]);
    await expect(t.client.resource(R.pods, 'default').get('orphan')).rejects.toThrow(/not found/);
    await t.client.resource(R.pods, 'default').get('kept');
  });

  it('leaves the pods of a Node the informer had not seen yet but the API server has', async () => {
    const t = setup({ quarantineMs: 0 });
    await t.client.resource<Node>(R.nodes).create(node('late'));
    await t.addPod(pod('p', {}, undefined, { node: 'late' }));
    await t.c.gc();
    expect(t.client.actions.filter((a) => a.resource === 'nodes' && a.verb === 'get').map((a) => a.name)).toEqual(['late']);
    expect(t.deletes()).toEqual([]);
  });

  it('retries a Node whose lookup failed on a later pass, after a new quarantine', async () => {
    const t = setup({ quarantineMs: 0 });
    await t.addPod(pod('p', {}, undefined, { node: 'gone' }));
    let down = true;
    t.client.prependReactor('get', 'nodes', () => (down ? { handled: true, err: errors.serviceUnavailable('etcd down') } : { handled: false }));
    await t.c.gc();
    expect(t.deletes()).toEqual([]);
    down = false;
    await t.c.gc();
    expect(t.deletes()).toEqual([{ name: 'p', opts: { gracePeriodSeconds: 0 } }]);
  });

  it('deletes an already finished orphan without patching its status', async () => {
    const t = setup({ quarantineMs: 0 });
    await t.addPod(pod('done', {}, undefined, { node: 'gone', phase: 'Succeeded' }));
    await t.c.gc();
    expect(t.statusPatches()).toEqual([]);
    expect(t.deletes()).toEqual([{ name: 'done', opts: { gracePeriodSeconds: 0 } }]);
  });

  it('force-deletes terminating pods on a NotReady Node with the out-of-service taint, and only there', async () => {
    const t = setup();
    await t.addNode(node('down', { ready: false, outOfService: true }));
    await t.addNode(node('tainted-but-ready', { outOfService: true }));
    await t.addNode(node('notready', { ready: false }));
    const terminating = (name: string, n: string) => {
      const p = pod(name, {}, undefined, { node: n });
      p.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
      return p;
    };
    await t.addPod(terminating('on-down', 'down'));
    await t.addPod(pod('running-on-down', {}, undefined, { node: 'down' }));
    await t.addPod(terminating('on-ready', 'tainted-but-ready'));
    await t.addPod(terminating('on-notready', 'notready'));
    await t.c.gc();
    expect(t.deletes()).toEqual([{ name: 'on-down', opts: { gracePeriodSeconds: 0 } }]);
    expect(t.statusPatches().map((a) => [a.name, (a.object as any).status])).toEqual([['on-down', { phase: 'Failed' }]]);
  });

  it('force-deletes terminating pods that were never scheduled', async () => {
    const t = setup();
    const p = pod('unscheduled', {}, undefined, { phase: 'Pending' });
    p.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    await t.addPod(p);
    await t.addPod(pod('pending', {}, undefined, { phase: 'Pending' }));
    await t.c.gc();
    expect(t.deletes()).toEqual([{ name: 'unscheduled', opts: { gracePeriodSeconds: 0 } }]);
  });

  it('deletes the oldest finished pods beyond --terminated-pod-gc-threshold, evicted ones first', async () => {
    const t = setup({ threshold: 2 });
    await t.addNode(node('a'));
    const at = (i: number) => `2026-01-01T00:0${i}:00Z`;
    await t.addPod(pod('new-failed', {}, undefined, { node: 'a', phase: 'Failed', created: at(5) }));
    await t.addPod(pod('old-succeeded', {}, undefined, { node: 'a', phase: 'Succeeded', created: at(1) }));
    await t.addPod(pod('mid-succeeded', {}, undefined, { node: 'a', phase: 'Succeeded', created: at(3) }));
    const evicted = pod('evicted', {}, undefined, { node: 'a', phase: 'Failed', created: at(9) });
    evicted.status!.reason = 'Evicted';
    await t.addPod(evicted);
    await t.addPod(pod('running', {}, undefined, { node: 'a', phase: 'Running', created: at(0) }));
    await t.c.gc();
    expect(t.deletes().map((d) => d.name).sort()).toEqual(['evicted', 'old-succeeded']);
    expect(t.statusPatches()).toEqual([]);
  });

  it('keeps every finished pod with a threshold of 0', async () => {
    const t = setup({ threshold: 0 });
    for (let i = 0; i < 3; i++) await t.addPod(pod(`done-${i}`, {}, undefined, { phase: 'Succeeded' }));
    await t.c.gc();
    expect(t.deletes()).toEqual([]);
  });

  it('takes a pod already gone as done, and retries one it could not delete on the next pass', async () => {
    const t = setup({ quarantineMs: 0 });
    await t.addPod(pod('already-gone', {}, undefined, { node: 'gone', phase: 'Failed' }));
    await t.client.resource(R.pods, 'default').delete('already-gone');
    await t.addPod(pod('stuck', {}, undefined, { node: 'gone', phase: 'Failed' }));
    let failing = true;
    t.client.prependReactor('delete', 'pods', (a) => (failing && a.name === 'stuck' ? { handled: true, err: errors.serviceUnavailable('try later') } : { handled: false }));
    await expect(t.c.gc()).resolves.toBeUndefined();
    failing = false;
    t.client.clearActions();
    await t.c.gc();
    expect(t.deletes().map((d) => d.name).sort()).toEqual(['already-gone', 'stuck']);
    await expect(t.client.resource(R.pods, 'default').get('stuck')).rejects.toThrow(/not found/);
  });

  it('queues a pass when a Node is deleted or a pod is bound to an unknown Node, not for ordinary pods', async () => {
    const t = setup();
    t.nodes.emitAdd(node('a'));
    t.pods.emitAdd(pod('ok', {}, undefined, { node: 'a' }));
    expect(t.c.queue.len()).toBe(0);
    t.pods.emitAdd(pod('orphan', {}, undefined, { node: 'gone' }));
    expect(t.c.queue.len()).toBe(1);
    t.c.queue.done((await t.c.queue.get())!);
    expect(t.c.queue.len()).toBe(0);
    t.nodes.emitDelete(node('a'));
    expect(t.c.queue.len()).toBe(1);
  });

  it('sorts like kube: evicted first, then oldest, then by name', () => {
    const mk = (name: string, created: string, evicted = false) => {
      const p = pod(name, {}, undefined, { phase: 'Failed', created });
      if (evicted) p.status!.reason = 'Evicted';
      return p;
    };
    const ps = [mk('b', '2026-01-01T00:00:00Z'), mk('a', '2026-01-01T00:00:00Z'), mk('old', '2025-01-01T00:00:00Z'), mk('ev', '2027-01-01T00:00:00Z', true)];
    expect(ps.sort(compareForGC).map((p) => p.metadata.name)).toEqual(['ev', 'old', 'a', 'b']);
  });

  it('rejects a negative threshold', () => {
    expect(() => new PodGCController({ client: new FakeClient(), informers: new FakeInformerFactory(), terminatedPodGCThreshold: -1 })).toThrow(/terminated-pod-gc-threshold/);
  });
});

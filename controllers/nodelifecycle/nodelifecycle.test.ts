import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { Lease, Node, Pod } from '../../api/types.js';
import { FakeInformerFactory, FakeRecorder, RecordingClient } from '../testing/fake.js';
import { pod } from '../testing/objects.js';
import { NodeLifecycleController } from './nodelifecycle.js';
import { TaintEvictionController } from './taintmanager.js';
import { evictionTime } from './taints.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function node(name: string, heartbeat: number, ready: 'True' | 'False' = 'True', taints: Node['spec']['taints'] = []): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: `uid-${name}`, resourceVersion: '5', creationTimestamp: iso(T0 - 3600_000) },
    spec: { taints },
    status: { conditions: [{ type: 'Ready', status: ready, reason: 'KubeletReady', lastHeartbeatTime: iso(heartbeat), lastTransitionTime: iso(T0 - 3600_000) }] },
  };
}

function setup(nodes: Node[], pods: Pod[] = [], leases: Lease[] = []) {
  const informers = new FakeInformerFactory();
  const client = new RecordingClient();
  let now = T0;
  const nlc = new NodeLifecycleController({ client, informers, now: () => now });
  informers.informerFor<Node>(R.nodes).set(...nodes);
  informers.informerFor<Pod>(R.pods).set(...pods);
  informers.informerFor<Lease>(R.leases).set(...leases);
  client.seed('nodes', ...nodes);
  return { nlc, client, informers, advance: (ms: number) => (now += ms) };
}

describe('node lifecycle controller', () => {
  it('records RegisteredNode once per node it comes to know, and RemovingNode when one goes', async () => {
    const informers = new FakeInformerFactory();
    const recorder = new FakeRecorder();
    const refs: unknown[] = [];
    const nlc = new NodeLifecycleController({ client: new RecordingClient(), informers, now: () => T0, recorder: { event: (obj, type, reason, message) => { refs.push(obj); recorder.event(obj, type, reason, message); } } });
    informers.informerFor<Node>(R.nodes).set(node('n1', T0 - 1000));
    await nlc.monitor();
    await nlc.monitor();
    expect(recorder.events).toEqual(['Normal RegisteredNode Node n1 event: Registered Node n1 in Controller']);
    expect(refs[0]).toEqual({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', uid: 'uid-n1' } });
    informers.informerFor<Node>(R.nodes).set(node('n2', T0 - 1000));
    informers.informerFor<Node>(R.nodes).emitDelete(node('n1', T0 - 1000));
    await nlc.monitor();
    expect(recorder.events.slice(1)).toEqual(['Normal RegisteredNode Node n2 event: Registered Node n2 in Controller', 'Normal RemovingNode Node n1 event: Removing Node n1 from Controller']);
  });

  it('leaves a node with a fresh heartbeat alone', async () => {
    const h = setup([node('n1', T0 - 10_000)]);
    await h.nlc.monitor();
    expect(h.client.actions).toEqual([]);
  });

  it('marks a silent node Unknown, taints it unreachable and marks its pods not ready', async () => {
    const h = setup([node('n1', T0 - 41_000)], [pod('p', { app: 'web' }, undefined, { node: 'n1' })]);
    await h.nlc.monitor();
    const [status] = h.client.of('updateStatus', 'nodes');
    expect(status.object!.status.conditions[0]).toMatchObject({ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastHeartbeatTime: iso(T0 - 41_000) });
    expect(status.object!.status.conditions.map((c: any) => c.type)).toEqual(['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure']);
    expect(h.client.of('updateStatus', 'pods')[0].object!.status.conditions[0]).toMatchObject({ type: 'Ready', status: 'False' });
    expect((h.client.of('patch', 'nodes')[0].patch as any).spec.taints).toEqual([
      { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: '2026-01-01T00:00:00Z' },
    ]);
  });

  it('counts a renewed Lease as a heartbeat', async () => {
    const lease: Lease = { metadata: { name: 'n1', namespace: 'kube-node-lease' }, spec: { renewTime: iso(T0 - 5_000) } };
    const h = setup([node('n1', T0 - 300_000)], [], [lease]);
    await h.nlc.monitor();
    expect(h.client.actions).toEqual([]);
  });

  it('lifts the not-ready NoSchedule taint as soon as the Node reports Ready, without waiting for a monitor pass', async () => {
    const notReady = [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' as const }, { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' as const, timeAdded: iso(T0) }];
    const h = setup([node('n1', T0, 'False', notReady)]);
    const run = h.nlc.run();
    try {
      h.informers.informerFor<Node>(R.nodes).emitUpdate(node('n1', T0, 'True', notReady));
      for (let i = 0; i < 50 && !h.client.of('patch', 'nodes').some((a) => !(a.patch as any).spec.taints?.some((t: any) => t.effect === 'NoSchedule')); i++) await new Promise((r) => setTimeout(r, 10));
      const lifted = h.client.of('patch', 'nodes').find((a) => !(a.patch as any).spec.taints?.some((t: any) => t.effect === 'NoSchedule'));
      // The NoExecute taint is the monitor's to lift (doNoExecuteTaintingPass), as in kube.
      expect((lifted?.patch as any)?.spec.taints).toEqual([notReady[1]]);
    } finally {
      h.nlc.shutDown();
      await run;
    }
  });

  it('taints a NotReady node not-ready and removes taints when it recovers', async () => {
    const h = setup([node('n1', T0 - 1000, 'False')]);
    await h.nlc.monitor();
    expect((h.client.of('patch', 'nodes')[0].patch as any).spec.taints.map((t: any) => `${t.key}:${t.effect}`)).toEqual(['node.kubernetes.io/not-ready:NoSchedule', 'node.kubernetes.io/not-ready:NoExecute']);
    const recovered = setup([node('n1', T0 - 1000, 'True', [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }, { key: 'dedicated', effect: 'NoSchedule' }])]);
    await recovered.nlc.monitor();
    expect((recovered.client.of('patch', 'nodes')[0].patch as any).spec.taints).toEqual([{ key: 'dedicated', effect: 'NoSchedule' }]);
  });
});

describe('taint eviction', () => {
  const unreachable = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' as const, timeAdded: iso(T0) };
  const tolerate300 = [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists' as const, effect: 'NoExecute' as const, tolerationSeconds: 300 }];

  it('computes when a pod must go', () => {
    expect(evictionTime([unreachable], [], T0 + 5)).toBe(T0 + 5);
    expect(evictionTime([unreachable], tolerate300, T0)).toBe(T0 + 300_000);
    expect(evictionTime([unreachable], [{ operator: 'Exists' }], T0)).toBeUndefined();
    expect(evictionTime([{ key: 'x', effect: 'NoSchedule' }], [], T0)).toBeUndefined();
  });

  it('evicts a pod when its toleration runs out, not before', async () => {
    const informers = new FakeInformerFactory();
    const client = new RecordingClient();
    const recorder = new FakeRecorder();
    let now = T0 + 299_000;
    const c = new TaintEvictionController({ client, informers, recorder, now: () => now });
    const p = pod('p', { app: 'web' }, undefined, { node: 'n1' });
    p.spec.tolerations = tolerate300;
    client.seed('pods', p);
    informers.informerFor<Pod>(R.pods).set(p);
    informers.informerFor<Node>(R.nodes).emitAdd(node('n1', T0, 'True', [unreachable]));
    expect(c.queue.len()).toBe(1);
    await c.sync('default/p');
    expect(client.of('delete')).toEqual([]);
    now = T0 + 300_000;
    await c.sync('default/p');
    expect(client.of('delete', 'pods')).toMatchObject([{ name: 'p' }]);
    expect(recorder.events).toEqual(['Normal TaintManagerEviction Marking for deletion Pod default/p']);
    c.shutDown();
  });
});

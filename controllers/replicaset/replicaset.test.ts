import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { Pod, ReplicaSet } from '../../api/types.js';
import { errors } from '../../api/errors.js';
import { FakeInformerFactory, FakeRecorder, RecordingClient } from '../testing/fake.js';
import { pod, replicaSet } from '../testing/objects.js';
import { ReplicaSetController } from './replicaset.js';

function setup(rs: ReplicaSet, pods: Pod[] = []) {
  const informers = new FakeInformerFactory();
  const client = new RecordingClient();
  const recorder = new FakeRecorder();
  const c = new ReplicaSetController({ client, informers, recorder, now: () => new Date('2026-01-02T00:00:00Z') });
  informers.informerFor<ReplicaSet>(R.replicasets).set(rs);
  informers.informerFor<Pod>(R.pods).set(...pods);
  client.seed('replicasets', rs);
  client.seed('pods', ...pods);
  return { c, client, recorder, pods: informers.informerFor<Pod>(R.pods) };
}

const owner = { kind: 'ReplicaSet', name: 'web', uid: 'uid-web' };

describe('ReplicaSet controller', () => {
  it('creates the missing pods with a controller ownerReference and template labels', async () => {
    const { c, client, recorder } = setup(replicaSet('web', 3));
    await c.sync('default/web');
    const creates = client.of('create', 'pods');
    expect(creates).toHaveLength(3);
    for (const a of creates) {
      expect(a.object!.metadata.generateName).toBe('web-');
      expect(a.object!.metadata.labels).toEqual({ app: 'web' });
      expect(a.object!.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'uid-web', controller: true, blockOwnerDeletion: true }]);
    }
    expect(recorder.events.filter((e) => e.startsWith('Normal SuccessfulCreate Created pod: web-'))).toHaveLength(3);
  });

  it('does not create again until its creates are observed', async () => {
    const { c, client, pods } = setup(replicaSet('web', 2));
    await c.sync('default/web');
    await c.sync('default/web');
    expect(client.of('create', 'pods')).toHaveLength(2);
    // The informer shows one of them: still one outstanding, still no new create.
    pods.emitAdd(pod('web-a', { app: 'web' }, owner));
    await c.sync('default/web');
    expect(client.of('create', 'pods')).toHaveLength(2);
    pods.emitAdd(pod('web-b', { app: 'web' }, owner));
    pods.emitDelete(pod('web-b', { app: 'web' }, owner));
    await c.sync('default/web');
    expect(client.of('create', 'pods')).toHaveLength(3);
  });

  it('creates in slow-start batches and stops at the first failing batch', async () => {
    const { c, client, recorder } = setup(replicaSet('web', 10));
    let n = 0;
    client.fail = (a) => (a.verb === 'create' && ++n > 3 ? errors.forbidden('exceeded quota') : undefined);
    await expect(c.sync('default/web')).rejects.toThrow('exceeded quota');
    // batches 1, 2, then the batch of 4 fails: 7 attempts, not 10.
    expect(client.of('create', 'pods')).toHaveLength(7);
    expect(recorder.events).toContain('Warning FailedCreate Error creating: exceeded quota');
    // Only the 3 successful creates are still awaited.
    expect(c.expectations.satisfied('default/web')).toBe(false);
  });

  it('adopts a matching orphan instead of creating a pod', async () => {
    const { c, client } = setup(replicaSet('web', 1), [pod('orphan', { app: 'web' })]);
    await c.sync('default/web');
    expect(client.of('create', 'pods')).toHaveLength(0);
    const [p] = client.of('patch', 'pods');
    expect(p.name).toBe('orphan');
    expect((p.patch as any).metadata.ownerReferences[0]).toMatchObject({ kind: 'ReplicaSet', uid: 'uid-web', controller: true });
  });

  it('releases an owned pod whose labels no longer match, and replaces it', async () => {
    const { c, client } = setup(replicaSet('web', 1), [pod('web-x', { app: 'other' }, owner)]);
    await c.sync('default/web');
    expect(client.of('patch', 'pods')[0]).toMatchObject({ name: 'web-x', patch: { metadata: { ownerReferences: null } } });
    expect(client.of('create', 'pods')).toHaveLength(1);
  });

  it('deletes surplus pods: unscheduled, then pending, then not ready, before ready ones', async () => {
    const pods = [
      pod('ready-old', { app: 'web' }, owner, { node: 'n1', created: '2026-01-01T00:00:00Z' }),
      pod('ready-new', { app: 'web' }, owner, { node: 'n1', created: '2026-01-01T00:05:00Z' }),
      pod('not-ready', { app: 'web' }, owner, { node: 'n1', ready: false }),
      pod('pending', { app: 'web' }, owner, { node: 'n1', phase: 'Pending', ready: false }),
      pod('unscheduled', { app: 'web' }, owner, { phase: 'Pending', ready: false }),
    ];
    const { c, client, recorder } = setup(replicaSet('web', 1), pods);
    await c.sync('default/web');
    expect(client.of('delete', 'pods').map((a) => a.name)).toEqual(['unscheduled', 'pending', 'not-ready', 'ready-new']);
    expect(recorder.events).toContain('Normal SuccessfulDelete Deleted pod: unscheduled');
  });

  it('writes status through the status subresource only when it changes', async () => {
    const pods = [pod('a', { app: 'web' }, owner), pod('b', { app: 'web' }, owner, { ready: false })];
    const { c, client } = setup(replicaSet('web', 2), pods);
    await c.sync('default/web');
    const [u] = client.of('updateStatus', 'replicasets');
    expect(u.object!.status).toEqual({ replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 1, availableReplicas: 1, observedGeneration: 1 });
    expect(client.of('create')).toHaveLength(0);
  });

  it('counts a pod available only after minReadySeconds', async () => {
    const rs = replicaSet('web', 2);
    rs.spec.minReadySeconds = 30;
    const pods = [pod('a', { app: 'web' }, owner, { readySince: '2026-01-01T23:00:00Z' }), pod('b', { app: 'web' }, owner, { readySince: '2026-01-01T23:59:50Z' })];
    const { c, client } = setup(rs, pods);
    await c.sync('default/web');
    expect(client.of('updateStatus')[0].object!.status).toMatchObject({ readyReplicas: 2, availableReplicas: 1 });
  });

  it('ignores pods controlled by another owner and finished pods', async () => {
    const other = { kind: 'ReplicaSet', name: 'x', uid: 'uid-x' };
    const { c, client } = setup(replicaSet('web', 2), [pod('theirs', { app: 'web' }, other), pod('done', { app: 'web' }, owner, { phase: 'Succeeded' })]);
    await c.sync('default/web');
    expect(client.of('create', 'pods')).toHaveLength(2);
    expect(client.of('patch')).toHaveLength(0);
  });
});

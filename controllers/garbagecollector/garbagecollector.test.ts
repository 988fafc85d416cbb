import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { KubeObject, Pod, ReplicaSet } from '../../api/types.js';
import { FakeInformerFactory, RecordingClient } from '../testing/fake.js';
import { pod, replicaSet } from '../testing/objects.js';
import { GarbageCollector } from './garbagecollector.js';

const owner = { kind: 'ReplicaSet', name: 'web', uid: 'uid-web' };

function setup() {
  const informers = new FakeInformerFactory();
  const client = new RecordingClient();
  const gc = new GarbageCollector({ client, informers, resources: [R.pods, R.replicasets] });
  const rss = informers.informerFor<ReplicaSet>(R.replicasets);
  const pods = informers.informerFor<Pod>(R.pods);
  const add = (plural: 'pods' | 'replicasets', o: KubeObject) => {
    client.seed(plural, o);
    (plural === 'pods' ? pods : rss).emitAdd(o as any);
  };
  /** Run the queue dry, as the workers would. */
  const drain = async () => {
    while (gc.queue.len() > 0) {
      const key = (await gc.queue.get())!;
      await gc.sync(key);
      gc.queue.done(key);
    }
  };
  return { gc, client, rss, pods, add, drain };
}

describe('garbage collector', () => {
  it('deletes a dependent whose owner is gone, after checking the API server', async () => {
    const h = setup();
    h.add('pods', pod('web-a', { app: 'web' }, owner));
    await h.drain();
    expect(h.client.of('get', 'replicasets')).toMatchObject([{ name: 'web' }]);
    expect(h.client.of('delete', 'pods')).toMatchObject([{ name: 'web-a' }]);
  });

  it('keeps a dependent whose owner the informer has not seen yet but the API server has', async () => {
    const h = setup();
    h.client.seed('replicasets', replicaSet('web', 1));
    h.add('pods', pod('web-a', { app: 'web' }, owner));
    await h.drain();
    expect(h.client.of('delete')).toEqual([]);
  });

  it('deletes dependents in the background when their owner is deleted', async () => {
    const h = setup();
    const rs = replicaSet('web', 1);
    h.add('replicasets', rs);
    h.add('pods', pod('web-a', { app: 'web' }, owner));
    await h.drain();
    expect(h.client.of('delete')).toEqual([]);
    h.client.store.delete('replicasets/default/web');
    h.rss.emitDelete(rs);
    await h.drain();
    expect(h.client.of('delete', 'pods')).toMatchObject([{ name: 'web-a' }]);
  });

  it('only drops the reference to a deleted owner when another owner remains', async () => {
    const h = setup();
    const rs = replicaSet('web', 1);
    const other = replicaSet('other', 1);
    h.add('replicasets', rs);
    h.add('replicasets', other);
    const p = pod('shared', { app: 'web' }, owner);
    p.metadata.ownerReferences!.push({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'other', uid: 'uid-other' });
    h.add('pods', p);
    h.client.store.delete('replicasets/default/web');
    h.rss.emitDelete(rs);
    await h.drain();
    expect(h.client.of('delete')).toEqual([]);
    expect((h.client.of('patch', 'pods')[0].patch as any).metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'other', uid: 'uid-other' }]);
  });

  it('foreground: deletes dependents first, removes the finalizer once they are gone', async () => {
    const h = setup();
    const rs = replicaSet('web', 1);
    h.add('replicasets', rs);
    const p = pod('web-a', { app: 'web' }, owner);
    h.add('pods', p);
    h.rss.emitUpdate({ ...rs, metadata: { ...rs.metadata, deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['foregroundDeletion'] } });
    await h.drain();
    expect(h.client.of('delete', 'pods')).toMatchObject([{ name: 'web-a' }]);
    expect(h.client.of('patch', 'replicasets')).toEqual([]);
    h.pods.emitDelete(p);
    await h.drain();
    expect(h.client.of('patch', 'replicasets')[0].patch).toMatchObject({ metadata: { finalizers: null } });
  });

  it('orphan: removes the owner from its dependents, then the finalizer, deleting nothing', async () => {
    const h = setup();
    const rs = replicaSet('web', 1);
    h.add('replicasets', rs);
    h.add('pods', pod('web-a', { app: 'web' }, owner));
    h.rss.emitUpdate({ ...rs, metadata: { ...rs.metadata, deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['orphan'] } });
    await h.drain();
    expect(h.client.of('delete')).toEqual([]);
    expect(h.client.actions.filter((a) => a.verb === 'patch').map((a) => [a.resource, a.name, (a.patch as any).metadata])).toEqual([
      ['pods', 'web-a', { ownerReferences: null, uid: 'uid-web-a' }],
      ['replicasets', 'web', { finalizers: null, resourceVersion: undefined }],
    ]);
  });
});

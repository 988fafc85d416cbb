import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeClient } from './fake.js';
import { LIST_PAGE_SIZE, SharedInformerFactory } from './informer.js';
import type { Client, ListOptions, ResourceClient, ResourceRef } from './interfaces.js';
import { R } from '../api/resources.js';
import { errors } from '../api/errors.js';
import type { KubeObject, Pod } from '../api/types.js';

const factories: SharedInformerFactory[] = [];
function setup(opts = {}) {
  const fake = new FakeClient();
  const f = new SharedInformerFactory(fake, { backoffMs: [5, 20], ...opts });
  factories.push(f);
  return { fake, f };
}
afterEach(() => {
  for (const f of factories.splice(0)) f.stop();
});

const pod = (name: string, labels: Record<string, string> = {}, nodeName?: string): Pod => ({
  metadata: { name, labels }, spec: { containers: [{ name: 'c' }], ...(nodeName ? { nodeName } : {}) },
});

function recorder() {
  const log: string[] = [];
  return {
    log,
    h: {
      onAdd: (o: KubeObject) => log.push(`add ${o.metadata.name}`),
      onUpdate: (a: KubeObject, b: KubeObject) => log.push(`update ${b.metadata.name} ${a.metadata.resourceVersion}->${b.metadata.resourceVersion}`),
      onDelete: (o: KubeObject) => log.push(`delete ${o.metadata.name}`),
    },
  };
}

describe('SharedInformer over the fake client', () => {
  it('lists, then follows creates, updates and deletes; one informer per resource', async () => {
    const { fake, f } = setup();
    const pods = fake.resource<Pod>(R.pods, 'default');
    await pods.create(pod('a', { app: 'web' }));
    const inf = f.informerFor<Pod>(R.pods);
    expect(f.informerFor(R.pods)).toBe(inf);
    expect(f.informerFor(R.pods, { namespace: 'x' })).not.toBe(inf);
    const r = recorder();
    inf.addEventHandler(r.h);
    f.start();
    await f.waitForCacheSync();
    expect(inf.hasSynced()).toBe(true);
    expect(inf.lister.get('default/a')?.metadata.labels).toEqual({ app: 'web' });

    const b = await pods.create(pod('b', { app: 'db' }, 'node-1'));
    await pods.update({ ...b, metadata: { ...b.metadata, labels: { app: 'web' } } });
    await pods.delete('a');
    await vi.waitFor(() => expect(r.log).toEqual(['add a', 'add b', 'update b 2->3', 'delete a']));
    expect(inf.lister.list({ labelSelector: 'app=web' }).map((p) => p.metadata.name)).toEqual(['b']);
    expect(inf.lister.list({ namespace: 'other' })).toEqual([]);
    expect(inf.lister.list({ namespace: 'default', labelSelector: 'app notin (web)' })).toEqual([]);
    expect(inf.lister.list({ namespace: 'default', labelSelector: 'app' }).map((p) => p.metadata.name)).toEqual(['b']);
    expect(inf.lister.byIndex('nodeName', 'node-1').map((p) => p.metadata.name)).toEqual(['b']);
    expect(inf.lastSyncResourceVersion()).toBe('4');
  });

  it('hands out frozen objects so mutation bugs fail loudly', async () => {
    const { fake, f } = setup();
    await fake.resource(R.pods, 'default').create(pod('a'));
    const inf = f.informerFor<Pod>(R.pods);
    f.start();
    await f.waitForCacheSync();
    const p = inf.lister.get('default/a')!;
    expect(() => {
      (p.metadata.labels as Record<string, string>).x = 'y';
    }).toThrow(TypeError);
  });

  it('resumes after a dropped watch without replaying what it has', async () => {
    const { fake, f } = setup();
    const pods = fake.resource<Pod>(R.pods, 'default');
    await pods.create(pod('a'));
    const inf = f.informerFor<Pod>(R.pods);
    const r = recorder();
    inf.addEventHandler(r.h);
    f.start();
    await f.waitForCacheSync();
    await vi.waitFor(() => expect(fake.watcherCount()).toBe(1));
    fake.closeWatches();
    await pods.create(pod('b'));
    await vi.waitFor(() => expect(r.log).toEqual(['add a', 'add b']));
    expect(fake.actions.filter((a) => a.verb === 'list')).toHaveLength(1);
  });

  it('resumes from a bookmark\'s resourceVersion', async () => {
    const { fake, f } = setup();
    await fake.resource(R.pods, 'a').create(pod('mine'));
    const inf = f.informerFor<Pod>(R.pods, { namespace: 'a' });
    f.start();
    await f.waitForCacheSync();
    await vi.waitFor(() => expect(fake.watcherCount()).toBe(1));
    // Writes the informer does not watch advance the resourceVersion; only a bookmark tells it.
    await fake.resource(R.pods, 'b').create(pod('x'));
    await fake.resource(R.pods, 'b').create(pod('y'));
    fake.sendBookmarks();
    expect(inf.lastSyncResourceVersion()).toBe('3');
    // Resuming from the bookmark needs no history; resuming from the list's version would get 410 and relist.
    fake.closeWatches();
    fake.compact();
    await vi.waitFor(() => expect(fake.actions.filter((a) => a.verb === 'watch')).toHaveLength(2));
    await vi.waitFor(() => expect(fake.watcherCount()).toBe(1));
    expect(fake.actions.filter((a) => a.verb === 'list')).toHaveLength(1);
  });

  it('relists on 410 and reports exactly what changed during the gap', async () => {
    const { fake, f } = setup();
    const pods = fake.resource<Pod>(R.pods, 'default');
    await pods.create(pod('keep'));
    await pods.create(pod('change'));
    await pods.create(pod('gone', { v: '1' }));
    const inf = f.informerFor<Pod>(R.pods);
    f.start();
    await f.waitForCacheSync();
    await vi.waitFor(() => expect(fake.watcherCount()).toBe(1));
    const r = recorder();
    // Handlers must see the relist fully applied.
    const seenSizes: number[] = [];
    inf.addEventHandler({ ...r.h, onDelete: (o) => (r.h.onDelete(o), seenSizes.push(inf.lister.list().length)) });
    r.log.length = 0;

    fake.closeWatches();
    // Changes the informer cannot see: the watch is down and then the history is gone.
    const c = await pods.get('change');
    await pods.update({ ...c, metadata: { ...c.metadata, labels: { v: '2' } } });
    await pods.delete('gone');
    await pods.create(pod('new'));
    fake.compact();

    await vi.waitFor(() => expect(fake.actions.filter((a) => a.verb === 'list')).toHaveLength(2));
    await vi.waitFor(() => expect(r.log.sort()).toEqual(['add new', 'delete gone', 'update change 2->4']));
    expect(seenSizes).toEqual([3]);
    expect(inf.lister.list().map((p) => p.metadata.name).sort()).toEqual(['change', 'keep', 'new']);
  });

  it('redelivers the cache on resync and survives a throwing handler', async () => {
    const { fake, f } = setup({ resyncMs: 20 });
    await fake.resource(R.pods, 'default').create(pod('a'));
    const inf = f.informerFor<Pod>(R.pods);
    const updates: string[] = [];
    inf.addEventHandler({ onAdd: () => { throw new Error('boom'); } });
    inf.addEventHandler({ onUpdate: (a, b) => { if (a === b) updates.push(b.metadata.name!); } });
    f.start();
    await f.waitForCacheSync();
    await vi.waitFor(() => expect(updates.length).toBeGreaterThanOrEqual(2));
  });

  it('waitForCacheSync honours an abort signal', async () => {
    const { fake, f } = setup();
    fake.prependReactor('list', 'pods', () => ({ handled: true, err: new Error('down') }));
    f.informerFor(R.pods);
    f.start();
    await expect(f.waitForCacheSync(AbortSignal.timeout(50))).rejects.toThrow();
  });
});

describe('SharedInformer initial list', () => {
  /** The fake ignores limit; this wraps it the way the API server pages: offset continue tokens, one resourceVersion. */
  function paging(fake: FakeClient, opts: { expireAfterPages?: number } = {}) {
    const calls: ListOptions[] = [];
    const client: Client = {
      // The fake's request takes no body or headers.
      request: (method, path) => fake.request(method, path),
      resource<T extends KubeObject>(res: ResourceRef, ns?: string): ResourceClient<T> {
        const inner = fake.resource<T>(res, ns);
        return {
          ...inner,
          list: async (o = {}) => {
            calls.push(o);
            const all = await inner.list({ ...o, limit: undefined, continue: undefined });
            if (!o.limit) return all;
            const from = o.continue ? Number(o.continue) : 0;
            if (opts.expireAfterPages !== undefined && from >= opts.expireAfterPages * o.limit) throw errors.expired('The provided continue parameter is too old');
            const to = from + o.limit;
            return { ...all, items: all.items.slice(from, to), metadata: { ...all.metadata, continue: to < all.items.length ? String(to) : undefined } };
          },
        };
      },
    };
    return { client, calls };
  }

  it('reads the collection in pages of 500 and delivers every object', async () => {
    const fake = new FakeClient();
    for (let i = 0; i < 1203; i++) await fake.resource<Pod>(R.pods, 'default').create(pod(`p${i}`));
    const { client, calls } = paging(fake);
    const f = new SharedInformerFactory(client, { backoffMs: [5, 20] });
    factories.push(f);
    const inf = f.informerFor<Pod>(R.pods, { fieldSelector: 'spec.nodeName=' });
    let added = 0;
    inf.addEventHandler({ onAdd: () => added++ });
    f.start();
    await f.waitForCacheSync();
    expect(added).toBe(1203);
    expect(inf.lister.list()).toHaveLength(1203);
    expect(calls.map((c) => [c.limit, c.continue, c.fieldSelector])).toEqual([
      [LIST_PAGE_SIZE, undefined, 'spec.nodeName='],
      [LIST_PAGE_SIZE, '500', 'spec.nodeName='],
      [LIST_PAGE_SIZE, '1000', 'spec.nodeName='],
    ]);
  });

  it('lists in full when a continue token expires midway', async () => {
    const fake = new FakeClient();
    for (let i = 0; i < 1100; i++) await fake.resource<Pod>(R.pods, 'default').create(pod(`p${i}`));
    const { client, calls } = paging(fake, { expireAfterPages: 1 });
    const f = new SharedInformerFactory(client, { backoffMs: [5, 20] });
    factories.push(f);
    const inf = f.informerFor<Pod>(R.pods);
    f.start();
    await f.waitForCacheSync();
    expect(inf.lister.list()).toHaveLength(1100);
    expect(calls.map((c) => [c.limit, c.continue])).toEqual([[LIST_PAGE_SIZE, undefined], [LIST_PAGE_SIZE, '500'], [undefined, undefined]]);
  });
});

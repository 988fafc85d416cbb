// EtcdStorage against a real etcd: the storage contract every implementation
// runs (test/storage/contract.ts: create/get, CAS updates, delete, lists at a
// revision and pages, watches, compaction), over node's http2 and over the
// API server's worker-thread transport; then what only etcd has: the shared
// watch cache, dedicated watches for old revisions, restarts and outages.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../api/types.js';
import { EtcdStorage } from '../../apiserver/storage/etcd.js';
import { StorageError, type StorageEvent, type WatchHandle } from '../../apiserver/storage/interface.js';
import { registry } from '../../lib/metrics.js';
import { startEtcd, type EtcdProcess } from '../util/etcd.js';
import { waitFor } from '../util/ports.js';
import { storageContract } from './contract.js';

let etcd: EtcdProcess;
let storage: EtcdStorage;

beforeAll(async () => {
  etcd = await startEtcd();
  storage = new EtcdStorage({ hosts: etcd.endpoint, requestTimeoutMs: 2000 });
});

afterAll(async () => {
  await storage?.close();
  await etcd?.stop();
});

function cm(name: string, data: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data } as KubeObject;
}

function dataOf(o: KubeObject): Record<string, string> {
  return (o as unknown as { data: Record<string, string> }).data;
}

async function storageError(p: Promise<unknown>): Promise<StorageError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(StorageError);
  return e as StorageError;
}

interface Recorder { events: StorageEvent[]; errors: Error[]; handle: WatchHandle }

function record(prefix: string, sinceRevision: number, recursive = true): Recorder {
  const r = { events: [], errors: [] } as unknown as Recorder;
  r.handle = storage.watch(prefix, { sinceRevision, recursive }, {
    onEvent: (e) => r.events.push(e),
    onError: (e) => r.errors.push(e),
  });
  return r;
}

describe('EtcdStorage CRUD', () => {
  it('does not store resourceVersion in the value', async () => {
    const obj = cm('rv');
    obj.metadata.resourceVersion = '999999';
    const created = await storage.create('/registry/configmaps/default/rv', obj);
    expect(created.metadata.resourceVersion).not.toBe('999999');
    expect((await storage.get('/registry/configmaps/default/rv')).metadata.resourceVersion).toBe(created.metadata.resourceVersion);
  });

});

describe('EtcdStorage updates from the values it wrote or read last (kube\'s cachedExistingObject)', () => {
  // Two servers on one etcd: `other` changes what `storage` remembers, so storage's next write starts stale.
  let other: EtcdStorage;
  beforeAll(() => {
    other = new EtcdStorage({ hosts: etcd.endpoint, requestTimeoutMs: 2000 });
  });
  afterAll(async () => {
    await other?.close();
  });

  /** etcd reads (Range calls made as gets) this process has made so far. */
  async function reads(): Promise<number> {
    const m = (await registry.getSingleMetric('etcd_request_duration_seconds')!.get()).values;
    return m.filter((v) => (v as { metricName?: string }).metricName === 'etcd_request_duration_seconds_count' && v.labels.operation === 'get').reduce((t, v) => t + v.value, 0);
  }

  it('an update right after a create or an update reads nothing from etcd', async () => {
    const key = '/registry/configmaps/default/recent-1';
    await storage.create(key, cm('recent-1', { a: '1' }));
    const before = await reads();
    const u1 = await storage.guaranteedUpdate(key, undefined, (o) => ({ ...o, data: { a: '2' } } as KubeObject));
    const u2 = await storage.guaranteedUpdate(key, undefined, (o) => ({ ...o, data: { ...dataOf(o), b: '3' } } as KubeObject));
    expect(await reads()).toBe(before);
    expect(dataOf(u2)).toEqual({ a: '2', b: '3' });
    expect(Number(u2.metadata.resourceVersion)).toBeGreaterThan(Number(u1.metadata.resourceVersion));
    expect(dataOf(await other.get(key))).toEqual({ a: '2', b: '3' });
  });

  it('a value another server changed since is caught by the compare: the update is made again on the current one, nothing lost', async () => {
    const key = '/registry/configmaps/default/recent-2';
    await storage.create(key, cm('recent-2', { a: '1' }));
    await other.guaranteedUpdate(key, undefined, (o) => ({ ...o, data: { ...dataOf(o), fromOther: 'yes' } } as KubeObject));
    const seen: Record<string, string>[] = [];
    const out = await storage.guaranteedUpdate(key, undefined, (o) => {
      seen.push(dataOf(o));
      return { ...o, data: { ...dataOf(o), fromStorage: 'yes' } } as KubeObject;
    });
    expect(seen).toEqual([{ a: '1' }, { a: '1', fromOther: 'yes' }]);
    expect(dataOf(out)).toEqual({ a: '1', fromOther: 'yes', fromStorage: 'yes' });
    expect(dataOf(await other.get(key))).toEqual({ a: '1', fromOther: 'yes', fromStorage: 'yes' });
  });

  it('a precondition, an error or "no change" decided on a stale value is decided again on the current one', async () => {
    const key = '/registry/configmaps/default/recent-3';
    await storage.create(key, cm('recent-3', { a: '1' }));
    const changed = await other.guaranteedUpdate(key, undefined, (o) => ({ ...o, data: { a: '2' } } as KubeObject));
    // The resourceVersion the client read from the other server holds, though the remembered value is older.
    const withRv = await storage.guaranteedUpdate(key, { resourceVersion: changed.metadata.resourceVersion }, (o) => ({ ...o, data: { ...dataOf(o), rv: 'ok' } } as KubeObject));
    expect(dataOf(withRv)).toEqual({ a: '2', rv: 'ok' });

    // An update the stale value refuses (as a strategy or an admission plugin would) is tried on the current one.
    await other.guaranteedUpdate(key, undefined, (o) => ({ ...o, data: { a: 'ready' } } as KubeObject));
    const decided = await storage.guaranteedUpdate(key, undefined, (o) => {
      if (dataOf(o).a !== 'ready') throw new StorageError('Conflict', key, 'not ready');
      return { ...o, data: { a: 'ready', done: 'yes' } } as KubeObject;
    });
    expect(dataOf(decided)).toEqual({ a: 'ready', done: 'yes' });

    // Setting what the stale value already had is a change of the current value, and is written.
    const stale = dataOf(await storage.get(key));
    await other.guaranteedUpdate(key, undefined, (o) => ({ ...o, data: { a: 'other' } } as KubeObject));
    const written = await storage.guaranteedUpdate(key, undefined, (o) => ({ ...o, data: stale } as KubeObject));
    expect(dataOf(written)).toEqual(stale);
    expect(dataOf(await other.get(key))).toEqual(stale);
  });

  it('a delete from a stale value deletes the current one, and a stale precondition is checked again', async () => {
    const key = '/registry/configmaps/default/recent-4';
    await storage.create(key, cm('recent-4', { a: '1' }));
    const changed = await other.guaranteedUpdate(key, undefined, (o) => ({ ...o, data: { a: '2' } } as KubeObject));
    const deleted = await storage.delete(key, { resourceVersion: changed.metadata.resourceVersion });
    expect(dataOf(deleted)).toEqual({ a: '2' });
    expect((await storageError(other.get(key))).code).toBe('KeyNotFound');
    // Deleted by another server: the remembered value is no excuse to update or delete it.
    await storage.create(key, cm('recent-4'));
    await other.delete(key);
    expect((await storageError(storage.guaranteedUpdate(key, undefined, (o) => o))).code).toBe('KeyNotFound');
    await storage.create(key, cm('recent-4'));
    await other.delete(key);
    expect((await storageError(storage.delete(key))).code).toBe('KeyNotFound');
  });
});

describe('EtcdStorage list', () => {
  const prefix = '/registry/secrets/list/';

  it('filters with the predicate before counting the limit', async () => {
    for (let i = 0; i < 7; i++) await storage.create(`${prefix}s${i}`, cm(`s${i}`, { i: String(i) }));
    const even = (o: KubeObject) => Number(o.metadata.name!.slice(1)) % 2 === 0;
    const page1 = await storage.list(prefix, { limit: 2, predicate: even });
    expect(page1.items.map((o) => o.metadata.name)).toEqual(['s0', 's2']);
    const page2 = await storage.list(prefix, { limit: 2, continue: page1.continue, predicate: even });
    expect(page2.items.map((o) => o.metadata.name)).toEqual(['s4', 's6']);
    expect(await storage.count(prefix)).toBe(7);
  });

  it('rejects a revision newer than the store', async () => {
    const now = await storage.currentRevision();
    expect((await storageError(storage.list(prefix, { revision: now + 1000 }))).code).toBe('InvalidResourceVersion');
  });
});

describe('EtcdStorage watch', () => {
  it('3 watchers share one etcd watch and see every change after R exactly once, in order', async () => {
    const prefix = '/registry/pods/';
    await storage.create(`${prefix}default/early`, cm('early'));
    const r = await storage.currentRevision();
    const baseline = storage.etcdWatchCount;
    const first = record(prefix, r);
    await storage.create(`${prefix}default/p0`, cm('p0'));
    await waitFor('first event', () => first.events.length === 1);
    const others = [record(prefix, r), record(`${prefix}default/`, r), record(`${prefix}default/p1`, r, false)];
    const watchers = [first, ...others];

    const writes: number[] = [];
    for (let i = 1; i <= 20; i++) writes.push(Number((await storage.create(`${prefix}default/p${i}`, cm(`p${i}`))).metadata.resourceVersion));
    const upd = await storage.guaranteedUpdate(`${prefix}default/p1`, undefined, (cur) => ({ ...cur, data: { x: 'y' } } as KubeObject));
    const del = await storage.delete(`${prefix}default/p1`);

    for (const w of watchers.slice(0, 3)) await waitFor('all events', () => w.events.length === 23);
    await waitFor('single-key events', () => others[2]!.events.length === 3);
    expect(storage.etcdWatchCount - baseline).toBe(1);
    for (const w of watchers.slice(0, 3)) {
      const revs = w.events.map((e) => e.revision);
      expect(revs).toEqual([...revs].sort((a, b) => a - b));
      expect(new Set(revs).size).toBe(revs.length);
      expect(revs[0]).toBeGreaterThan(r);
    }
    const single = others[2]!.events;
    expect(single.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect(single[1]!.revision).toBe(Number(upd.metadata.resourceVersion));
    expect(single[1]!.prevObject?.metadata.resourceVersion).toBe(String(writes[0]));
    expect(single[2]!.object.metadata.resourceVersion).toBe(del.metadata.resourceVersion);
    expect(single[2]!.prevObject?.metadata.resourceVersion).toBe(upd.metadata.resourceVersion);
    for (const w of watchers) w.handle.stop();
    await new Promise((res) => setTimeout(res, 200));
    for (const w of watchers) expect(w.errors).toEqual([]);
  });

  it('a revision older than the watch cache gets a dedicated etcd watch with full history', async () => {
    const prefix = '/registry/nodes/';
    const r = await storage.currentRevision();
    await storage.create(`${prefix}n1`, cm('n1'));
    const live = record(prefix, 0);
    await waitFor('initial', () => live.events.length === 1);
    const baseline = storage.etcdWatchCount;
    const old = record(prefix, r);
    await waitFor('replayed', () => old.events.length === 1);
    expect(old.events[0]!.object.metadata.name).toBe('n1');
    expect(storage.etcdWatchCount).toBe(baseline + 1);
    old.handle.stop();
    live.handle.stop();
    expect(storage.etcdWatchCount).toBe(baseline);
  });

  it('a watch from a revision another server wrote, not yet on the shared stream, gets only the events after it', async () => {
    // Another API server (or worker) hands out resourceVersions this storage's shared stream may not have delivered yet.
    const other = new EtcdStorage({ hosts: etcd.endpoint, requestTimeoutMs: 2000 });
    const prefix = '/registry/handedout/';
    const base = record(prefix, await storage.currentRevision());
    const watchers: { since: number; r: Recorder }[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const since = Number((await other.create(`${prefix}l${i}`, cm(`l${i}`))).metadata.resourceVersion);
        watchers.push({ since, r: record(prefix, since) });
      }
      await waitFor('shared stream caught up', () => base.events.length === 20);
      await waitFor('every watcher got its events', () => watchers.every(({ r }, i) => r.events.length >= 19 - i));
      await new Promise((r) => setTimeout(r, 200));
      watchers.forEach(({ since, r }, i) => {
        expect(r.events.map((e) => e.object.metadata.name)).toEqual(Array.from({ length: 19 - i }, (_, j) => `l${i + 1 + j}`));
        expect(r.events.every((e) => e.revision > since)).toBe(true);
        expect(r.errors).toEqual([]);
      });
    } finally {
      for (const { r } of watchers) r.handle.stop();
      base.handle.stop();
      await other.close();
    }
  });

  it('a watch from a revision etcd reaches within 3 s starts; one it does not reach fails with both revisions', async () => {
    const prefix = '/registry/future/';
    const now = await storage.currentRevision();
    const soon = record(prefix, now + 1);
    await new Promise((r) => setTimeout(r, 300));
    await storage.create(`${prefix}s1`, cm('s1'));
    const s2 = Number((await storage.create(`${prefix}s2`, cm('s2'))).metadata.resourceVersion);
    await waitFor('event after the awaited revision', () => soon.events.length === 1);
    expect(soon.events[0]!.revision).toBe(s2);
    expect(soon.errors).toEqual([]);
    soon.handle.stop();

    const started = Date.now();
    const never = record(prefix, s2 + 1000);
    await waitFor('too large', () => never.errors.length === 1, 10_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    const e = never.errors[0] as StorageError;
    expect(e).toBeInstanceOf(StorageError);
    expect(e.code).toBe('InvalidResourceVersion');
    expect(e.requestedRevision).toBe(s2 + 1000);
    expect(e.currentRevision).toBeGreaterThanOrEqual(s2);
    expect(never.events).toEqual([]);
  });

  it('resumes across an etcd restart without gaps or duplicates', async () => {
    const prefix = '/registry/endpoints/';
    const r = await storage.currentRevision();
    const w = record(prefix, r);
    await storage.create(`${prefix}e0`, cm('e0'));
    await waitFor('before restart', () => w.events.length === 1);
    await etcd.restart();
    const expected = [Number((await retry(() => storage.create(`${prefix}e1`, cm('e1')))).metadata.resourceVersion)];
    for (let i = 2; i <= 5; i++) expected.push(Number((await storage.create(`${prefix}e${i}`, cm(`e${i}`))).metadata.resourceVersion));
    await waitFor('after restart', () => w.events.length === 6, 20_000);
    expect(w.events.slice(1).map((e) => e.revision)).toEqual(expected);
    expect(w.errors).toEqual([]);
    w.handle.stop();
  });
});

describe('EtcdStorage compaction and outages', () => {
  it('a revision compacted in etcd is too old even while the shared watch buffer still holds it', async () => {
    const prefix = '/registry/secrets/';
    // Open the shared stream first, so the events below land in its buffer.
    const opener = record(prefix, await storage.currentRevision());
    const old = Number((await storage.create(`${prefix}s0`, cm('s0'))).metadata.resourceVersion);
    for (let i = 1; i <= 3; i++) await storage.guaranteedUpdate(`${prefix}s0`, undefined, (cur) => ({ ...cur, data: { v: String(i) } } as KubeObject));
    await waitFor('buffered', () => opener.events.length === 4);
    const latest = await storage.currentRevision();
    await storage.compact(latest);

    const w = record(prefix, old);
    await waitFor('watch error', () => w.errors.length === 1);
    expect(w.events).toEqual([]);
    expect((w.errors[0] as StorageError).code).toBe('ResourceVersionTooOld');
    expect(w.errors[0]!.message).toBe(`too old resource version: ${old} (${latest - 1})`);
    // One before the compaction revision is the oldest a watch may start from: it sees nothing older.
    const edge = record(prefix, latest - 1);
    await storage.create(`${prefix}s1`, cm('s1'));
    await waitFor('edge events', () => edge.events.length === 2);
    expect(edge.errors).toEqual([]);
    expect(edge.events.map((e) => e.revision)).toEqual([latest, latest + 1]);
    edge.handle.stop();
    opener.handle.stop();
  });

  it('fails fast with Unavailable while etcd is down and recovers after', async () => {
    await storage.create('/registry/configmaps/default/a', cm('a'));
    await etcd.proc.kill('SIGKILL');
    await new Promise((res) => etcd.proc.once('exit', res));
    const started = Date.now();
    expect((await storageError(storage.get('/registry/configmaps/default/a'))).code).toBe('Unavailable');
    expect(Date.now() - started).toBeLessThan(5000);
    await etcd.restart();
    const got = await retry(() => storage.get('/registry/configmaps/default/a'));
    expect(got.metadata.name).toBe('a');
  });
});

/** The first call after an etcd restart may land on a connection still being re-established. */
async function retry<T>(fn: () => Promise<T>): Promise<T> {
  return waitFor('etcd back', () => fn().catch((e: unknown) => {
    if (e instanceof StorageError && e.code === 'Unavailable') return undefined;
    throw e;
  }), 15_000, 100) as Promise<T>;
}

storageContract('EtcdStorage (http2 transport)', async () => {
  const s = new EtcdStorage({ hosts: etcd.endpoint, requestTimeoutMs: 2000 });
  return { storage: s, close: () => s.close() };
});

storageContract('EtcdStorage (worker-thread transport, as the API server runs it)', async () => {
  // The worker thread loads compiled JavaScript: `npx tsc -p tsconfig.json` first.
  const { ThreadTransport } = (await import(`${'../../dist/apiserver/storage'}/etcdthread.js`)) as typeof import('../../apiserver/storage/etcdthread.js');
  const s = new EtcdStorage({ hosts: etcd.endpoint, requestTimeoutMs: 2000, transport: (o) => new ThreadTransport(o) });
  return { storage: s, close: () => s.close() };
});

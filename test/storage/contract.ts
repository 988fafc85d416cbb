// The contract of apiserver/storage/interface.ts, as one set of cases every
// Storage implementation runs: MemoryStorage in the unit project
// (apiserver/storage/memory.test.ts), EtcdStorage over each of its transports
// against a real etcd in the integration project (test/storage/etcd.test.ts).
// Each case works under its own key prefix, so one storage serves them all.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../api/types.js';
import { StorageError, type Storage, type StorageEvent } from '../../apiserver/storage/interface.js';

export interface ContractTarget {
  storage: Storage;
  /** Stops what the target started (etcd, transports); called once, also after a failure. */
  close(): Promise<void>;
}

function cm(name: string, n = '0'): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { n } } as KubeObject;
}
const n = (o: KubeObject) => (o as unknown as { data: { n: string } }).data.n;
const set = (o: KubeObject, v: string) => ({ ...o, data: { n: v } }) as KubeObject;

async function code(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(StorageError);
  return (e as StorageError).code;
}

/** Waits (bounded) until a recorder has at least count events or an error. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

let seq = 0;
/** A key prefix no other case (or earlier run against the same etcd) uses. */
const fresh = () => `/contract/${process.pid}-${Date.now()}-${seq++}/`;

export function storageContract(name: string, open: () => Promise<ContractTarget>): void {
  describe(`Storage contract: ${name}`, () => {
    let target: ContractTarget | undefined;
    let s: Storage;
    beforeAll(async () => {
      target = await open();
      s = target.storage;
    });
    afterAll(async () => {
      await target?.close();
    });

    it('create stamps the revision, get reads it back, a second create is KeyExists, a missing key KeyNotFound', async () => {
      const p = fresh();
      const a = await s.create(`${p}a`, cm('a', '1'));
      expect(Number(a.metadata.resourceVersion)).toBeGreaterThan(0);
      expect(Number(a.metadata.resourceVersion)).toBeLessThanOrEqual(await s.currentRevision());
      const got = await s.get(`${p}a`);
      expect(got.metadata.resourceVersion).toBe(a.metadata.resourceVersion);
      expect(n(got)).toBe('1');
      expect(await code(s.create(`${p}a`, cm('a')))).toBe('KeyExists');
      expect(await code(s.get(`${p}missing`))).toBe('KeyNotFound');
    });

    it('guaranteedUpdate is a CAS on mod_revision: concurrent increments all land, a stale precondition is a Conflict and writes nothing', async () => {
      const key = `${fresh()}c`;
      const v1 = await s.create(key, cm('c'));
      await Promise.all(Array.from({ length: 20 }, () => s.guaranteedUpdate(key, undefined, async (cur) => {
        await new Promise((r) => setTimeout(r, 0));
        return set(cur, String(Number(n(cur)) + 1));
      })));
      const now = await s.get(key);
      expect(n(now)).toBe('20');
      expect(Number(now.metadata.resourceVersion)).toBeGreaterThan(Number(v1.metadata.resourceVersion));
      expect(await code(s.guaranteedUpdate(key, { resourceVersion: v1.metadata.resourceVersion }, (c) => set(c, 'x')))).toBe('Conflict');
      expect((await s.get(key)).metadata.resourceVersion).toBe(now.metadata.resourceVersion);
      // An unchanged object writes nothing.
      const same = await s.guaranteedUpdate(key, undefined, (c) => c);
      expect(same.metadata.resourceVersion).toBe(now.metadata.resourceVersion);
      expect(await code(s.guaranteedUpdate(`${key}-missing`, undefined, (c) => c))).toBe('KeyNotFound');
    });

    it('delete returns the object at the deletion revision, honours preconditions and validate, and then the key is gone', async () => {
      const p = fresh();
      const a = await s.create(`${p}a`, cm('a'));
      expect(await code(s.delete(`${p}a`, { uid: 'not-its-uid', resourceVersion: '1' }))).toBe('Conflict');
      await expect(s.delete(`${p}a`, undefined, () => { throw new Error('refused by validate'); })).rejects.toThrow('refused by validate');
      const del = await s.delete(`${p}a`, { resourceVersion: a.metadata.resourceVersion });
      expect(Number(del.metadata.resourceVersion)).toBeGreaterThan(Number(a.metadata.resourceVersion));
      expect(await code(s.get(`${p}a`))).toBe('KeyNotFound');
      expect(await code(s.delete(`${p}a`))).toBe('KeyNotFound');
    });

    it('list reads only its prefix, at the latest or a past revision, and paginates on one snapshot', async () => {
      const p = fresh();
      for (const x of ['a', 'b', 'c']) await s.create(`${p}cm/${x}`, cm(x));
      await s.create(`${p}cmx/other`, cm('other'));
      const before = await s.currentRevision();
      await s.guaranteedUpdate(`${p}cm/a`, undefined, (c) => set(c, '1'));
      await s.delete(`${p}cm/b`);
      expect((await s.list(`${p}cm/`)).items.map((o) => `${o.metadata.name}=${n(o)}`)).toEqual(['a=1', 'c=0']);
      const past = await s.list(`${p}cm/`, { revision: before });
      expect(past.items.map((o) => `${o.metadata.name}=${n(o)}`)).toEqual(['a=0', 'b=0', 'c=0']);
      const p1 = await s.list(`${p}cm/`, { limit: 2, revision: before });
      expect(p1.items.map((o) => o.metadata.name)).toEqual(['a', 'b']);
      expect(p1.continue).toBeTruthy();
      await s.create(`${p}cm/d`, cm('d'));
      const p2 = await s.list(`${p}cm/`, { limit: 2, continue: p1.continue });
      expect(p2.items.map((o) => o.metadata.name)).toEqual(['c']);
      expect(p2.continue).toBeUndefined();
      expect(await s.count(`${p}cm/`)).toBe(3);
    });

    it('watch from a revision delivers every later event once, in order, with prevObject; from 0 first the current state', async () => {
      const p = fresh();
      await s.create(`${p}a`, cm('a'));
      const r = await s.currentRevision();
      await s.guaranteedUpdate(`${p}a`, undefined, (c) => set(c, '1'));
      const fromR: StorageEvent[] = [];
      const fromZero: StorageEvent[] = [];
      const errors: Error[] = [];
      const h1 = s.watch(p, { sinceRevision: r, recursive: true }, { onEvent: (e) => fromR.push(e), onError: (e) => errors.push(e) });
      const h2 = s.watch(p, { sinceRevision: 0, recursive: true }, { onEvent: (e) => fromZero.push(e), onError: (e) => errors.push(e) });
      const single: StorageEvent[] = [];
      const h3 = s.watch(`${p}b`, { sinceRevision: 0, recursive: false }, { onEvent: (e) => single.push(e), onError: (e) => errors.push(e) });
      try {
        await until(() => fromZero.length >= 1, 'the initial ADDED');
        await s.create(`${p}b`, cm('b'));
        const del = await s.delete(`${p}a`);
        await until(() => fromR.length >= 3 && fromZero.length >= 3, 'three events each');
        expect(fromR.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['MODIFIED a', 'ADDED b', 'DELETED a']);
        expect(n(fromR[0]!.prevObject!)).toBe('0');
        expect(fromR.map((e) => e.revision)).toEqual([...fromR.map((e) => e.revision)].sort((x, y) => x - y));
        expect(fromR[2]!.object.metadata.resourceVersion).toBe(del.metadata.resourceVersion);
        expect(fromZero.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED a', 'ADDED b', 'DELETED a']);
        // A watch of one key sees that key only.
        await until(() => single.length >= 1, 'the single-key ADDED');
        expect(single.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED b']);
        expect(errors).toEqual([]);
      } finally {
        h1.stop();
        h2.stop();
        h3.stop();
      }
    });

    it('after compaction a read or watch from before it fails with ResourceVersionTooOld; the latest still reads', async () => {
      if (!s.compact) return;
      const p = fresh();
      await s.create(`${p}a`, cm('a'));
      const old = await s.currentRevision();
      await s.create(`${p}b`, cm('b'));
      await s.create(`${p}c`, cm('c'));
      await s.compact(await s.currentRevision());
      expect(await code(s.list(p, { revision: old }))).toBe('ResourceVersionTooOld');
      expect((await s.list(p)).items.map((o) => o.metadata.name)).toEqual(['a', 'b', 'c']);
      const errors: Error[] = [];
      const h = s.watch(p, { sinceRevision: old, recursive: true }, { onEvent: () => undefined, onError: (e) => errors.push(e) });
      try {
        await until(() => errors.length > 0, 'the watch to fail');
        expect((errors[0] as StorageError).code).toBe('ResourceVersionTooOld');
      } finally {
        h.stop();
      }
    });
  });
}

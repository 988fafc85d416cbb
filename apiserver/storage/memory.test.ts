import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../api/types.js';
import { StorageError, type StorageEvent } from './interface.js';
import { MemoryStorage } from './memory.js';

function cm(name: string, n = '0'): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { n } } as KubeObject;
}
const n = (o: KubeObject) => (o as unknown as { data: { n: string } }).data.n;

async function code(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(StorageError);
  return (e as StorageError).code;
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('MemoryStorage', () => {
  it('creates, gets, refuses duplicates and stamps revisions', async () => {
    const s = new MemoryStorage();
    const a = await s.create('/r/cm/a', cm('a'));
    expect(a.metadata.resourceVersion).toBe(String(await s.currentRevision()));
    expect(await code(s.create('/r/cm/a', cm('a')))).toBe('KeyExists');
    expect(await code(s.get('/r/cm/b'))).toBe('KeyNotFound');
  });

  it('50 concurrent increments end at 50; a stale precondition writes nothing', async () => {
    const s = new MemoryStorage();
    const v1 = await s.create('/r/cm/c', cm('c'));
    await Promise.all(Array.from({ length: 50 }, () => s.guaranteedUpdate('/r/cm/c', undefined, async (cur) => {
      await tick();
      return { ...cur, data: { n: String(Number(n(cur)) + 1) } } as KubeObject;
    })));
    const now = await s.get('/r/cm/c');
    expect(n(now)).toBe('50');
    expect(await code(s.guaranteedUpdate('/r/cm/c', { resourceVersion: v1.metadata.resourceVersion }, (c) => ({ ...c, data: { n: 'x' } } as KubeObject)))).toBe('Conflict');
    expect((await s.get('/r/cm/c')).metadata.resourceVersion).toBe(now.metadata.resourceVersion);
  });

  it('lists at past revisions, paginates on one snapshot and compacts', async () => {
    const s = new MemoryStorage();
    for (const name of ['a', 'b', 'c']) await s.create(`/r/cm/${name}`, cm(name));
    const before = await s.currentRevision();
    await s.guaranteedUpdate('/r/cm/a', undefined, (c) => ({ ...c, data: { n: '1' } } as KubeObject));
    await s.delete('/r/cm/b');
    const past = await s.list('/r/cm/', { revision: before });
    expect(past.items.map((o) => `${o.metadata.name}=${n(o)}`)).toEqual(['a=0', 'b=0', 'c=0']);
    const p1 = await s.list('/r/cm/', { limit: 2, revision: before });
    expect(p1.remainingItemCount).toBe(1);
    await s.create('/r/cm/d', cm('d'));
    const p2 = await s.list('/r/cm/', { limit: 2, continue: p1.continue });
    expect(p2.items.map((o) => o.metadata.name)).toEqual(['c']);
    expect(p2.continue).toBeUndefined();
    expect((await s.list('/r/cm/')).items.map((o) => o.metadata.name)).toEqual(['a', 'c', 'd']);
    await s.compact(await s.currentRevision());
    expect(await code(s.list('/r/cm/', { revision: before }))).toBe('ResourceVersionTooOld');
    expect((await s.list('/r/cm/')).items.map((o) => o.metadata.name)).toEqual(['a', 'c', 'd']);
  });

  it('watches from a revision exactly once in order, with prevObject, and from 0 with synthetic ADDED', async () => {
    const s = new MemoryStorage();
    await s.create('/r/cm/a', cm('a'));
    const r = await s.currentRevision();
    await s.guaranteedUpdate('/r/cm/a', undefined, (c) => ({ ...c, data: { n: '1' } } as KubeObject));
    const fromR: StorageEvent[] = [];
    const fromZero: StorageEvent[] = [];
    const single: StorageEvent[] = [];
    s.watch('/r/cm/', { sinceRevision: r, recursive: true }, { onEvent: (e) => fromR.push(e), onError: (e) => { throw e; } });
    s.watch('/r/cm/', { sinceRevision: 0, recursive: true }, { onEvent: (e) => fromZero.push(e), onError: (e) => { throw e; } });
    s.watch('/r/cm/b', { sinceRevision: 0, recursive: false }, { onEvent: (e) => single.push(e), onError: (e) => { throw e; } });
    await s.create('/r/cm/b', cm('b'));
    const del = await s.delete('/r/cm/a');
    await tick();
    expect(fromR.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['MODIFIED a', 'ADDED b', 'DELETED a']);
    expect(fromR[0]!.prevObject && n(fromR[0]!.prevObject)).toBe('0');
    expect(fromR[2]!.object.metadata.resourceVersion).toBe(del.metadata.resourceVersion);
    expect(fromZero.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED a', 'ADDED b', 'DELETED a']);
    expect(single.map((e) => e.type)).toEqual(['ADDED']);
  });

  it('a watch from a compacted revision ends with ResourceVersionTooOld', async () => {
    const s = new MemoryStorage();
    await s.create('/r/cm/a', cm('a'));
    const old = await s.currentRevision();
    await s.create('/r/cm/b', cm('b'));
    await s.create('/r/cm/c', cm('c'));
    await s.compact(await s.currentRevision());
    const errors: Error[] = [];
    s.watch('/r/cm/', { sinceRevision: old, recursive: true }, { onEvent: () => undefined, onError: (e) => errors.push(e) });
    await tick();
    expect((errors[0] as StorageError | undefined)?.code).toBe('ResourceVersionTooOld');
  });
});

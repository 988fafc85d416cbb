// The admission plugins' informer-like cache: after its first list it answers
// from memory (no storage read per request), follows writes through the
// storage watch, and reads live what it does not hold yet.

import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { MemoryStorage } from '../storage/memory.js';
import type { ListOptions } from '../storage/interface.js';
import { CachedLister } from './lister.js';
import { Store } from './store.js';

/** Counts the reads that reach storage. */
class CountingStorage extends MemoryStorage {
  reads = 0;
  override async list(prefix: string, opts?: ListOptions) {
    this.reads++;
    return super.list(prefix, opts);
  }
  override async get(key: string) {
    this.reads++;
    return super.get(key);
  }
}

const priorityClass = (name: string, value: number, globalDefault = false): KubeObject =>
  ({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value, globalDefault });

describe('CachedLister', () => {
  it('serves gets and lists from its cache once synced, follows the watch, and reads a miss live', async () => {
    const storage = new CountingStorage();
    const store = new Store(R.priorityclasses, storage, '/registry', async () => 'Active');
    await store.create(undefined, priorityClass('low', 10));
    const lister = new CachedLister(store);
    try {
      await expect.poll(async () => (await lister.list('')).map((o) => o.metadata.name)).toEqual(['low']);
      const reads = storage.reads;
      for (let i = 0; i < 20; i++) {
        expect((await lister.get(undefined, 'low'))?.value).toBe(10);
        expect(await lister.list('')).toHaveLength(1);
      }
      expect(storage.reads).toBe(reads);

      await store.create(undefined, priorityClass('high', 1000, true));
      await expect.poll(async () => (await lister.list('')).map((o) => o.metadata.name).sort()).toEqual(['high', 'low']);
      await store.delete(undefined, 'low', {});
      await expect.poll(async () => (await lister.list('')).map((o) => o.metadata.name)).toEqual(['high']);

      // Not (yet) in the cache: asked of storage, undefined when it is not there either.
      const before = storage.reads;
      expect(await lister.get(undefined, 'absent')).toBeUndefined();
      expect(storage.reads).toBe(before + 1);
    } finally {
      lister.stop();
    }
  });
});

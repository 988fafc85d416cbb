// The informer's indexed cache (client-go's cache.Indexer): objects by
// "namespace/name", plus the built-in indexes controllers query — namespace,
// pods' spec.nodeName, controller owner uid — and a label index so equality
// label selectors do not scan the whole cache.

import type { KubeObject } from '../api/types.js';
import { controllerOf, objectKey } from '../api/types.js';
import type { Lister } from './interfaces.js';
import { equalityRequirements, labelMatcher } from './selectors.js';

type IndexFn = (o: KubeObject) => string[];

const indexers: Record<string, IndexFn> = {
  namespace: (o) => (o.metadata.namespace ? [o.metadata.namespace] : []),
  nodeName: (o) => (typeof o.spec?.nodeName === 'string' && o.spec.nodeName ? [o.spec.nodeName] : []),
  owner: (o) => {
    const ref = controllerOf(o);
    return ref ? [ref.uid] : [];
  },
  label: (o) => Object.entries(o.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`),
};

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** The outcome of replacing the whole cache with a fresh list: what handlers must hear about. */
export interface ReplaceDiff<T> {
  added: T[];
  updated: [T, T][];
  deleted: T[];
}

export class IndexedStore<T extends KubeObject> implements Lister<T> {
  private items = new Map<string, T>();
  private indexes = new Map<string, Map<string, Set<string>>>(Object.keys(indexers).map((n) => [n, new Map()]));

  /** freeze: deep-freeze cached objects so a caller that mutates one fails loudly (dev and test). */
  constructor(private readonly freeze: boolean) {}

  /** Insert or replace; returns the previous object. */
  upsert(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    if (this.freeze) deepFreeze(obj);
    this.items.set(key, obj);
    for (const [name, fn] of Object.entries(indexers)) {
      const idx = this.indexes.get(name)!;
      for (const v of fn(obj)) {
        if (!idx.has(v)) idx.set(v, new Set());
        idx.get(v)!.add(key);
      }
    }
    return old;
  }

  remove(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return old;
  }

  /** Swap in a full list, returning the differences by resourceVersion. */
  replace(list: T[]): ReplaceDiff<T> {
    const diff: ReplaceDiff<T> = { added: [], updated: [], deleted: [] };
    const fresh = new Set<string>();
    for (const obj of list) {
      fresh.add(objectKey(obj));
      const old = this.upsert(obj);
      if (!old) diff.added.push(obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion || old.metadata.uid !== obj.metadata.uid) diff.updated.push([old, obj]);
    }
    for (const key of [...this.items.keys()]) {
      if (!fresh.has(key)) diff.deleted.push(this.remove(key)!);
    }
    return diff;
  }

  all(): T[] {
    return [...this.items.values()];
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(indexers)) {
      const idx = this.indexes.get(name)!;
      for (const v of fn(obj)) {
        const set = idx.get(v);
        set?.delete(key);
        if (set?.size === 0) idx.delete(v);
      }
    }
  }

  private keys(index: string, value: string): Set<string> {
    const idx = this.indexes.get(index);
    if (!idx) throw new Error(`no index "${index}"; indexes are ${[...this.indexes.keys()].join(', ')}`);
    return idx.get(value) ?? new Set();
  }

  // ---- Lister ----

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  byIndex(index: string, value: string): readonly T[] {
    return [...this.keys(index, value)].map((k) => this.items.get(k)!);
  }

  list(opts: { namespace?: string; labelSelector?: string } = {}): readonly T[] {
    const eq = equalityRequirements(opts.labelSelector);
    let candidates: Iterable<string> | undefined;
    const sets: Set<string>[] = [];
    if (opts.namespace) sets.push(this.keys('namespace', opts.namespace));
    if (eq?.length) for (const [k, v] of eq) sets.push(this.keys('label', `${k}=${v}`));
    if (sets.length) {
      // Walk the smallest candidate set and check the others.
      sets.sort((a, b) => a.size - b.size);
      candidates = [...sets[0]].filter((k) => sets.every((s) => s.has(k)));
    }
    const objs = candidates ? [...candidates].map((k) => this.items.get(k)!) : this.all();
    if (eq || !opts.labelSelector) return objs;
    const match = labelMatcher(opts.labelSelector);
    return objs.filter(match);
  }
}

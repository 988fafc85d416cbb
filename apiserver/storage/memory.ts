// Storage in process memory with etcd's semantics (one revision counter,
// multi-version keys, compaction), for fast unit tests and benchmarks that
// simulate large clusters without etcd.

import type { KubeObject } from '../../api/types.js';
import { checkPreconditions, decode, decodeContinue, encode, encodeContinue } from './codec.js';
import {
  StorageError, type ListOptions, type ListResult, type Preconditions, type Storage, type StorageEvent, type WatchCallbacks, type WatchHandle, type WatchOptions,
} from './interface.js';

interface Version { revision: number; createRevision: number; value?: string }

interface Watcher { prefix: string; recursive: boolean; cb: WatchCallbacks; stopped: boolean }

export class MemoryStorage implements Storage {
  private revision = 1;
  private compacted = 0;
  /** Every key's versions, oldest first; a version without value is a deletion. */
  private readonly versions = new Map<string, Version[]>();
  /** Recent events for watchers resuming from a past revision. */
  private history: StorageEvent[] = [];
  private readonly watchers = new Set<Watcher>();

  constructor(private readonly historySize = 10_000) {}

  async create(key: string, obj: KubeObject): Promise<KubeObject> {
    if (this.latest(key)?.value !== undefined) throw new StorageError('KeyExists', key);
    return this.write(key, encode(obj));
  }

  async get(key: string): Promise<KubeObject> {
    const v = this.latest(key);
    if (v?.value === undefined) throw new StorageError('KeyNotFound', key);
    return decode(v.value, v.revision);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    let revision = opts.revision || this.revision;
    let startKey = prefix;
    if (opts.continue) ({ revision, startKey } = decodeContinue(opts.continue, prefix));
    this.checkRevision(prefix, revision);
    const keys = [...this.versions.keys()].filter((k) => k.startsWith(prefix) && k >= startKey).sort();
    const items: KubeObject[] = [];
    let i = 0;
    for (; i < keys.length && (!opts.limit || items.length < opts.limit); i++) {
      const v = this.at(keys[i]!, revision);
      if (v?.value === undefined) continue;
      const obj = decode(v.value, v.revision);
      if (!opts.predicate || opts.predicate(obj)) items.push(obj);
    }
    const rest = keys.slice(i).filter((k) => this.at(k, revision)?.value !== undefined);
    const result: ListResult = { items, revision };
    if (rest.length > 0) {
      result.continue = encodeContinue(revision, keys[i - 1]! + '\0', prefix);
      if (!opts.predicate) result.remainingItemCount = rest.length;
    }
    return result;
  }

  async guaranteedUpdate(key: string, preconditions: Preconditions | undefined, tryUpdate: (current: KubeObject) => KubeObject | Promise<KubeObject>): Promise<KubeObject> {
    for (;;) {
      const current = await this.get(key);
      checkPreconditions(key, preconditions, current);
      const next = await tryUpdate(structuredClone(current));
      const latest = this.latest(key)!;
      // Another writer won while tryUpdate ran: retry on its result, as the CAS loop on etcd does.
      if (String(latest.revision) !== current.metadata.resourceVersion) continue;
      const value = encode(next);
      if (value === latest.value) return current;
      return this.write(key, value);
    }
  }

  async delete(key: string, preconditions?: Preconditions, validate?: (current: KubeObject) => void | Promise<void>): Promise<KubeObject> {
    for (;;) {
      const current = await this.get(key);
      checkPreconditions(key, preconditions, current);
      await validate?.(structuredClone(current));
      if (String(this.latest(key)?.revision) !== current.metadata.resourceVersion) continue;
      const deleted = this.write(key, undefined);
      return { ...current, metadata: { ...current.metadata, resourceVersion: deleted.metadata.resourceVersion } };
    }
  }

  watch(prefix: string, opts: WatchOptions, cb: WatchCallbacks): WatchHandle {
    const w: Watcher = { prefix, recursive: opts.recursive, cb, stopped: false };
    const since = opts.sinceRevision;
    // Deliver asynchronously, as a real store does, so callers can finish setting up first.
    queueMicrotask(() => {
      if (w.stopped) return;
      const oldest = this.history.length ? this.history[0]!.revision - 1 : this.revision;
      if (since > 0 && (since + 1 < this.compacted || since < oldest)) {
        w.stopped = true;
        cb.onError(new StorageError('ResourceVersionTooOld', prefix, `too old resource version: ${since} (${Math.max(this.compacted - 1, oldest)})`));
        return;
      }
      if (since === 0) {
        for (const key of [...this.versions.keys()].filter((k) => matches(w, k)).sort()) {
          const v = this.latest(key)!;
          if (v.value !== undefined) cb.onEvent({ type: 'ADDED', key, object: decode(v.value, v.revision), revision: v.revision });
        }
      } else {
        for (const e of this.history) if (e.revision > since && matches(w, e.key)) cb.onEvent(e);
      }
      this.watchers.add(w);
    });
    return { stop: () => { w.stopped = true; this.watchers.delete(w); } };
  }

  async currentRevision(): Promise<number> {
    return this.revision;
  }

  async count(prefix: string): Promise<number> {
    let n = 0;
    for (const [key, vs] of this.versions) if (key.startsWith(prefix) && vs[vs.length - 1]!.value !== undefined) n++;
    return n;
  }

  /** Forget versions before revision; reads and watches from before it fail with ResourceVersionTooOld. */
  async compact(revision: number): Promise<void> {
    this.compacted = Math.max(this.compacted, revision);
    for (const [key, vs] of this.versions) {
      const keep = vs.filter((v, i) => v.revision >= revision || vs[i + 1] === undefined || vs[i + 1]!.revision > revision);
      if (keep.length === 1 && keep[0]!.value === undefined && keep[0]!.revision <= revision) this.versions.delete(key);
      else this.versions.set(key, keep);
    }
    this.history = this.history.filter((e) => e.revision >= revision);
  }

  async close(): Promise<void> {
    for (const w of this.watchers) w.stopped = true;
    this.watchers.clear();
  }

  private write(key: string, value: string | undefined): KubeObject {
    const revision = ++this.revision;
    const vs = this.versions.get(key) ?? [];
    const prev = vs[vs.length - 1];
    const live = prev?.value !== undefined ? prev : undefined;
    vs.push({ revision, createRevision: live ? live.createRevision : revision, value });
    this.versions.set(key, vs);
    const prevObject = live ? decode(live.value!, live.revision) : undefined;
    const object = value !== undefined ? decode(value, revision) : { ...prevObject!, metadata: { ...prevObject!.metadata, resourceVersion: String(revision) } };
    const event: StorageEvent = { type: value === undefined ? 'DELETED' : live ? 'MODIFIED' : 'ADDED', key, object, revision };
    if (event.type !== 'ADDED') event.prevObject = prevObject;
    this.history.push(event);
    if (this.history.length > this.historySize) this.history.splice(0, this.history.length - this.historySize);
    for (const w of this.watchers) {
      if (matches(w, key)) queueMicrotask(() => { if (!w.stopped) w.cb.onEvent(event); });
    }
    return object;
  }

  private latest(key: string): Version | undefined {
    const vs = this.versions.get(key);
    return vs?.[vs.length - 1];
  }

  private at(key: string, revision: number): Version | undefined {
    const vs = this.versions.get(key) ?? [];
    for (let i = vs.length - 1; i >= 0; i--) if (vs[i]!.revision <= revision) return vs[i];
    return undefined;
  }

  private checkRevision(key: string, revision: number): void {
    if (revision < this.compacted) throw new StorageError('ResourceVersionTooOld', key, 'The resourceVersion for the provided list is too old.');
    if (revision > this.revision) throw new StorageError('InvalidResourceVersion', key, 'Too large resource version');
  }
}

function matches(w: Watcher, key: string): boolean {
  return w.recursive ? key.startsWith(w.prefix) : key === w.prefix;
}

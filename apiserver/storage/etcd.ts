// Storage on etcd v3, shaped like k8s.io/apiserver/pkg/storage/etcd3: values
// are JSON without resourceVersion (it is the kv's mod_revision), writes are
// compare-and-swap transactions, and watches fan out through one etcd watch
// per resource (cacher.ts).

import type { KubeObject } from '../../api/types.js';
import { counter, gauge, histogram } from '../../lib/metrics.js';
import { Cacher } from './cacher.js';
import { checkPreconditions, decode, decodeContinue, encode, encodeContinue, encodeCreate, prefixEnd, resourcePrefix, withRevision } from './codec.js';
import { EtcdCallError, EtcdKV, grpcCode, Http2Transport, type EtcdKVOptions, type KeyValue, type RangeRequest, type Transport } from './etcdkv.js';
import { openEtcdWatch, tooOld, watchableFrom, WatchSession, type EtcdWatch, type EtcdWatchSink } from './etcdwatch.js';
import {
  StorageError, type ListOptions, type ListResult, type Preconditions, type Storage, type WatchCallbacks, type WatchHandle, type WatchOptions,
} from './interface.js';

const requestLatency = histogram({
  name: 'etcd_request_duration_seconds',
  help: 'Etcd request latency in seconds for each operation and object type.',
  labelNames: ['operation', 'type'] as const,
  buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 5],
});
const requestErrors = counter({ name: 'etcd_request_errors_total', help: 'Etcd failed request counts for each operation and object type.', labelNames: ['operation', 'type'] as const });
const openWatches = gauge({ name: 'etcd_watches_open', help: 'Number of etcd watch streams the API server holds open.' });

/** Bounds a read-modify-write loop under heavy contention. */
const maxUpdateAttempts = 100;

export interface EtcdStorageOptions {
  hosts: string | string[];
  /** Deadline of each etcd call; an unreachable etcd fails calls with Unavailable after this. */
  requestTimeoutMs?: number;
  /** Events each resource's watch cache keeps for resuming watchers. */
  watchCacheSize?: number;
  /** What carries the unary calls (default: node's http2 on this thread; the API server uses a ThreadTransport). */
  transport?: (opts: EtcdKVOptions) => Transport;
  /** Bytes of values written or read lately that updates and deletes start from (default 8 MiB; 0 reads etcd first every time). */
  recentValuesBytes?: number;
}

interface Stored { object: KubeObject; modRevision: number; value: string }

/**
 * The values this server last wrote or read, by key, least recently used
 * first, within a byte budget. An update or delete starts from the one held
 * here instead of reading etcd first, as kube-apiserver's etcd3 store starts
 * from the watch cache's object (cachedExistingObject): the write's compare
 * on mod_revision catches a value another server changed since, and etcd's
 * answer to the failed compare is the current value to retry with. A pod's
 * status patches, a binding, a lease renewal and a controller's status
 * update each come right after a write of the same key, so each saves a read.
 */
class RecentValues {
  private readonly entries = new Map<string, { value: string; modRevision: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string): Stored | undefined {
    const e = this.entries.get(key);
    return e && { object: decode(e.value, e.modRevision), modRevision: e.modRevision, value: e.value };
  }

  set(key: string, value: string, modRevision: number): void {
    this.delete(key);
    if (value.length > this.maxBytes) return;
    this.entries.set(key, { value, modRevision });
    this.bytes += value.length;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= e.value.length;
    }
  }

  /** Remember what etcd said is there now: a value, or nothing. */
  observe(key: string, stored: Stored | undefined): void {
    if (stored) this.set(key, stored.value, stored.modRevision);
    else this.delete(key);
  }

  delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.bytes -= e.value.length;
  }
}

export class EtcdStorage implements Storage {
  /** The watch streams' own http2 session (the unary calls may run on another thread). */
  private readonly watchSession: WatchSession;
  /** Every unary read and write: the per-request path. */
  private readonly kv: EtcdKV;
  private readonly cachers = new Map<string, Cacher>();
  private readonly recent: RecentValues;
  private watchCount = 0;

  constructor(private readonly opts: EtcdStorageOptions) {
    const timeout = opts.requestTimeoutMs ?? 5000;
    const kvOpts = { hosts: typeof opts.hosts === 'string' ? [opts.hosts] : opts.hosts, timeoutMs: timeout };
    this.kv = new EtcdKV(opts.transport ? opts.transport(kvOpts) : new Http2Transport(kvOpts));
    this.watchSession = new WatchSession(kvOpts.hosts);
    this.recent = new RecentValues(opts.recentValuesBytes ?? 8 * 1024 * 1024);
  }

  /** etcd watch streams open right now (shared resource watches plus dedicated ones for old revisions). */
  get etcdWatchCount(): number {
    return this.watchCount;
  }

  async create(key: string, obj: KubeObject): Promise<KubeObject> {
    const k = Buffer.from(key);
    const encoded = encodeCreate(obj);
    const res = await this.call('create', key, () => this.kv.txn({
      compare: [{ key: k, target: 'create', revision: 0 }],
      success: [{ put: { key: k, value: Buffer.from(encoded.value) } }],
      failure: [],
    }));
    if (!res.succeeded) throw new StorageError('KeyExists', key);
    this.recent.set(key, encoded.value, res.revision);
    return encoded.created(res.revision);
  }

  async get(key: string): Promise<KubeObject> {
    const stored = await this.read(key);
    if (!stored) throw new StorageError('KeyNotFound', key);
    return stored.object;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    let revision = opts.revision ?? 0;
    let startKey = prefix;
    if (opts.continue) {
      ({ revision, startKey } = decodeContinue(opts.continue, prefix));
    }
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const items: KubeObject[] = [];
    const end = prefixEnd(prefix);
    let more = false;
    let lastKey = '';
    let remaining: number | undefined;
    // With a predicate a page may filter down to nothing, so read on in growing batches until the page is full.
    let batch = limit;
    for (;;) {
      const req: RangeRequest = { key: Buffer.from(startKey), rangeEnd: end, revision: revision || undefined, limit: batch || undefined };
      const res = await this.call('list', prefix, () => this.kv.range(req));
      revision ||= res.revision;
      let consumed = 0;
      for (const kv of res.kvs) {
        consumed++;
        lastKey = kv.key.toString();
        const object = decode(kv.value.toString(), kv.modRevision);
        if (opts.predicate && !opts.predicate(object)) continue;
        items.push(object);
        if (limit && items.length === limit) break;
      }
      more = consumed < res.kvs.length || res.more;
      if (!limit || items.length === limit || !res.more) {
        if (more && !opts.predicate) remaining = res.count - consumed;
        break;
      }
      startKey = lastKey + '\0';
      batch = Math.min(batch * 2, 10_000);
    }
    const result: ListResult = { items, revision };
    if (more) {
      result.continue = encodeContinue(revision, lastKey + '\0', prefix);
      if (remaining !== undefined) result.remainingItemCount = remaining;
    }
    return result;
  }

  async guaranteedUpdate(
    key: string,
    preconditions: Preconditions | undefined,
    tryUpdate: (current: KubeObject) => KubeObject | Promise<KubeObject>,
  ): Promise<KubeObject> {
    // A remembered value may be stale: whatever it decides (a failed precondition, an error, no change)
    // is decided again on the current value before it stands; only etcd's compare proves it current.
    let current = this.recent.get(key);
    let fresh = !current;
    if (fresh) current = await this.read(key);
    for (let attempt = 0; attempt < maxUpdateAttempts; attempt++) {
      if (!current) throw new StorageError('KeyNotFound', key);
      let next: KubeObject;
      try {
        checkPreconditions(key, preconditions, current.object);
        next = await tryUpdate(structuredClone(current.object));
      } catch (e) {
        if (fresh) throw e;
        [current, fresh] = [await this.read(key), true];
        continue;
      }
      const value = encode(next);
      if (value === current.value) {
        if (fresh) return current.object;
        [current, fresh] = [await this.read(key), true];
        continue;
      }
      const k = Buffer.from(key);
      const res = await this.call('update', key, () => this.kv.txn({
        compare: [{ key: k, target: 'mod', revision: current!.modRevision }],
        success: [{ put: { key: k, value: Buffer.from(value) } }],
        failure: [{ range: { key: k } }],
      }));
      if (res.succeeded) {
        this.recent.set(key, value, res.revision);
        return withRevision(next, res.revision);
      }
      current = this.remember(key, res.responses[0]?.range?.kvs[0]);
      fresh = true;
    }
    throw new StorageError('Conflict', key, `too many concurrent updates to ${key}`);
  }

  async delete(key: string, preconditions?: Preconditions, validate?: (current: KubeObject) => void | Promise<void>): Promise<KubeObject> {
    // As guaranteedUpdate: from the remembered value, decided again on the current one when it refuses.
    let current = this.recent.get(key);
    let fresh = !current;
    if (fresh) current = await this.read(key);
    for (let attempt = 0; attempt < maxUpdateAttempts; attempt++) {
      if (!current) throw new StorageError('KeyNotFound', key);
      try {
        checkPreconditions(key, preconditions, current.object);
        await validate?.(structuredClone(current.object));
      } catch (e) {
        if (fresh) throw e;
        [current, fresh] = [await this.read(key), true];
        continue;
      }
      const k = Buffer.from(key);
      const res = await this.call('delete', key, () => this.kv.txn({
        compare: [{ key: k, target: 'mod', revision: current!.modRevision }],
        success: [{ deleteRange: { key: k } }],
        failure: [{ range: { key: k } }],
      }));
      if (res.succeeded) {
        this.recent.delete(key);
        return withRevision(current.object, res.revision);
      }
      current = this.remember(key, res.responses[0]?.range?.kvs[0]);
      fresh = true;
    }
    throw new StorageError('Conflict', key, `too many concurrent updates to ${key}`);
  }

  watch(prefix: string, opts: WatchOptions, cb: WatchCallbacks): WatchHandle {
    const shared = resourcePrefix(prefix);
    let cacher = this.cachers.get(shared);
    if (!cacher) {
      cacher = new Cacher(shared, {
        openWatch: (p, recursive, from, sink) => this.openWatch(p, recursive, from, sink),
        currentRevision: () => this.currentRevision(),
        checkWatchable: async (since, p) => {
          const from = await watchableFrom(this.kv, since);
          if (from !== true) throw tooOld(p, since, from);
        },
        snapshot: (p, recursive) => this.snapshot(p, recursive),
      }, this.opts.watchCacheSize);
      this.cachers.set(shared, cacher);
    }
    return cacher.watch(prefix, opts, cb);
  }

  async currentRevision(): Promise<number> {
    const res = await this.call('get', 'revision', () => this.kv.range({ key: Buffer.from('/'), countOnly: true }));
    return res.revision;
  }

  async count(prefix: string): Promise<number> {
    const res = await this.call('count', prefix, () => this.kv.range({ key: Buffer.from(prefix), rangeEnd: prefixEnd(prefix), countOnly: true }));
    return res.count;
  }

  /** Drop history up to revision; later reads and watches from before it fail with ResourceVersionTooOld. */
  async compact(revision: number): Promise<void> {
    await this.call('compact', 'revision', () => this.kv.compact(revision, true));
  }

  async close(): Promise<void> {
    for (const cacher of this.cachers.values()) cacher.close();
    this.cachers.clear();
    this.kv.close();
    this.watchSession.close();
  }

  private openWatch(prefix: string, recursive: boolean, fromRevision: number, sink: EtcdWatchSink): EtcdWatch {
    this.watchCount++;
    openWatches.inc();
    return openEtcdWatch(this.watchSession, this.kv, prefix, recursive, fromRevision, sink, () => {
      this.watchCount--;
      openWatches.dec();
    });
  }

  private async snapshot(prefix: string, recursive: boolean): Promise<{ entries: { key: string; object: KubeObject }[]; revision: number }> {
    const req: RangeRequest = recursive ? { key: Buffer.from(prefix), rangeEnd: prefixEnd(prefix) } : { key: Buffer.from(prefix) };
    const res = await this.call('list', prefix, () => this.kv.range(req));
    return {
      entries: res.kvs.map((kv) => ({ key: kv.key.toString(), object: decode(kv.value.toString(), kv.modRevision) })),
      revision: res.revision,
    };
  }

  private async read(key: string): Promise<Stored | undefined> {
    const res = await this.call('get', key, () => this.kv.range({ key: Buffer.from(key) }));
    return this.remember(key, res.kvs[0]);
  }

  /** What etcd answered is there now (a value, or nothing), kept for the key's next update or delete. */
  private remember(key: string, kv: KeyValue | undefined): Stored | undefined {
    const stored = toStored(kv);
    this.recent.observe(key, stored);
    return stored;
  }

  /** Times the call and turns etcd's failures into StorageErrors the registry maps to Status codes. */
  private async call<T>(operation: string, key: string, fn: () => Promise<T>): Promise<T> {
    const type = resourcePrefix(key).split('/')[2] ?? '';
    const end = requestLatency.startTimer({ operation, type });
    try {
      return await fn();
    } catch (e) {
      requestErrors.inc({ operation, type });
      throw toStorageError(e as Error, key, writes.has(operation));
    } finally {
      end();
    }
  }
}

function toStored(kv: KeyValue | undefined): Stored | undefined {
  if (!kv) return undefined;
  const value = kv.value.toString();
  const modRevision = kv.modRevision;
  return { object: decode(value, modRevision), modRevision, value };
}

/** The operations that change etcd: a failure after sending leaves their outcome unknown. */
const writes = new Set(['create', 'update', 'delete']);

function toStorageError(e: Error, key: string, write: boolean): Error {
  if (e instanceof StorageError) return e;
  // Never report a write that may have been committed as one that did nothing: a client would retry a create
  // and find it exists, or believe a delete failed.
  if (write && e instanceof EtcdCallError && e.mayHaveApplied) return new StorageError('OutcomeUnknown', key, e.message);
  if (/required revision has been compacted/.test(e.message)) return new StorageError('ResourceVersionTooOld', key, 'The resourceVersion for the provided list is too old.');
  if (/required revision is a future revision/.test(e.message)) return new StorageError('InvalidResourceVersion', key, 'Too large resource version');
  if (e instanceof EtcdCallError && (e.code === grpcCode.unavailable || e.code === grpcCode.deadlineExceeded || e.code === grpcCode.cancelled)) {
    return new StorageError('Unavailable', key, `etcd unavailable: ${e.message}`);
  }
  if (/ECONNREFUSED|No connection established|deadline|unavailable/i.test(e.message)) {
    return new StorageError('Unavailable', key, `etcd unavailable: ${e.message}`);
  }
  return e;
}

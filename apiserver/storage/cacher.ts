// Watch fan-out: one etcd watch per resource prefix, shared by every watcher
// of that resource (as kube-apiserver's cacher), with a ring buffer of recent
// events so a watcher resuming from a recent revision is served from memory.
// Older revisions still inside etcd's history get a dedicated etcd watch.

import { logger } from '../../lib/log.js';
import type { EtcdWatch, EtcdWatchSink } from './etcdwatch.js';
import type { KubeObject } from '../../api/types.js';
import { StorageError, type StorageEvent, type WatchCallbacks, type WatchHandle, type WatchOptions } from './interface.js';

const log = logger('storage');

/** How long a watch from a revision newer than etcd's waits for it (kube's blockTimeout). */
const tooLargeWaitMs = 3000;

export interface CacherSource {
  openWatch(prefix: string, recursive: boolean, fromRevision: number, sink: EtcdWatchSink): EtcdWatch;
  currentRevision(): Promise<number>;
  /** Fails with ResourceVersionTooOld when etcd no longer holds the events after `since`. */
  checkWatchable(since: number, prefix: string): Promise<void>;
  /** The current state under a prefix (or of one key) with keys, for a watch from "now". */
  snapshot(prefix: string, recursive: boolean): Promise<{ entries: { key: string; object: KubeObject }[]; revision: number }>;
}

interface Subscriber {
  prefix: string;
  /** Only events after this revision: the shared stream may still be delivering older ones. */
  since: number;
  recursive: boolean;
  cb: WatchCallbacks;
  stopped: boolean;
  dedicated?: EtcdWatch;
}

export class Cacher {
  /** Events with revision > bufferStart are all in `events` (from index head on). */
  private events: StorageEvent[] = [];
  private head = 0;
  private bufferStart = 0;
  private readonly subscribers = new Set<Subscriber>();
  private stream?: EtcdWatch;
  private opening?: Promise<void>;
  /** A revision etcd is known to have reached (seen on the stream or asked for). */
  private reached = 0;

  constructor(private readonly prefix: string, private readonly source: CacherSource, private readonly capacity = 10_000) {}

  watch(prefix: string, opts: WatchOptions, cb: WatchCallbacks): WatchHandle {
    const sub: Subscriber = { prefix, since: opts.sinceRevision, recursive: opts.recursive, cb, stopped: false };
    void this.start(sub, opts.sinceRevision).catch((e: unknown) => this.end(sub, e as Error));
    return { stop: () => this.detach(sub) };
  }

  close(): void {
    for (const sub of [...this.subscribers]) this.end(sub, new StorageError('Unavailable', sub.prefix, 'storage closed'));
    this.reset();
  }

  private async start(sub: Subscriber, since: number): Promise<void> {
    // The buffer may still hold events etcd has compacted away; serving them would make a
    // watch succeed where a list at the same resourceVersion is 410, so etcd's history decides.
    if (since > 0) await this.source.checkWatchable(since, sub.prefix);
    if (sub.stopped) return;
    if (since > this.reached) await this.waitForRevision(since, sub.prefix);
    if (sub.stopped) return;
    await this.open(since);
    if (since === 0) {
      const snap = await this.source.snapshot(sub.prefix, sub.recursive);
      if (sub.stopped) return;
      for (const { key, object } of snap.entries) {
        this.deliver(sub, { type: 'ADDED', key, object, revision: Number(object.metadata.resourceVersion) });
      }
      since = snap.revision;
      sub.since = since;
    }
    if (sub.stopped) return;
    if (since >= this.bufferStart) {
      for (let i = this.firstAfter(since); i < this.events.length; i++) this.dispatch(sub, this.events[i]!);
      this.subscribers.add(sub);
      return;
    }
    sub.dedicated = this.source.openWatch(sub.prefix, sub.recursive, since + 1, {
      onEvents: (events) => { for (const e of events) this.dispatch(sub, e); },
      onProgress: (revision) => sub.cb.onProgress?.(revision),
      onError: (e) => this.end(sub, e),
    });
  }

  /**
   * A resourceVersion from another API server (or another worker) can be newer than
   * anything this cache has seen. As kube's cacher, wait up to 3 s for it to exist, then
   * fail with "Too large resource version"; once etcd has reached it, the shared stream
   * brings every event after it, so the watcher neither misses events nor sees older ones.
   */
  private async waitForRevision(since: number, prefix: string): Promise<void> {
    const deadline = Date.now() + tooLargeWaitMs;
    for (;;) {
      const current = await this.source.currentRevision();
      this.reached = Math.max(this.reached, current);
      if (since <= current) return;
      if (Date.now() >= deadline) {
        throw new StorageError('InvalidResourceVersion', prefix, `Too large resource version: ${since}, current: ${current}`, current, since);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * The first watcher decides where the shared stream starts: a watcher resuming from R
   * (typically right after its list) is served by a stream from R+1, not a dedicated one.
   */
  private open(since: number): Promise<void> {
    this.opening ??= (async () => {
      const revision = since > 0 ? since : await this.source.currentRevision();
      this.bufferStart = revision;
      this.stream = this.source.openWatch(this.prefix, true, revision + 1, {
        onEvents: (events) => this.append(events),
        onProgress: (r) => {
          this.reached = Math.max(this.reached, r);
          for (const sub of this.subscribers) sub.cb.onProgress?.(r);
        },
        onError: (e) => {
          // The shared stream is gone (compacted while etcd was away): every watcher must relist.
          for (const sub of [...this.subscribers]) this.end(sub, e);
          this.reset();
        },
      });
    })().catch((e: unknown) => {
      this.opening = undefined;
      throw e;
    });
    return this.opening;
  }

  private append(batch: StorageEvent[]): void {
    if (batch.length) this.reached = Math.max(this.reached, batch[batch.length - 1]!.revision);
    for (const e of batch) {
      this.events.push(e);
      for (const sub of this.subscribers) this.dispatch(sub, e);
    }
    const size = this.events.length - this.head;
    if (size > this.capacity) {
      this.head += size - this.capacity;
      this.bufferStart = this.events[this.head - 1]!.revision;
      if (this.head > this.capacity) {
        this.events = this.events.slice(this.head);
        this.head = 0;
      }
    }
  }

  /** Index of the first buffered event with revision > since. */
  private firstAfter(since: number): number {
    let lo = this.head;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid]!.revision <= since) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private dispatch(sub: Subscriber, e: StorageEvent): void {
    if (e.revision <= sub.since) return;
    if (sub.recursive ? e.key.startsWith(sub.prefix) : e.key === sub.prefix) this.deliver(sub, e);
  }

  private deliver(sub: Subscriber, e: StorageEvent): void {
    if (sub.stopped) return;
    try {
      sub.cb.onEvent(e);
    } catch (err) {
      log.error('watch callback failed', { prefix: sub.prefix, error: (err as Error).message });
    }
  }

  private detach(sub: Subscriber): void {
    sub.stopped = true;
    this.subscribers.delete(sub);
    sub.dedicated?.close();
  }

  private end(sub: Subscriber, e: Error): void {
    if (sub.stopped) return;
    this.detach(sub);
    sub.cb.onError(e);
  }

  private reset(): void {
    this.stream?.close();
    this.stream = undefined;
    this.opening = undefined;
    this.events = [];
    this.head = 0;
  }
}

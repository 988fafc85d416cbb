// core/v1 Events, recorded as client-go's record.EventRecorder does: callers
// fire and forget; a background sender creates the Event, and an identical
// event repeated later (same object, type, reason and message, as the
// EventCorrelator keys them) bumps count and lastTimestamp on the existing
// Event instead of creating another. The queue is bounded: under a flood,
// events are dropped rather than slowing the controller down.

import { format } from 'node:util';
import { isNotFound } from '../api/errors.js';
import { R } from '../api/resources.js';
import type { KubeObject } from '../api/types.js';
import { logger } from '../lib/log.js';
import type { Client } from './interfaces.js';

const log = logger('events');

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  component: string;
  host?: string;
  /** Pending events beyond this are dropped. */
  maxQueued?: number;
  /** Distinct events remembered for aggregation (client-go's LRU holds 4096). */
  cacheSize?: number;
  /** Per-object spam filter, as client-go's: a burst of 25 events, then one per 5 minutes. */
  spamBurst?: number;
  spamRefillMs?: number;
}

interface Pending { key: string; namespace: string; body: KubeObject }
interface Seen { name: string; count: number }
interface Bucket { tokens: number; at: number }

function timestamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Unix nanoseconds in hex, as client-go names events; the hrtime part keeps names from one millisecond apart. */
function uniqueSuffix(): string {
  return (BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n)).toString(16);
}

const DROP_LOG_INTERVAL_MS = 10_000;

export class EventRecorder {
  private queue: Pending[] = [];
  private seen = new Map<string, Seen>();
  private buckets = new Map<string, Bucket>();
  private sending?: Promise<void>;
  /** Dropped since the last log line about it. */
  private dropped = 0;
  private lastDropLog = -Infinity;
  private readonly maxQueued: number;
  private readonly cacheSize: number;

  constructor(private readonly client: Client, private readonly opts: EventRecorderOptions) {
    this.maxQueued = opts.maxQueued ?? 1000;
    this.cacheSize = opts.cacheSize ?? 4096;
  }

  /** Record an event about obj; the message is util.format'ed with args. Never throws, never waits. */
  event(obj: KubeObject, type: EventType, reason: string, messageFmt: string, ...args: unknown[]): void {
    if (this.queue.length >= this.maxQueued) {
      this.noteDropped(reason, obj);
      return;
    }
    const message = args.length ? format(messageFmt, ...args) : messageFmt;
    const involvedObject = {
      kind: obj.kind,
      apiVersion: obj.apiVersion,
      namespace: obj.metadata.namespace,
      name: obj.metadata.name,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
    };
    const namespace = obj.metadata.namespace || 'default';
    const now = timestamp();
    const source = { component: this.opts.component, host: this.opts.host };
    if (!this.allow(JSON.stringify([source, involvedObject.kind, involvedObject.namespace, involvedObject.name, involvedObject.uid, involvedObject.apiVersion]))) return;
    const key = JSON.stringify([source, involvedObject.kind, involvedObject.namespace, involvedObject.name, involvedObject.uid, involvedObject.apiVersion, type, reason, message]);
    const body: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${obj.metadata.name}.${uniqueSuffix()}`, namespace },
      involvedObject,
      reason,
      message,
      type,
      source,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: this.opts.component,
      reportingInstance: this.opts.host ?? '',
    };
    this.queue.push({ key, namespace, body });
    this.sending ??= this.drain().finally(() => (this.sending = undefined));
  }

  /**
   * A flood drops thousands of events; a log line each would cost more than the
   * events themselves, so say it once and then at most every 10 s with a count.
   */
  private noteDropped(reason: string, obj: KubeObject): void {
    this.dropped++;
    const now = Date.now();
    if (now - this.lastDropLog < DROP_LOG_INTERVAL_MS) return;
    log.warn('event queue full, dropping events', { reason, object: obj.metadata?.name, dropped: this.dropped });
    this.lastDropLog = now;
    this.dropped = 0;
  }

  /** Resolves when everything queued so far has been sent (tests, graceful shutdown). */
  async flush(): Promise<void> {
    while (this.sending) await this.sending;
  }

  private async drain(): Promise<void> {
    for (let p = this.queue.shift(); p; p = this.queue.shift()) {
      try {
        await this.send(p);
      } catch (e) {
        log.warn('could not write event', { reason: p.body.reason, object: p.body.involvedObject.name, error: (e as Error).message });
      }
    }
  }

  private async send(p: Pending): Promise<void> {
    const events = this.client.resource(R.events, p.namespace);
    const prior = this.seen.get(p.key);
    if (prior) {
      // The count is what this recorder has observed, as client-go's correlator cache keeps
      // it: a patch lost to a transient error does not lose the repeat it was counting.
      prior.count++;
      try {
        // client-go's recordToSink sends exactly this strategic merge patch.
        await events.patch(prior.name, 'strategic', { count: prior.count, lastTimestamp: p.body.lastTimestamp, message: p.body.message });
        return;
      } catch (e) {
        // The event expired or was deleted: start a new one, as client-go does.
        if (!isNotFound(e)) throw e;
        this.seen.delete(p.key);
      }
    }
    const created = await events.create(p.body);
    this.remember(p.key, { name: created.metadata.name!, count: 1 });
  }

  /** One token bucket per source and object, so a hot-looping controller cannot flood etcd with events. */
  private allow(key: string): boolean {
    const burst = this.opts.spamBurst ?? 25;
    const refillMs = this.opts.spamRefillMs ?? 300_000;
    const now = Date.now();
    const b = this.buckets.get(key) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + (now - b.at) / refillMs);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    if (!this.buckets.has(key) && this.buckets.size >= this.cacheSize) this.buckets.delete(this.buckets.keys().next().value!);
    this.buckets.set(key, b);
    return true;
  }

  private remember(key: string, s: Seen): void {
    // Map iteration order is insertion order: evict the oldest entry.
    if (this.seen.size >= this.cacheSize) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, s);
  }
}

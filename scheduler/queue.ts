// kube-scheduler's scheduling queue: an active heap (higher priority first,
// then earlier queue entry), a backoff queue (1 s doubling to 10 s per pod's
// attempts) and the unschedulable pods, which wait for a cluster event that
// could make them fit (MoveAllToActiveOrBackoffQueue) or for a periodic flush.

import { objectKey, type Pod } from '../api/types.js';
import { gauge } from '../lib/metrics.js';

export interface QueuedPodInfo {
  pod: Pod;
  key: string;
  /** When the pod last entered the active queue: orders equal priorities. */
  timestamp: number;
  /** When the pod first entered the queue, for end-to-end latency. */
  initialAttemptTimestamp: number;
  attempts: number;
  /** When the pod was last marked unschedulable. */
  unschedulableSince?: number;
}

export interface QueueOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Unschedulable pods older than this are retried even without an event. */
  maxUnschedulableMs?: number;
  now?: () => number;
}

const pendingPods = gauge({ name: 'scheduler_pending_pods', help: 'Number of pending pods, by the queue type.', labelNames: ['queue'] as const });

function priority(p: Pod): number {
  return p.spec.priority ?? 0;
}

function less(a: QueuedPodInfo, b: QueuedPodInfo): boolean {
  const pa = priority(a.pod);
  const pb = priority(b.pod);
  return pa !== pb ? pa > pb : a.timestamp < b.timestamp;
}

/** A binary heap keyed by pod key, so removal and update are O(log n). */
class Heap {
  private items: QueuedPodInfo[] = [];
  private index = new Map<string, number>();

  get size(): number {
    return this.items.length;
  }
  has(key: string): boolean {
    return this.index.has(key);
  }
  get(key: string): QueuedPodInfo | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : this.items[i];
  }
  push(p: QueuedPodInfo): void {
    this.items.push(p);
    this.index.set(p.key, this.items.length - 1);
    this.up(this.items.length - 1);
  }
  pop(): QueuedPodInfo | undefined {
    if (!this.items.length) return undefined;
    return this.removeAt(0);
  }
  remove(key: string): QueuedPodInfo | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : this.removeAt(i);
  }
  private removeAt(i: number): QueuedPodInfo {
    const out = this.items[i];
    const last = this.items.pop()!;
    this.index.delete(out.key);
    if (i < this.items.length) {
      this.items[i] = last;
      this.index.set(last.key, i);
      this.down(i);
      this.up(i);
    }
    return out;
  }
  private swap(i: number, j: number): void {
    [this.items[i], this.items[j]] = [this.items[j], this.items[i]];
    this.index.set(this.items[i].key, i);
    this.index.set(this.items[j].key, j);
  }
  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(this.items[i], this.items[parent])) return;
      this.swap(i, parent);
      i = parent;
    }
  }
  private down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.items.length && less(this.items[l], this.items[m])) m = l;
      if (r < this.items.length && less(this.items[r], this.items[m])) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}

/** Only changes the scheduler reads can turn an unschedulable pod schedulable; our own status writes cannot. */
function schedulingRelevantChange(a: Pod, b: Pod): boolean {
  return JSON.stringify([a.spec, a.metadata.labels]) !== JSON.stringify([b.spec, b.metadata.labels]);
}

export class SchedulingQueue {
  private readonly active = new Heap();
  private readonly backoff = new Map<string, QueuedPodInfo>();
  private readonly unschedulablePods = new Map<string, QueuedPodInfo>();
  /** Popped and being scheduled: updates land here until the attempt ends. */
  private readonly inFlight = new Map<string, QueuedPodInfo>();
  private waiters: ((p: QueuedPodInfo | undefined) => void)[] = [];
  private closed = false;
  private schedulingCycle = 0;
  /** The cycle of the last move request: a pod failing in an older cycle may have missed the event. */
  private moveRequestCycle = -1;
  private timers: NodeJS.Timeout[] = [];
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxUnschedulableMs: number;
  private readonly now: () => number;

  constructor(opts: QueueOptions = {}) {
    this.initialBackoffMs = opts.initialBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    // With the 30 s flush below, every unschedulable pod is retried within a minute.
    this.maxUnschedulableMs = opts.maxUnschedulableMs ?? 30_000;
    this.now = opts.now ?? Date.now;
  }

  /** The periodic flushes kube runs: backoff every second, unschedulable leftovers every 30 s. */
  run(): void {
    this.timers.push(setInterval(() => this.flushBackoffCompleted(), 1000));
    this.timers.push(setInterval(() => this.flushUnschedulableLeftover(), 30_000));
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  /** A new pending pod. */
  add(pod: Pod): void {
    const key = objectKey(pod);
    if (this.inFlight.has(key) || this.active.has(key) || this.backoff.has(key) || this.unschedulablePods.has(key)) {
      this.update(pod);
      return;
    }
    const now = this.now();
    this.pushActive({ pod, key, timestamp: now, initialAttemptTimestamp: now, attempts: 0 });
  }

  update(pod: Pod): void {
    const key = objectKey(pod);
    const flying = this.inFlight.get(key);
    if (flying) {
      flying.pod = pod;
      return;
    }
    const act = this.active.get(key);
    if (act) {
      act.pod = pod;
      return;
    }
    const bo = this.backoff.get(key);
    if (bo) {
      bo.pod = pod;
      return;
    }
    const un = this.unschedulablePods.get(key);
    if (un) {
      const changed = schedulingRelevantChange(un.pod, pod);
      un.pod = pod;
      if (changed) {
        this.unschedulablePods.delete(key);
        this.requeue(un);
      }
      return;
    }
    this.add(pod);
  }

  delete(pod: Pod): void {
    const key = objectKey(pod);
    this.active.remove(key);
    this.backoff.delete(key);
    this.unschedulablePods.delete(key);
    this.inFlight.delete(key);
    this.updateMetrics();
  }

  /** The next pod to schedule, waiting until there is one; undefined once closed. */
  pop(): Promise<QueuedPodInfo | undefined> {
    const p = this.active.pop();
    if (p) return Promise.resolve(this.take(p));
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private take(p: QueuedPodInfo): QueuedPodInfo {
    p.attempts++;
    this.schedulingCycle++;
    this.inFlight.set(p.key, p);
    this.updateMetrics();
    return p;
  }

  /** The scheduling cycle of the pod most recently popped. */
  cycle(): number {
    return this.schedulingCycle;
  }

  /** The attempt succeeded (the pod is assumed): the queue lets go of it. */
  done(key: string): void {
    this.inFlight.delete(key);
  }

  /**
   * The attempt failed. Unschedulable pods wait for a cluster event, unless one
   * happened during their attempt; errors always go through backoff.
   */
  addUnschedulable(info: QueuedPodInfo, podCycle: number, error = false): void {
    if (!this.inFlight.delete(info.key)) return; // deleted meanwhile
    // Backoff counts from the failed attempt, as kube stamps the pod on requeue.
    info.timestamp = this.now();
    if (error || this.moveRequestCycle >= podCycle) {
      this.backoff.set(info.key, info);
    } else {
      info.unschedulableSince = this.now();
      this.unschedulablePods.set(info.key, info);
    }
    this.updateMetrics();
  }

  backoffDurationMs(info: QueuedPodInfo): number {
    let d = this.initialBackoffMs;
    for (let i = 1; i < info.attempts && d < this.maxBackoffMs; i++) d *= 2;
    return Math.min(d, this.maxBackoffMs);
  }

  private backoffExpired(info: QueuedPodInfo): boolean {
    return this.now() >= info.timestamp + this.backoffDurationMs(info);
  }

  private requeue(info: QueuedPodInfo): void {
    if (info.attempts > 0 && !this.backoffExpired(info)) this.backoff.set(info.key, info);
    else this.pushActive(info);
  }

  private pushActive(info: QueuedPodInfo): void {
    info.timestamp = this.now();
    const w = this.waiters.shift();
    if (w) {
      w(this.take(info));
      return;
    }
    this.active.push(info);
    this.updateMetrics();
  }

  /** A cluster event (node added or changed, pod deleted) may let unschedulable pods fit. */
  moveAllToActiveOrBackoffQueue(_event: string): void {
    for (const info of this.unschedulablePods.values()) this.requeue(info);
    this.unschedulablePods.clear();
    this.moveRequestCycle = this.schedulingCycle;
    this.updateMetrics();
  }

  /** As moveAllToActiveOrBackoffQueue, for the unschedulable pods the event may help (kube's queueing hints, coarsely). */
  moveToActiveOrBackoffQueueIf(_event: string, mayHelp: (pod: Pod) => boolean): void {
    let moved = false;
    for (const [key, info] of this.unschedulablePods) {
      if (!mayHelp(info.pod)) continue;
      this.unschedulablePods.delete(key);
      this.requeue(info);
      moved = true;
    }
    if (!moved) return;
    this.moveRequestCycle = this.schedulingCycle;
    this.updateMetrics();
  }

  flushBackoffCompleted(): void {
    for (const [key, info] of this.backoff) {
      if (!this.backoffExpired(info)) continue;
      this.backoff.delete(key);
      this.pushActive(info);
    }
    this.updateMetrics();
  }

  flushUnschedulableLeftover(): void {
    const now = this.now();
    for (const [key, info] of this.unschedulablePods) {
      if (now - (info.unschedulableSince ?? 0) < this.maxUnschedulableMs) continue;
      this.unschedulablePods.delete(key);
      this.requeue(info);
    }
    this.updateMetrics();
  }

  pending(): { active: number; backoff: number; unschedulable: number } {
    return { active: this.active.size, backoff: this.backoff.size, unschedulable: this.unschedulablePods.size };
  }

  private updateMetrics(): void {
    pendingPods.set({ queue: 'active' }, this.active.size);
    pendingPods.set({ queue: 'backoff' }, this.backoff.size);
    pendingPods.set({ queue: 'unschedulable' }, this.unschedulablePods.size);
  }
}

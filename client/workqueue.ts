// client-go's rate-limiting work queue (k8s.io/client-go/util/workqueue) for
// string keys. The guarantees controllers rely on: a key sits in the queue at
// most once however often it is added; a key is never handed to two workers at
// once (a key added while it is processed is parked in `dirty` and re-queued
// by done()); retries back off per key, capped by an overall token bucket.

import type { Logger } from '../lib/log.js';
import { counter, gauge } from '../lib/metrics.js';
import type { WorkQueue } from './interfaces.js';

export interface RateLimiter {
  /** How long to wait before the key may be retried. */
  when(key: string): number;
  forget(key: string): void;
  numRequeues(key: string): number;
}

/** ItemExponentialFailureRateLimiter: base * 2^failures, capped. */
export class ExponentialFailureRateLimiter implements RateLimiter {
  private failures = new Map<string, number>();
  constructor(private baseMs = 5, private maxMs = 1000_000) {}
  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // 2^n overflows to Infinity well before it matters; the cap handles it.
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }
  forget(key: string): void {
    this.failures.delete(key);
  }
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/** BucketRateLimiter: an overall token bucket, so a burst of failing keys cannot hot-loop. */
export class TokenBucketRateLimiter implements RateLimiter {
  private tokens: number;
  private last: number;
  constructor(private qps = 10, private burst = 100, private now: () => number = Date.now) {
    this.tokens = burst;
    this.last = now();
  }
  when(): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.qps);
    this.last = t;
    // Reserve a token even if it is in the future, as rate.Limiter.Reserve does.
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }
  forget(): void {}
  numRequeues(): number {
    return 0;
  }
}

/** MaxOfRateLimiter: the longest wait of all limiters. */
export class MaxOfRateLimiter implements RateLimiter {
  private limiters: RateLimiter[];
  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }
  when(key: string): number {
    return Math.max(...this.limiters.map((l) => l.when(key)));
  }
  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }
  numRequeues(key: string): number {
    return Math.max(...this.limiters.map((l) => l.numRequeues(key)));
  }
}

/** DefaultControllerRateLimiter. */
export function defaultControllerRateLimiter(): RateLimiter {
  return new MaxOfRateLimiter(new ExponentialFailureRateLimiter(5, 1000_000), new TokenBucketRateLimiter(10, 100));
}

export interface QueueOptions {
  /** Names the workqueue_* metrics series, as client-go's named queues do. */
  name?: string;
  rateLimiter?: RateLimiter;
}

const depthGauge = gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name'] as const });
const addsCounter = counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames: ['name'] as const });
const retriesCounter = counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue', labelNames: ['name'] as const });

class RateLimitingQueue implements WorkQueue {
  private queue: string[] = [];
  /** Keys that need processing: queued, or added again while processing. */
  private dirty = new Set<string>();
  private processing = new Set<string>();
  private waiters: ((key: string | undefined) => void)[] = [];
  private timers = new Map<ReturnType<typeof setTimeout>, string>();
  private shutdown = false;
  private drained: (() => void)[] = [];
  private readonly name: string;
  private readonly limiter: RateLimiter;

  constructor(opts: QueueOptions) {
    this.name = opts.name ?? '';
    this.limiter = opts.rateLimiter ?? defaultControllerRateLimiter();
  }

  add(key: string): void {
    if (this.shutdown || this.dirty.has(key)) return;
    addsCounter.inc({ name: this.name });
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
    depthGauge.set({ name: this.name }, this.queue.length);
  }

  addAfter(key: string, delayMs: number): void {
    if (this.shutdown) return;
    if (delayMs <= 0) return this.add(key);
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.add(key);
    }, delayMs);
    this.timers.set(t, key);
  }

  addRateLimited(key: string): void {
    retriesCounter.inc({ name: this.name });
    this.addAfter(key, this.limiter.when(key));
  }

  forget(key: string): void {
    this.limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.limiter.numRequeues(key);
  }

  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      depthGauge.set({ name: this.name }, this.queue.length);
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shutdown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      // Re-added while a worker held it: now it may be handed out again.
      this.dirty.delete(key);
      this.add(key);
    }
    if (this.processing.size === 0) for (const d of this.drained.splice(0)) d();
  }

  len(): number {
    return this.queue.length;
  }

  shutDown(): void {
    if (this.shutdown) return;
    this.shutdown = true;
    for (const t of this.timers.keys()) clearTimeout(t);
    this.timers.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  shuttingDown(): boolean {
    return this.shutdown;
  }
}

export function newRateLimitingQueue(opts: QueueOptions = {}): WorkQueue {
  return new RateLimitingQueue(opts);
}

/**
 * The sample-controller worker loop: n workers pull keys until the queue shuts
 * down; a failed key is retried with backoff, a successful one forgotten.
 * Resolves when every worker has exited.
 */
export async function runWorkers(queue: WorkQueue, n: number, reconcile: (key: string) => Promise<void>, log: Logger): Promise<void> {
  const worker = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await reconcile(key);
        queue.forget(key);
      } catch (err) {
        log.warn('reconcile failed, requeuing', { key, requeues: queue.numRequeues(key), error: (err as Error).message });
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
}

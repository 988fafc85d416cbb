import { describe, expect, it, vi, afterEach } from 'vitest';
import { ExponentialFailureRateLimiter, TokenBucketRateLimiter, defaultControllerRateLimiter, newRateLimitingQueue, runWorkers } from './workqueue.js';
import { logger } from '../lib/log.js';

afterEach(() => vi.useRealTimers());

describe('work queue', () => {
  it('dedups keys that are queued', async () => {
    const q = newRateLimitingQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.len()).toBe(0);
  });

  it('never hands a key being processed to a second worker, and re-queues it on done', async () => {
    const q = newRateLimitingQueue();
    q.add('a');
    const k = await q.get();
    q.add('a');
    expect(q.len()).toBe(0);
    let second: string | undefined;
    void q.get().then((x) => (second = x));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done(k!);
    await Promise.resolve();
    expect(second).toBe('a');
  });

  it('wakes a waiting get on add', async () => {
    const q = newRateLimitingQueue();
    const p = q.get();
    q.add('x');
    expect(await p).toBe('x');
  });

  it('addAfter delivers the key after the delay', async () => {
    vi.useFakeTimers();
    const q = newRateLimitingQueue();
    q.addAfter('a', 100);
    expect(q.len()).toBe(0);
    vi.advanceTimersByTime(99);
    expect(q.len()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.len()).toBe(1);
  });

  it('addRateLimited backs off exponentially per key and forget resets it', () => {
    vi.useFakeTimers();
    const q = newRateLimitingQueue();
    q.addRateLimited('a'); // 5 ms
    q.addRateLimited('a'); // 10 ms
    expect(q.numRequeues('a')).toBe(2);
    vi.advanceTimersByTime(5);
    expect(q.len()).toBe(1);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
  });

  it('shutDown releases waiting workers; queued keys still drain first', async () => {
    const q = newRateLimitingQueue();
    q.add('a');
    q.shutDown();
    q.add('b');
    expect(q.shuttingDown()).toBe(true);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBeUndefined();
  });

  it('shutDownWithDrain waits for keys being processed', async () => {
    const q = newRateLimitingQueue();
    q.add('a');
    const k = await q.get();
    let drained = false;
    const p = q.shutDownWithDrain().then(() => (drained = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(drained).toBe(false);
    q.done(k!);
    await p;
    expect(drained).toBe(true);
  });
});

describe('rate limiters', () => {
  it('exponential: 5 ms doubling, capped at 1000 s', () => {
    const l = new ExponentialFailureRateLimiter();
    expect([l.when('k'), l.when('k'), l.when('k')]).toEqual([5, 10, 20]);
    for (let i = 0; i < 40; i++) l.when('k');
    expect(l.when('k')).toBe(1000_000);
    expect(l.when('other')).toBe(5);
  });

  it('token bucket: burst of 100 free, then 10 per second', () => {
    let now = 0;
    const b = new TokenBucketRateLimiter(10, 100, () => now);
    for (let i = 0; i < 100; i++) expect(b.when()).toBe(0);
    expect(b.when()).toBeCloseTo(100);
    expect(b.when()).toBeCloseTo(200);
    now = 10_000;
    expect(b.when()).toBe(0);
  });

  it('default limiter takes the max of both', () => {
    const l = defaultControllerRateLimiter();
    for (let i = 0; i < 99; i++) l.when(`k${i}`);
    expect(l.when('z')).toBe(5);
    expect(l.when('y')).toBeGreaterThan(50); // bucket exhausted: ~100 ms
  });
});

describe('runWorkers', () => {
  it('retries failures with backoff, forgets on success, exits on shutdown', async () => {
    const q = newRateLimitingQueue();
    const seen: string[] = [];
    let failures = 2;
    const run = runWorkers(q, 2, async (key) => {
      seen.push(key);
      if (key === 'bad' && failures-- > 0) throw new Error('boom');
    }, logger('test'));
    q.add('good');
    q.add('bad');
    await vi.waitFor(() => expect(seen.filter((k) => k === 'bad')).toHaveLength(3));
    expect(q.numRequeues('bad')).toBe(0);
    q.shutDown();
    await run;
    expect(seen.filter((k) => k === 'good')).toHaveLength(1);
  });
});

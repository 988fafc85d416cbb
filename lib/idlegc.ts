// Gives a quiet process's young generation back to the machine. V8 grows its
// young generation (the semi-spaces of new space) while scavenges promote a
// lot, up to --max-semi-space-size, and shrinks it only at the end of a
// collection that finds the allocation rate low. A process that has gone
// quiet allocates too little to fill its young generation, so no collection
// ever runs and the space stays at the largest size it reached: start-up
// alone (kinds, schemas, caches filled from the first lists, all surviving)
// takes the API server's to its 64 MiB cap, which it then keeps idle for
// hours (bench:idle: 48 MiB of its 83 MiB of anonymous memory). V8's memory
// reducer would do this, but it starts only after a full collection, which a
// quiet process never runs either.
//
// So every `intervalMs`, a process whose event loop was busy less than
// `maxUtilization` of that time and whose young generation holds more than
// `minYoungBytes` runs one full collection: at that allocation rate V8 then
// shrinks the young generation to its minimum (1 MiB) and releases the old
// generation's free pages. It never runs under load (the event loop is busy),
// so the hot paths keep the young generation they grew; the price is one full
// collection (a few ms to a few tens of ms for the API server's heap) in a
// minute when the process had nothing to do. A later burst grows the young
// generation again, as at start-up, and a later quiet spell gives it back.

import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';

export interface IdleGcOptions {
  intervalMs?: number;
  /** The event loop's busy fraction over the interval below which the process counts as quiet. */
  maxUtilization?: number;
  /** A young generation at most this big (resident) is left alone. */
  minYoungBytes?: number;
}

/** The resident size of V8's young generation (new space and its large objects). */
export function youngGenerationBytes(): number {
  let n = 0;
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space' || s.space_name === 'new_large_object_space') n += s.physical_space_size;
  return n;
}

let gcFn: (() => void) | undefined;

/**
 * V8's gc(), exposed at run time: --expose-gc installs it in contexts made afterwards, so the
 * function comes from a fresh context (the same isolate's collector). Callers need no node flag.
 */
export function fullGc(): void {
  if (!gcFn) {
    gcFn = (globalThis as { gc?: () => void }).gc;
    if (!gcFn) {
      v8.setFlagsFromString('--expose-gc');
      gcFn = vm.runInNewContext('gc') as () => void;
    }
  }
  gcFn();
}

/** Start the periodic check; returns its stop. The timer never keeps the process alive. */
export function reclaimWhenIdle(o: IdleGcOptions = {}): () => void {
  const intervalMs = o.intervalMs ?? 30_000;
  const maxUtilization = o.maxUtilization ?? 0.05;
  const minYoungBytes = o.minYoungBytes ?? 4 * 1024 * 1024;
  let last = performance.eventLoopUtilization();
  // A collection that left the young generation big (V8 judged the allocation rate not low) is not
  // repeated every interval: each one in vain doubles the wait, up to 32 intervals.
  let skip = 0;
  let backoff = 1;
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    if (skip > 0) { skip--; return; }
    if (busy >= maxUtilization || youngGenerationBytes() <= minYoungBytes) return;
    fullGc();
    if (youngGenerationBytes() > minYoungBytes) {
      skip = backoff;
      backoff = Math.min(backoff * 2, 32);
    } else backoff = 1;
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

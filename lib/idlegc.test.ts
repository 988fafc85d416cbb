import { afterEach, describe, expect, it } from 'vitest';
import { reclaimWhenIdle, youngGenerationBytes } from './idlegc.js';

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let stop: (() => void) | undefined;
afterEach(() => stop?.());

/** Grow the young generation as start-up does: many scavenges that each promote a lot. */
function grow(): unknown[] {
  const keep: unknown[] = [];
  for (let i = 0; i < 600_000; i++) keep.push({ i, s: `x${i}`, a: [i] });
  return keep;
}

describe('reclaimWhenIdle', () => {
  it('gives a quiet process its young generation back', async () => {
    const kept = grow();
    expect(youngGenerationBytes()).toBeGreaterThan(8 * MiB);
    // V8 shrinks the young generation only when the allocation rate since the last collections is
    // low, which takes some seconds of quiet after a burst (the processes check every 30 s).
    await sleep(9000);
    expect(youngGenerationBytes()).toBeGreaterThan(8 * MiB);
    stop = reclaimWhenIdle({ intervalMs: 200, maxUtilization: 0.5, minYoungBytes: 4 * MiB });
    for (let i = 0; i < 40 && youngGenerationBytes() > 4 * MiB; i++) await sleep(200);
    expect(youngGenerationBytes()).toBeLessThanOrEqual(4 * MiB);
    expect(kept.length).toBe(600_000);
  }, 30_000);

  it('leaves a busy process alone', async () => {
    const kept = grow();
    const before = youngGenerationBytes();
    expect(before).toBeGreaterThan(8 * MiB);
    // No utilization is below 0: the process never counts as quiet.
    stop = reclaimWhenIdle({ intervalMs: 50, maxUtilization: 0, minYoungBytes: 4 * MiB });
    await sleep(500);
    expect(youngGenerationBytes()).toBeGreaterThan(8 * MiB);
    expect(kept.length).toBe(600_000);
  });
});

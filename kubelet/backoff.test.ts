import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('starts at 10 s, doubles to 5 minutes, counts from the event', () => {
    let now = 1_000_000;
    const b = new Backoff(10_000, 300_000, () => now);
    expect(b.isInBackOffSince('k', now)).toBe(false);
    b.next('k', now);
    expect(b.get('k')).toBe(10_000);
    expect(b.isInBackOffSince('k', now)).toBe(true);
    now += 9_999;
    expect(b.isInBackOffSince('k', now - 9_999)).toBe(true);
    now += 2;
    expect(b.isInBackOffSince('k', now - 10_001)).toBe(false);
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      b.next('k', now);
      delays.push(b.get('k'));
    }
    expect(delays).toEqual([20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000, 300_000]);
    expect(b.remaining('k', now)).toBe(300_000);
  });

  it('starts over after twice the maximum without failures', () => {
    let now = 0;
    const b = new Backoff(10_000, 300_000, () => now);
    b.next('k', now);
    b.next('k', now);
    expect(b.get('k')).toBe(20_000);
    now += 600_001;
    b.next('k', now);
    expect(b.get('k')).toBe(10_000);
    expect(b.isInBackOffSinceUpdate('k')).toBe(true);
    now += 10_000;
    expect(b.isInBackOffSinceUpdate('k')).toBe(false);
  });
});

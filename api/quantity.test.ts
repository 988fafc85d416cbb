import { describe, expect, it } from 'vitest';
import { formatBytes, formatMilli, isValidQuantity, milliValue, parseQuantity, value } from './quantity.js';

describe('quantities', () => {
  it.each([
    ['100m', 100], ['0.5', 500], ['1', 1000], [2, 2000], ['0.1', 100], ['1.5', 1500], ['250m', 250], ['1n', 1], ['1k', 1_000_000],
  ])('milliValue(%s) = %d', (q, want) => expect(milliValue(q)).toBe(want));

  it.each([
    ['128Mi', 134217728], ['1Gi', 1073741824], ['1G', 1e9], ['1e3', 1000], ['129e6', 129e6], ['1.5Ki', 1536], ['100m', 1], ['64', 64],
  ])('value(%s) = %d', (q, want) => expect(value(q)).toBe(want));

  it('rejects bad syntax with upstream message', () => {
    expect(() => parseQuantity('12 Mi')).toThrow('quantities must match the regular expression');
    expect(isValidQuantity('abc')).toBe(false);
    expect(isValidQuantity('1Mi')).toBe(true);
  });

  it('formats', () => {
    expect(formatMilli(250)).toBe('250m');
    expect(formatMilli(2000)).toBe('2');
    expect(formatBytes(134217728)).toBe('128Mi');
    expect(formatBytes(1000)).toBe('1000');
  });
});

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/types.js';
import { filterEvent } from './watch.js';

const obj = (tier: string): KubeObject => ({ metadata: { name: 'x', labels: { tier } } });
const front = (o: KubeObject) => o.metadata.labels?.tier === 'front';
const ev = (type: 'ADDED' | 'MODIFIED' | 'DELETED', now: string, prev?: string) => ({ type, key: 'k', object: obj(now), prevObject: prev ? obj(prev) : undefined, revision: 2 });

describe('filterEvent', () => {
  it('turns selector transitions into ADDED and DELETED', () => {
    expect(filterEvent(ev('MODIFIED', 'back', 'front'), front)?.type).toBe('DELETED');
    expect(filterEvent(ev('MODIFIED', 'front', 'back'), front)?.type).toBe('ADDED');
    expect(filterEvent(ev('MODIFIED', 'front', 'front'), front)?.type).toBe('MODIFIED');
    expect(filterEvent(ev('MODIFIED', 'back', 'back'), front)).toBeUndefined();
  });

  it('judges deletions by the last state', () => {
    expect(filterEvent(ev('DELETED', 'front', 'front'), front)?.type).toBe('DELETED');
    expect(filterEvent(ev('DELETED', 'back', 'back'), front)).toBeUndefined();
    expect(filterEvent(ev('ADDED', 'back'), front)).toBeUndefined();
  });
});

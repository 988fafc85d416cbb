import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/types.js';
import { filterEvent } from './watch.js';

const obj = (tier: string, rv = '1'): KubeObject => ({ metadata: { name: 'x', resourceVersion: rv, labels: { tier } } });
const front = (o: KubeObject) => o.metadata.labels?.tier === 'front';
const ev = (type: 'ADDED' | 'MODIFIED' | 'DELETED', now: string, prev?: string) => ({ type, key: 'k', object: obj(now, '2'), prevObject: prev ? obj(prev, '1') : undefined, revision: 2 });

describe('filterEvent', () => {
  it('turns selector transitions into ADDED and DELETED', () => {
    expect(filterEvent(ev('MODIFIED', 'back', 'front'), front)?.type).toBe('DELETED');
    expect(filterEvent(ev('MODIFIED', 'front', 'back'), front)?.type).toBe('ADDED');
    expect(filterEvent(ev('MODIFIED', 'front', 'front'), front)?.type).toBe('MODIFIED');
    expect(filterEvent(ev('MODIFIED', 'back', 'back'), front)).toBeUndefined();
  });

  it('sends the last matching state, at the new resourceVersion, when an object leaves the selector', () => {
    const out = filterEvent(ev('MODIFIED', 'back', 'front'), front)!;
    expect(out.object.metadata.labels).toEqual({ tier: 'front' });
    expect(out.object.metadata.resourceVersion).toBe('2');
  });

  it('judges deletions by the last state', () => {
    expect(filterEvent(ev('DELETED', 'front', 'front'), front)?.type).toBe('DELETED');
    expect(filterEvent(ev('DELETED', 'back', 'back'), front)).toBeUndefined();
    expect(filterEvent(ev('ADDED', 'back'), front)).toBeUndefined();
  });
});

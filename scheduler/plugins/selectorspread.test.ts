import { describe, expect, it } from 'vitest';
import { newCycleContext } from '../framework.js';
import { makeNode, makeNodeInfo, makePod } from '../testing.js';
import { selectorSpread } from './selectorspread.js';

describe('SelectorSpread', () => {
  it('prefers nodes with fewer pods of the same controller', () => {
    const pod = makePod('p', { ownerUid: 'rs1' });
    const ctx = newCycleContext(pod);
    const nodes = [
      makeNodeInfo(makeNode('two'), makePod('a', { ownerUid: 'rs1' }), makePod('b', { ownerUid: 'rs1' })),
      makeNodeInfo(makeNode('one'), makePod('c', { ownerUid: 'rs1' }), makePod('x', { ownerUid: 'other' })),
      makeNodeInfo(makeNode('none'), makePod('y', { ownerUid: 'other' })),
    ];
    const scores = nodes.map((n) => selectorSpread.score(ctx, pod, n));
    expect(scores).toEqual([2, 1, 0]);
    selectorSpread.normalize!(ctx, scores);
    expect(scores).toEqual([0, 50, 100]);
  });

  it('forgets a pod that leaves the node', () => {
    const a = makePod('a', { ownerUid: 'rs1', nodeName: 'n' });
    const ni = makeNodeInfo(makeNode('n'), a);
    ni.removePod(a);
    const pod = makePod('p', { ownerUid: 'rs1' });
    expect(selectorSpread.score(newCycleContext(pod), pod, ni)).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { newCycleContext } from '../framework.js';
import { makeNode, makeNodeInfo, makePod } from '../testing.js';
import { balancedAllocation } from './balancedallocation.js';

describe('NodeResourcesBalancedAllocation', () => {
  it('scores 100 when cpu and memory would be used in equal proportion', () => {
    const pod = makePod('p', { cpu: '1', memory: '4Gi' });
    expect(balancedAllocation.score(newCycleContext(pod), pod, makeNodeInfo(makeNode('n')))).toBe(100);
  });

  it('scores lower the further the fractions drift apart', () => {
    const pod = makePod('p', { cpu: '2', memory: '1Gi' });
    // cpu 0.5, memory 1/16: std 0.21875 -> 78
    expect(balancedAllocation.score(newCycleContext(pod), pod, makeNodeInfo(makeNode('n')))).toBe(78);
  });
});

describe('NodeResourcesBalancedAllocation without requests', () => {
  it('gives every node the same score to a pod that requests nothing', () => {
    const pod = makePod('p');
    const ctx = newCycleContext(pod);
    const busy = makeNodeInfo(makeNode('busy'), makePod('a', { cpu: '3' }));
    expect(balancedAllocation.score(ctx, pod, busy)).toBe(balancedAllocation.score(ctx, pod, makeNodeInfo(makeNode('idle'))));
  });
});

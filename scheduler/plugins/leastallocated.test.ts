import { describe, expect, it } from 'vitest';
import { newCycleContext } from '../framework.js';
import { makeNode, makeNodeInfo, makePod } from '../testing.js';
import { leastAllocated } from './leastallocated.js';

describe('NodeResourcesLeastAllocated', () => {
  it('scores the free fraction after placing the pod, cpu and memory averaged', () => {
    const pod = makePod('p', { cpu: '1', memory: '4Gi' });
    const ctx = newCycleContext(pod);
    // cpu (4-1)/4 = 75, memory (16-4)/16 = 75
    expect(leastAllocated.score(ctx, pod, makeNodeInfo(makeNode('empty')))).toBe(75);
    // cpu (4-3)/4 = 25, memory (16-8)/16 = 50
    expect(leastAllocated.score(ctx, pod, makeNodeInfo(makeNode('busy'), makePod('a', { cpu: '2', memory: '4Gi' })))).toBe(37);
  });

  it('counts pods without requests with kube defaults (100m, 200Mi)', () => {
    const pod = makePod('p');
    const ctx = newCycleContext(pod);
    const node = makeNode('n', { cpu: '1', memory: '1000Mi' });
    // cpu (1000-100)/1000 = 90, memory (1000-200)/1000 = 80
    expect(leastAllocated.score(ctx, pod, makeNodeInfo(node))).toBe(85);
  });
});

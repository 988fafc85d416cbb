import { describe, expect, it } from 'vitest';
import { newCycleContext } from '../framework.js';
import { makeNode, makeNodeInfo, makePod } from '../testing.js';
import { nodeResourcesFit } from './noderesourcesfit.js';

describe('NodeResourcesFit', () => {
  it('admits a pod that fits in what is left', () => {
    const pod = makePod('p', { cpu: '1', memory: '1Gi' });
    const ni = makeNodeInfo(makeNode('n', { cpu: '2', memory: '2Gi' }), makePod('a', { cpu: '1', memory: '1Gi' }));
    expect(nodeResourcesFit.filter(newCycleContext(pod), pod, ni)).toBeNull();
  });

  it('reports each insufficient resource', () => {
    const pod = makePod('p', { cpu: '1500m', memory: '1Gi' });
    const ni = makeNodeInfo(makeNode('n', { cpu: '2', memory: '1Gi' }), makePod('a', { cpu: '1', memory: '1Mi' }));
    expect(nodeResourcesFit.filter(newCycleContext(pod), pod, ni)).toEqual({ code: 'Unschedulable', reasons: ['Insufficient cpu', 'Insufficient memory'] });
  });

  it('counts pods against allocatable pods', () => {
    const pod = makePod('p');
    const ni = makeNodeInfo(makeNode('n', { pods: '1' }), makePod('a'));
    expect(nodeResourcesFit.filter(newCycleContext(pod), pod, ni)?.reasons).toEqual(['Too many pods']);
    // The pod leaving (or a re-add of the same pod) keeps the count right.
    ni.addPod({ ...makePod('a'), spec: { ...makePod('a').spec, nodeName: 'n' } });
    expect(nodeResourcesFit.filter(newCycleContext(pod), pod, ni)?.reasons).toEqual(['Too many pods']);
    ni.removePod(makePod('a'));
    expect(nodeResourcesFit.filter(newCycleContext(pod), pod, ni)).toBeNull();
  });

  it('lets a pod without requests onto a full node', () => {
    const pod = makePod('p');
    const ni = makeNodeInfo(makeNode('n', { cpu: '1' }), makePod('a', { cpu: '1' }));
    expect(nodeResourcesFit.filter(newCycleContext(pod), pod, ni)).toBeNull();
  });
});

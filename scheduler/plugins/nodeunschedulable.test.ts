import { describe, expect, it } from 'vitest';
import { newCycleContext } from '../framework.js';
import { makeNode, makeNodeInfo, makePod } from '../testing.js';
import { nodeUnschedulable } from './nodeunschedulable.js';

describe('NodeUnschedulable', () => {
  it('rejects cordoned nodes and admits schedulable ones', () => {
    const pod = makePod('p');
    const ctx = newCycleContext(pod);
    expect(nodeUnschedulable.filter(ctx, pod, makeNodeInfo(makeNode('n', { unschedulable: true })))).toEqual({ code: 'UnschedulableAndUnresolvable', reasons: ['node(s) were unschedulable'] });
    expect(nodeUnschedulable.filter(ctx, pod, makeNodeInfo(makeNode('n')))).toBeNull();
  });

  it('admits a pod tolerating node.kubernetes.io/unschedulable', () => {
    const pod = makePod('p', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] });
    expect(nodeUnschedulable.filter(newCycleContext(pod), pod, makeNodeInfo(makeNode('n', { unschedulable: true })))).toBeNull();
  });
});

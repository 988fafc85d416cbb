import { describe, expect, it } from 'vitest';
import { newCycleContext } from '../framework.js';
import { makeNode, makeNodeInfo, makePod } from '../testing.js';
import { nodeReady } from './nodeready.js';

describe('NodeReady', () => {
  const pod = makePod('p');
  const ctx = newCycleContext(pod);

  it('admits Ready nodes', () => {
    expect(nodeReady.filter(ctx, pod, makeNodeInfo(makeNode('n')))).toBeNull();
  });

  it('reports not Ready and condition-less nodes as the not-ready taint', () => {
    for (const ready of ['False', null] as const) {
      expect(nodeReady.filter(ctx, pod, makeNodeInfo(makeNode('n', { ready })))).toEqual({
        code: 'UnschedulableAndUnresolvable',
        reasons: ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }'],
      });
    }
  });

  it('reports Unknown as the unreachable taint', () => {
    expect(nodeReady.filter(ctx, pod, makeNodeInfo(makeNode('n', { ready: 'Unknown' })))!.reasons).toEqual(['node(s) had untolerated taint {node.kubernetes.io/unreachable: }']);
  });

  it('admits pods that tolerate the taint', () => {
    const tolerant = makePod('d', { tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }] });
    expect(nodeReady.filter(newCycleContext(tolerant), tolerant, makeNodeInfo(makeNode('n', { ready: 'False' })))).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { newCycleContext } from '../framework.js';
import { makeNode, makeNodeInfo, makePod } from '../testing.js';
import { tolerates } from '../../api/scheduling.js';
import { taintTolerationFilter, taintTolerationScore } from './tainttoleration.js';

describe('TaintToleration', () => {
  const tainted = makeNode('n1', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] });

  it('rejects a pod that does not tolerate a NoSchedule taint, naming the taint', () => {
    const pod = makePod('p');
    expect(taintTolerationFilter.filter(newCycleContext(pod), pod, makeNodeInfo(tainted))).toEqual({
      code: 'UnschedulableAndUnresolvable',
      reasons: ['node(s) had untolerated taint {dedicated: gpu}'],
    });
  });

  it('admits a pod with a matching Equal or Exists toleration', () => {
    for (const t of [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' as const }, { key: 'dedicated', operator: 'Exists' as const }, { operator: 'Exists' as const }]) {
      const pod = makePod('p', { tolerations: [t] });
      expect(taintTolerationFilter.filter(newCycleContext(pod), pod, makeNodeInfo(tainted))).toBeNull();
    }
  });

  it('does not match on a wrong value or effect', () => {
    expect(tolerates({ key: 'dedicated', value: 'cpu' }, { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' })).toBe(false);
    expect(tolerates({ key: 'dedicated', value: 'gpu', effect: 'NoExecute' }, { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' })).toBe(false);
    expect(tolerates({ value: 'gpu' }, { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' })).toBe(false);
  });

  it('ignores PreferNoSchedule taints when filtering but scores them lower', () => {
    const soft = makeNodeInfo(makeNode('soft', { taints: [{ key: 'a', effect: 'PreferNoSchedule' }, { key: 'b', effect: 'PreferNoSchedule' }] }));
    const half = makeNodeInfo(makeNode('half', { taints: [{ key: 'a', effect: 'PreferNoSchedule' }] }));
    const clean = makeNodeInfo(makeNode('clean'));
    const pod = makePod('p');
    const ctx = newCycleContext(pod);
    expect(taintTolerationFilter.filter(ctx, pod, soft)).toBeNull();
    const scores = [soft, half, clean].map((n) => taintTolerationScore.score(ctx, pod, n));
    expect(scores).toEqual([2, 1, 0]);
    taintTolerationScore.normalize!(ctx, scores);
    expect(scores).toEqual([0, 50, 100]);
  });
});

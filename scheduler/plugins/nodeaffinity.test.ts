import { describe, expect, it } from 'vitest';
import { newCycleContext } from '../framework.js';
import { makeNode, makeNodeInfo, makePod } from '../testing.js';
import { nodeAffinityFilter, nodeAffinityScore } from './nodeaffinity.js';

const reason = "node(s) didn't match Pod's node affinity/selector";
const ssd = makeNodeInfo(makeNode('ssd', { labels: { disk: 'ssd', cores: '8' } }));
const hdd = makeNodeInfo(makeNode('hdd', { labels: { disk: 'hdd', cores: '2' } }));

describe('NodeAffinity filter', () => {
  it('applies spec.nodeSelector', () => {
    const pod = makePod('p', { nodeSelector: { disk: 'ssd' } });
    const ctx = newCycleContext(pod);
    expect(nodeAffinityFilter.filter(ctx, pod, ssd)).toBeNull();
    expect(nodeAffinityFilter.filter(ctx, pod, hdd)).toEqual({ code: 'UnschedulableAndUnresolvable', reasons: [reason] });
  });

  it('ORs required terms and ANDs their expressions, with Gt on integers', () => {
    const pod = makePod('p', {
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
        { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }, { key: 'cores', operator: 'Gt', values: ['4'] }] },
        { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['elsewhere'] }] },
      ] } } },
    });
    const ctx = newCycleContext(pod);
    expect(nodeAffinityFilter.filter(ctx, pod, ssd)).toBeNull();
    expect(nodeAffinityFilter.filter(ctx, pod, hdd)?.reasons).toEqual([reason]);
  });

  it('supports NotIn, Exists and DoesNotExist, and an empty term matches nothing', () => {
    const withTerms = (...terms: object[]) => makePod('p', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms as never } } } });
    const check = (pod: ReturnType<typeof makePod>) => nodeAffinityFilter.filter(newCycleContext(pod), pod, ssd) === null;
    expect(check(withTerms({ matchExpressions: [{ key: 'disk', operator: 'NotIn', values: ['hdd'] }] }))).toBe(true);
    expect(check(withTerms({ matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }))).toBe(false);
    expect(check(withTerms({ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }))).toBe(true);
    expect(check(withTerms({}))).toBe(false);
  });
});

describe('NodeAffinity score', () => {
  it('sums matching preferred weights and normalizes to 100', () => {
    const pod = makePod('p', {
      affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 10, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } },
        { weight: 5, preference: { matchExpressions: [{ key: 'cores', operator: 'Lt', values: ['4'] }] } },
      ] } },
    });
    const ctx = newCycleContext(pod);
    const scores = [ssd, hdd].map((n) => nodeAffinityScore.score(ctx, pod, n));
    expect(scores).toEqual([10, 5]);
    nodeAffinityScore.normalize!(ctx, scores);
    expect(scores).toEqual([100, 50]);
  });
});

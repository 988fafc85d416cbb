import { describe, expect, it } from 'vitest';
import { Algorithm, FitError, fitErrorMessage, numFeasibleNodesToFind } from './algorithm.js';
import { newCycleContext, SKIP, unresolvable, unschedulable, type ScorePlugin, type Status } from './framework.js';
import { defaultFilters, defaultScores } from './plugins/index.js';
import { makeNode, makeNodeInfo, makePod } from './testing.js';

describe('numFeasibleNodesToFind', () => {
  it('checks every node below 100 and follows kube adaptive percentage above', () => {
    expect(numFeasibleNodesToFind(50)).toBe(50);
    expect(numFeasibleNodesToFind(150)).toBe(100); // 49% is 73, raised to 100
    expect(numFeasibleNodesToFind(1000)).toBe(420); // 42%
    expect(numFeasibleNodesToFind(10_000)).toBe(500); // floor at 5%
  });
});

describe('Algorithm', () => {
  it('words the fit error as kube-scheduler, reasons sorted as strings', () => {
    const alg = new Algorithm(defaultFilters, defaultScores);
    const pod = makePod('big', { cpu: '3' });
    const nodes = [
      makeNodeInfo(makeNode('cordoned', { unschedulable: true })),
      makeNodeInfo(makeNode('full1', { cpu: '2' })),
      makeNodeInfo(makeNode('full2', { cpu: '2' })),
    ];
    let err: unknown;
    try {
      alg.schedule(newCycleContext(pod), nodes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FitError);
    expect((err as Error).message).toBe(
      '0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.',
    );
  });

  it('sorts counts as strings, as Go sort.Strings does', () => {
    const statuses = new Map<string, Status>([
      ...Array.from({ length: 10 }, (_, i): [string, Status] => [`a${i}`, unschedulable('Insufficient cpu')]),
      ['b', unresolvable('node(s) were unschedulable')],
      ['c', unresolvable('node(s) were unschedulable')],
    ]);
    expect(fitErrorMessage(12, statuses)).toBe(
      '0/12 nodes are available: 10 Insufficient cpu, 2 node(s) were unschedulable. preemption: 0/12 nodes are available: 10 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.',
    );
  });

  it('says there are no nodes when the cluster has none', () => {
    expect(() => new Algorithm(defaultFilters, defaultScores).schedule(newCycleContext(makePod('p')), [])).toThrow('no nodes available to schedule pods');
  });

  it('picks the highest weighted score', () => {
    const alg = new Algorithm(defaultFilters, defaultScores);
    const pod = makePod('p', { cpu: '1', memory: '1Gi' });
    const busy = makeNodeInfo(makeNode('busy'), makePod('a', { cpu: '3', memory: '12Gi' }));
    const idle = makeNodeInfo(makeNode('idle'));
    for (let i = 0; i < 5; i++) expect(alg.schedule(newCycleContext(pod), [busy, idle]).nodeName).toBe('idle');
  });

  it('breaks ties at random among the best', () => {
    const picks = new Set<string>();
    const nodes = ['a', 'b', 'c'].map((n) => makeNodeInfo(makeNode(n)));
    let r = 0;
    const seq = [0.9, 0.9, 0.1, 0.9, 0.1, 0.1];
    const alg = new Algorithm(defaultFilters, defaultScores, () => seq[r++ % seq.length]);
    for (let i = 0; i < 3; i++) picks.add(alg.schedule(newCycleContext(makePod('p')), nodes).nodeName);
    expect(picks.size).toBeGreaterThan(1);
  });

  it('stops filtering once enough feasible nodes are found, and rotates the start', () => {
    const alg = new Algorithm(defaultFilters, defaultScores);
    const nodes = Array.from({ length: 1000 }, (_, i) => makeNodeInfo(makeNode(`n${i}`)));
    const first = alg.schedule(newCycleContext(makePod('p')), nodes);
    expect(first.evaluatedNodes).toBe(420);
    expect(first.feasibleNodes).toBe(420);
    const second = alg.schedule(newCycleContext(makePod('q')), nodes);
    expect(Number(second.nodeName.slice(1))).toBeGreaterThanOrEqual(420);
    expect(Number(second.nodeName.slice(1))).toBeLessThan(840);
  });

  it('leaves out a score plugin whose PreScore skips the pod, and scores with one that does not', () => {
    const nodes = [makeNodeInfo(makeNode('a')), makeNodeInfo(makeNode('b'))];
    const scored: string[] = [];
    const plugin = (name: string, skip: boolean): ScorePlugin => ({
      name,
      weight: 2,
      preScore: () => (skip ? SKIP : undefined),
      score: (_ctx, _pod, ni) => {
        scored.push(`${name}/${ni.name}`);
        return ni.name === 'a' ? 10 : 40;
      },
    });
    const alg = new Algorithm([], [plugin('skipped', true), plugin('kept', false)]);
    expect(alg.prioritize(newCycleContext(makePod('p')), nodes)).toEqual([20, 80]);
    expect(scored).toEqual(['kept/a', 'kept/b']);
  });

  it('gives the same totals with the default plugins whether or not they skip (no preferences, no spreading selector)', () => {
    const nodes = [makeNodeInfo(makeNode('a'), makePod('x', { cpu: '1' })), makeNodeInfo(makeNode('b'))];
    const alg = new Algorithm(defaultFilters, defaultScores);
    const noSkip = new Algorithm(defaultFilters, defaultScores.map((p) => ({ ...p, preScore: p.preScore && ((...a: Parameters<NonNullable<ScorePlugin['preScore']>>) => void p.preScore!(...a)) })));
    const pod = makePod('p', { cpu: '500m' });
    expect(alg.prioritize(newCycleContext(pod), nodes)).toEqual(noSkip.prioritize(newCycleContext(pod), nodes));
  });
});

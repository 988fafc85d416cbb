// One pod's placement decision: filter nodes until enough feasible ones are
// found (kube's percentageOfNodesToScore), score them with the weighted
// plugins, and pick the best, breaking ties at random. When nothing fits,
// FitError words the reason as kube-scheduler does.

import type { Pod } from '../api/types.js';
import { SKIP, type CycleContext, type FilterPlugin, type NodeInfo, type ScorePlugin, type Status } from './framework.js';

/** Below this many nodes every node is checked (kube's minFeasibleNodesToFind). */
const MIN_FEASIBLE_NODES_TO_FIND = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;

/** kube's adaptive percentageOfNodesToScore: 50% minus 1% per 125 nodes, at least 5%, at least 100 nodes. */
export function numFeasibleNodesToFind(numAllNodes: number): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  const percentage = Math.max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND, 50 - Math.floor(numAllNodes / 125));
  const n = Math.floor((numAllNodes * percentage) / 100);
  return Math.max(n, MIN_FEASIBLE_NODES_TO_FIND);
}

export class FitError extends Error {
  constructor(readonly pod: Pod, readonly numAllNodes: number, readonly statuses: Map<string, Status>) {
    super(fitErrorMessage(numAllNodes, statuses));
    this.name = 'FitError';
  }
}

function histogram(counts: Map<string, number>): string {
  // Go's sort.Strings over "<count> <reason>": lexicographic, counts included.
  return [...counts].map(([reason, n]) => `${n} ${reason}`).sort().join(', ');
}

/**
 * "0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu.
 * preemption: 0/3 nodes are available: 1 Preemption is not helpful for
 * scheduling, 2 No preemption victims found for incoming pod."
 * Skiff does not preempt, which is exactly kube's verdict when no pod of
 * lower priority could make room.
 */
export function fitErrorMessage(numAllNodes: number, statuses: Map<string, Status>): string {
  if (numAllNodes === 0) return 'no nodes available to schedule pods';
  const reasons = new Map<string, number>();
  const preemption = new Map<string, number>();
  for (const s of statuses.values()) {
    for (const r of s.reasons) reasons.set(r, (reasons.get(r) ?? 0) + 1);
    const p = s.code === 'UnschedulableAndUnresolvable' ? 'Preemption is not helpful for scheduling' : 'No preemption victims found for incoming pod';
    preemption.set(p, (preemption.get(p) ?? 0) + 1);
  }
  let msg = `0/${numAllNodes} nodes are available:`;
  if (reasons.size) msg += ` ${histogram(reasons)}.`;
  msg += ` preemption: 0/${statuses.size} nodes are available: ${histogram(preemption)}.`;
  return msg;
}

export interface ScheduleResult {
  nodeName: string;
  evaluatedNodes: number;
  feasibleNodes: number;
}

export class Algorithm {
  /** Where the next search starts, so successive pods do not all crowd the first nodes. */
  private nextStartNodeIndex = 0;

  constructor(
    private readonly filters: readonly FilterPlugin[],
    private readonly scores: readonly ScorePlugin[],
    private readonly random: () => number = Math.random,
  ) {}

  runFilters(ctx: CycleContext, nodeInfo: NodeInfo): Status | null {
    for (const f of this.filters) {
      const s = f.filter(ctx, ctx.pod, nodeInfo);
      if (s) return { ...s, plugin: f.name };
    }
    return null;
  }

  /** Throws FitError when no node fits. */
  schedule(ctx: CycleContext, nodes: readonly NodeInfo[]): ScheduleResult {
    const n = nodes.length;
    if (n === 0) throw new FitError(ctx.pod, 0, new Map());
    for (const f of this.filters) {
      const s = f.preFilter?.(ctx, nodes);
      // As kube: a PreFilter rejection is every node's status.
      if (s) throw new FitError(ctx.pod, n, new Map(nodes.map((ni) => [ni.name, { ...s, plugin: f.name }])));
    }
    const want = numFeasibleNodesToFind(n);
    const feasible: NodeInfo[] = [];
    const statuses = new Map<string, Status>();
    let processed = 0;
    for (; processed < n && feasible.length < want; processed++) {
      const ni = nodes[(this.nextStartNodeIndex + processed) % n];
      const s = this.runFilters(ctx, ni);
      if (s) statuses.set(ni.name, s);
      else feasible.push(ni);
    }
    this.nextStartNodeIndex = (this.nextStartNodeIndex + processed) % n;
    if (feasible.length === 0) throw new FitError(ctx.pod, n, statuses);
    const result = { evaluatedNodes: processed, feasibleNodes: feasible.length };
    if (feasible.length === 1) return { nodeName: feasible[0].name, ...result };
    return { nodeName: this.selectHost(feasible, this.prioritize(ctx, feasible, nodes)), ...result };
  }

  /** `all` is every node, which spreading and affinity count pods on beyond the feasible ones. */
  prioritize(ctx: CycleContext, nodes: readonly NodeInfo[], all: readonly NodeInfo[] = nodes): number[] {
    const total = new Array<number>(nodes.length).fill(0);
    const raw = new Array<number>(nodes.length);
    // Plugins whose PreScore skips the pod would add 0 to every node, as kube leaves them out.
    const scoring = this.scores.filter((p) => p.preScore?.(ctx, nodes, all) !== SKIP);
    for (const p of scoring) {
      for (let i = 0; i < nodes.length; i++) raw[i] = p.score(ctx, ctx.pod, nodes[i]);
      p.normalize?.(ctx, raw);
      for (let i = 0; i < nodes.length; i++) total[i] += raw[i] * p.weight;
    }
    return total;
  }

  /** The highest total; among equals each is equally likely (reservoir sampling, as kube). */
  private selectHost(nodes: readonly NodeInfo[], scores: number[]): string {
    let best = 0;
    let ties = 1;
    for (let i = 1; i < nodes.length; i++) {
      if (scores[i] > scores[best]) {
        best = i;
        ties = 1;
      } else if (scores[i] === scores[best]) {
        ties++;
        if (this.random() * ties < 1) best = i;
      }
    }
    return nodes[best].name;
  }
}

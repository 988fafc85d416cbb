// PodTopologySpread, as kube-scheduler's: DoNotSchedule constraints filter
// (existing matching pods in the node's domain, plus the pod itself, minus the
// global minimum, must not exceed maxSkew), ScheduleAnyway constraints score.
// A pod without constraints that a Service, ReplicaSet, StatefulSet or
// ReplicationController selects gets kube's system defaults (hostname maxSkew
// 3, zone maxSkew 5, ScheduleAnyway), which replaced the old SelectorSpread.
// Counts per topology value are taken once per cycle (PreFilter/PreScore).

import type { Pod, TopologySpreadConstraint } from '../../api/types.js';
import { selectorFromLabelSelector, type Selector } from '../../api/labels.js';
import { MAX_NODE_SCORE, SKIP, podQuery, unresolvable, unschedulable, type CycleContext, type FilterPlugin, type NodeInfo, type PodQuery, type ScorePlugin } from '../framework.js';
import { podMatchesNode, toleratedBy } from '../../api/scheduling.js';

export const NAME = 'PodTopologySpread';
export const ERR_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints";
export const ERR_NODE_LABEL_NOT_MATCH = `${ERR_CONSTRAINTS_NOT_MATCH} (missing required label)`;

const HOSTNAME = 'kubernetes.io/hostname';
const ZONE = 'topology.kubernetes.io/zone';

/** kube's system default constraints (PodTopologySpreadArgs defaultingType System). */
const SYSTEM_DEFAULTS: readonly TopologySpreadConstraint[] = [
  { topologyKey: HOSTNAME, maxSkew: 3, whenUnsatisfiable: 'ScheduleAnyway' },
  { topologyKey: ZONE, maxSkew: 5, whenUnsatisfiable: 'ScheduleAnyway' },
];

interface Constraint {
  maxSkew: number;
  topologyKey: string;
  minDomains: number;
  selector: Selector;
  /** The selector in the pod's namespace, for counting. */
  query: PodQuery;
  honorNodeAffinity: boolean;
  honorTaints: boolean;
}

/** The pod's constraints of one kind, or the system defaults when it has none and something selects it. */
function constraintsOf(ctx: CycleContext, action: TopologySpreadConstraint['whenUnsatisfiable']): { constraints: Constraint[]; systemDefaulted: boolean } {
  const pod = ctx.pod;
  const own = pod.spec.topologySpreadConstraints ?? [];
  if (own.length) {
    const constraints = own.filter((c) => c.whenUnsatisfiable === action).map((c) => compile(pod, c));
    return { constraints, systemDefaulted: false };
  }
  if (action !== 'ScheduleAnyway' || !ctx.cluster) return { constraints: [], systemDefaulted: true };
  const selector = ctx.cluster.defaultSpreadSelector(pod);
  if (selector.empty()) return { constraints: [], systemDefaulted: true };
  const query = podQuery(new Set([pod.metadata.namespace ?? 'default']), selector);
  return { constraints: SYSTEM_DEFAULTS.map((c) => ({ ...base(c), selector, query })), systemDefaulted: true };
}

function base(c: TopologySpreadConstraint): Omit<Constraint, 'selector' | 'query'> {
  return {
    maxSkew: c.maxSkew,
    topologyKey: c.topologyKey,
    minDomains: c.minDomains ?? 1,
    // nodeAffinityPolicy defaults to Honor, nodeTaintsPolicy to Ignore.
    honorNodeAffinity: (c.nodeAffinityPolicy ?? 'Honor') === 'Honor',
    honorTaints: c.nodeTaintsPolicy === 'Honor',
  };
}

function compile(pod: Pod, c: TopologySpreadConstraint): Constraint {
  // matchLabelKeys: the pod's own values of those keys join the selector.
  const labels = pod.metadata.labels ?? {};
  const keys = (c.matchLabelKeys ?? []).filter((k) => k in labels);
  const ls = keys.length && c.labelSelector != null
    ? { ...c.labelSelector, matchExpressions: [...(c.labelSelector.matchExpressions ?? []), ...keys.map((k) => ({ key: k, operator: 'In' as const, values: [labels[k]] }))] }
    : keys.length ? { matchLabels: Object.fromEntries(keys.map((k) => [k, labels[k]])) } : c.labelSelector;
  const selector = selectorFromLabelSelector(ls);
  return { ...base(c), selector, query: podQuery(new Set([pod.metadata.namespace ?? 'default']), selector) };
}

/** kube's matchNodeInclusionPolicies: whether the node's pods and domain count for the constraint. */
function nodeIncluded(pod: Pod, ni: NodeInfo, c: Constraint): boolean {
  const node = ni.node!;
  if (c.honorNodeAffinity && !podMatchesNode(pod, node)) return false;
  if (c.honorTaints) {
    for (const t of node.spec?.taints ?? []) {
      if ((t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !toleratedBy(pod.spec.tolerations, t)) return false;
    }
  }
  return true;
}

function hasAllKeys(labels: Record<string, string>, constraints: Constraint[]): boolean {
  return constraints.every((c) => labels[c.topologyKey] !== undefined);
}


interface FilterState {
  constraints: Constraint[];
  /** Per constraint: topology value -> matching pods in that domain (eligible nodes only). */
  counts: Map<string, number>[];
  /** Per constraint: the smallest domain count (kube's critical path minimum). */
  minMatch: number[];
}

function filterState(ctx: CycleContext, nodes: readonly NodeInfo[]): FilterState | null {
  const { constraints } = constraintsOf(ctx, 'DoNotSchedule');
  if (!constraints.length) return null;
  const ns = ctx.pod.metadata.namespace ?? 'default';
  const counts = constraints.map(() => new Map<string, number>());
  for (const ni of nodes) {
    const labels = ni.node?.metadata.labels;
    if (!labels || !hasAllKeys(labels, constraints)) continue;
    constraints.forEach((c, i) => {
      if (!nodeIncluded(ctx.pod, ni, c)) return;
      const v = labels[c.topologyKey];
      counts[i].set(v, (counts[i].get(v) ?? 0) + ni.countMatching(c.query));
    });
  }
  const minMatch = counts.map((m) => (m.size ? Math.min(...m.values()) : 0));
  return { constraints, counts, minMatch };
}

export const podTopologySpreadFilter: FilterPlugin = {
  name: NAME,
  preFilter(ctx, nodes) {
    const s = filterState(ctx, nodes);
    if (s) ctx.state.set(NAME, s);
    return null;
  },
  filter(ctx, pod, nodeInfo) {
    const s = ctx.state.get(NAME) as FilterState | undefined;
    if (!s) return null;
    const labels = nodeInfo.node?.metadata.labels ?? {};
    for (const [i, c] of s.constraints.entries()) {
      const value = labels[c.topologyKey];
      if (value === undefined) return unresolvable(ERR_NODE_LABEL_NOT_MATCH);
      // Fewer eligible domains than minDomains: the global minimum is taken as 0.
      const min = s.counts[i].size < c.minDomains ? 0 : s.minMatch[i];
      const self = c.selector.matches(pod.metadata.labels) ? 1 : 0;
      if ((s.counts[i].get(value) ?? 0) + self - min > c.maxSkew) return unschedulable(ERR_CONSTRAINTS_NOT_MATCH);
    }
    return null;
  },
};

interface ScoreState {
  constraints: Constraint[];
  /** Per constraint: topology value -> matching pods (hostname counts are taken per node in score()). */
  counts: Map<string, number>[];
  weights: number[];
  ignored: Set<NodeInfo>;
  /** The same nodes by their index in the feasible list, which scores follow. */
  ignoredIndexes: Set<number>;
}

const SCORE_STATE = `${NAME}/score`;

function scoreState(ctx: CycleContext, feasible: readonly NodeInfo[], all: readonly NodeInfo[]): ScoreState | null {
  const { constraints, systemDefaulted } = constraintsOf(ctx, 'ScheduleAnyway');
  if (!constraints.length || !feasible.length) return null;
  // System defaults do not need every key on a node: nodes without a zone still spread by hostname.
  const requireAll = !systemDefaulted;
  const counts = constraints.map(() => new Map<string, number>());
  const ignored = new Set<NodeInfo>();
  const ignoredIndexes = new Set<number>();
  for (const [idx, ni] of feasible.entries()) {
    const labels = ni.node?.metadata.labels ?? {};
    if (requireAll && !hasAllKeys(labels, constraints)) {
      ignored.add(ni);
      ignoredIndexes.add(idx);
      continue;
    }
    constraints.forEach((c, i) => {
      if (c.topologyKey !== HOSTNAME) counts[i].set(labels[c.topologyKey] ?? '', 0);
    });
  }
  // kube's topologyNormalizingWeight: log(domains + 2), so a constraint over few domains weighs less.
  const weights = constraints.map((c, i) => Math.log((c.topologyKey === HOSTNAME ? feasible.length - ignored.size : counts[i].size) + 2));
  const ns = ctx.pod.metadata.namespace ?? 'default';
  for (const ni of all) {
    const labels = ni.node?.metadata.labels;
    if (!labels || (requireAll && !hasAllKeys(labels, constraints))) continue;
    constraints.forEach((c, i) => {
      if (c.topologyKey === HOSTNAME || !nodeIncluded(ctx.pod, ni, c)) return;
      const v = labels[c.topologyKey];
      const cur = counts[i].get(v);
      // Only domains of a candidate node matter.
      if (cur !== undefined) counts[i].set(v, cur + ni.countMatching(c.query));
    });
  }
  return { constraints, counts, weights, ignored, ignoredIndexes };
}

export const podTopologySpreadScore: ScorePlugin = {
  name: NAME,
  weight: 2,
  preScore(ctx, feasible, all) {
    const s = scoreState(ctx, feasible, all);
    if (!s) return SKIP;
    ctx.state.set(SCORE_STATE, s);
  },
  /** Raw score: weighted matching pods in the node's domains (more is worse; normalize() flips it). */
  score(ctx, pod, nodeInfo) {
    const s = ctx.state.get(SCORE_STATE) as ScoreState | undefined;
    if (!s || s.ignored.has(nodeInfo)) return 0;
    const labels = nodeInfo.node?.metadata.labels ?? {};
    let score = 0;
    for (const [i, c] of s.constraints.entries()) {
      const v = labels[c.topologyKey];
      if (v === undefined) continue;
      const cnt = c.topologyKey === HOSTNAME ? nodeInfo.countMatching(c.query) : s.counts[i].get(v) ?? 0;
      score += cnt * s.weights[i] + (c.maxSkew - 1);
    }
    return Math.round(score);
  },
  /** kube's NormalizeScore: 100 * (max + min - s) / max over the nodes not ignored; ignored nodes 0. */
  normalize(ctx, scores) {
    const s = ctx.state.get(SCORE_STATE) as ScoreState | undefined;
    if (!s) return;
    const ignored = s.ignoredIndexes;
    let min = Infinity;
    let max = 0;
    for (let i = 0; i < scores.length; i++) {
      if (ignored.has(i)) continue;
      if (scores[i] < min) min = scores[i];
      if (scores[i] > max) max = scores[i];
    }
    for (let i = 0; i < scores.length; i++) {
      if (ignored.has(i)) scores[i] = 0;
      else if (max === 0) scores[i] = MAX_NODE_SCORE;
      else scores[i] = Math.trunc((MAX_NODE_SCORE * (max + min - scores[i])) / max);
    }
  },
};

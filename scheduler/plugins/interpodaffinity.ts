// InterPodAffinity, as kube-scheduler's: required podAffinity and
// podAntiAffinity of the incoming pod, and the existing pods' required
// anti-affinity against it, filter nodes; preferred terms of both sides (and
// existing pods' required affinity, at the hard weight 1) score them. PreFilter
// and PreScore count matching pods per topology value once per cycle, so Filter
// and Score are a few map lookups per node.

import { selectorFromLabelSelector } from '../../api/labels.js';
import {
  MAX_NODE_SCORE,
  SKIP,
  podAffinityInfo,
  podQuery,
  termMatches,
  unresolvable,
  unschedulable,
  type AffinityTerm,
  type ClusterLister,
  type CycleContext,
  type FilterPlugin,
  type NodeInfo,
  type ScorePlugin,
  type WeightedAffinityTerm,
} from '../framework.js';

type Labels = Record<string, string>;

export const NAME = 'InterPodAffinity';
export const ERR_AFFINITY = "node(s) didn't match pod affinity rules";
export const ERR_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";
export const ERR_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";
/** kube's InterPodAffinityArgs.hardPodAffinityWeight default. */
const HARD_POD_AFFINITY_WEIGHT = 1;

const NOTHING = selectorFromLabelSelector(null);

/** topologyKey -> topology value -> count (kube's topologyToMatchedTermCount). */
type Counts = Map<string, Map<string, number>>;

function add(c: Counts, key: string, value: string, n: number): void {
  let m = c.get(key);
  if (!m) c.set(key, (m = new Map()));
  m.set(value, (m.get(value) ?? 0) + n);
}

function count(c: Counts, key: string, value: string): number {
  return c.get(key)?.get(value) ?? 0;
}

/** kube's mergeAffinityTermNamespacesIfNotEmpty: a namespaceSelector becomes the namespaces it matches now. */
function resolve(term: AffinityTerm, cluster: ClusterLister | undefined): AffinityTerm {
  if (!term.nsSelector.empty() && term.nsSelector.requirements.length === 0) return term;
  const namespaces = new Set(term.namespaces);
  for (const ns of cluster?.namespacesMatching(term.nsSelector) ?? []) namespaces.add(ns);
  return { ...term, namespaces, nsSelector: NOTHING };
}

interface PreFilterState {
  requiredAffinity: AffinityTerm[];
  requiredAntiAffinity: AffinityTerm[];
  existingAntiAffinity: Counts;
  affinity: Counts;
  antiAffinity: Counts;
  /** The incoming pod matches all its own affinity terms (the first of a group may go anywhere). */
  selfMatchesAffinity: boolean;
}

function labelsOf(ni: NodeInfo): Labels | undefined {
  return ni.node?.metadata.labels;
}

function preFilterState(ctx: CycleContext, nodes: readonly NodeInfo[]): PreFilterState | null {
  const pod = ctx.pod;
  const info = podAffinityInfo(pod);
  const requiredAffinity = (info?.requiredAffinity ?? []).map((t) => resolve(t, ctx.cluster));
  const requiredAntiAffinity = (info?.requiredAntiAffinity ?? []).map((t) => resolve(t, ctx.cluster));
  const nsLabels = ctx.cluster?.namespaceLabels(pod.metadata.namespace ?? 'default');

  // Existing pods' required anti-affinity terms that match the incoming pod,
  // counted at their own node's topology value. Terms are shared objects, so
  // each distinct term is matched once per cycle.
  const existingAntiAffinity: Counts = new Map();
  const matched = new Map<AffinityTerm, boolean>();
  for (const ni of ctx.nodeLister?.havePodsWithRequiredAntiAffinityList() ?? nodes) {
    if (ni.requiredAntiAffinityTerms.size === 0) continue;
    const labels = labelsOf(ni);
    if (!labels) continue;
    for (const term of ni.requiredAntiAffinityTerms.keys()) {
      let m = matched.get(term);
      if (m === undefined) matched.set(term, (m = termMatches(term, pod, nsLabels)));
      const value = labels[term.topologyKey];
      if (m && value !== undefined) add(existingAntiAffinity, term.topologyKey, value, ni.requiredAntiAffinityTerms.get(term)!);
    }
  }

  const affinity: Counts = new Map();
  const antiAffinity: Counts = new Map();
  if (requiredAffinity.length || requiredAntiAffinity.length) {
    // An existing pod counts for affinity only when it matches every term: the first finds candidates.
    const [first, ...rest] = requiredAffinity;
    const affinityQuery = first && podQuery(first.namespaces, first.selector);
    const antiQueries = requiredAntiAffinity.map((t) => podQuery(t.namespaces, t.selector));
    for (const ni of nodes) {
      const labels = labelsOf(ni);
      if (!labels) continue;
      if (requiredAffinity.length) {
        let n = 0;
        ni.countMatching(affinityQuery!, (e) => {
          if (rest.every((t) => termMatches(t, e.pod, undefined))) n++;
        });
        if (n) for (const t of requiredAffinity) if (labels[t.topologyKey] !== undefined) add(affinity, t.topologyKey, labels[t.topologyKey], n);
      }
      for (let i = 0; i < requiredAntiAffinity.length; i++) {
        const t = requiredAntiAffinity[i];
        const value = labels[t.topologyKey];
        if (value === undefined) continue;
        const n = ni.countMatching(antiQueries[i]);
        if (n) add(antiAffinity, t.topologyKey, value, n);
      }
    }
  }
  if (existingAntiAffinity.size === 0 && !requiredAffinity.length && !requiredAntiAffinity.length) return null;
  return {
    requiredAffinity,
    requiredAntiAffinity,
    existingAntiAffinity,
    affinity,
    antiAffinity,
    selfMatchesAffinity: requiredAffinity.every((t) => termMatches(t, pod, undefined)),
  };
}

function satisfiesPodAffinity(s: PreFilterState, labels: Labels): boolean {
  let podsExist = true;
  for (const t of s.requiredAffinity) {
    const value = labels[t.topologyKey];
    // Every topology key must be on the node, even for the first pod of a group.
    if (value === undefined) return false;
    if (count(s.affinity, t.topologyKey, value) <= 0) podsExist = false;
  }
  if (podsExist) return true;
  // The first pod of a group with affinity to itself: no pod anywhere matches
  // its terms yet, so it may go to any node with the topology keys.
  return s.affinity.size === 0 && s.selfMatchesAffinity;
}

function satisfiesPodAntiAffinity(s: PreFilterState, labels: Labels): boolean {
  if (s.antiAffinity.size === 0) return true;
  for (const t of s.requiredAntiAffinity) {
    const value = labels[t.topologyKey];
    if (value !== undefined && count(s.antiAffinity, t.topologyKey, value) > 0) return false;
  }
  return true;
}

function satisfiesExistingPodsAntiAffinity(s: PreFilterState, labels: Labels): boolean {
  if (s.existingAntiAffinity.size === 0) return true;
  for (const [key, values] of s.existingAntiAffinity) {
    const value = labels[key];
    if (value !== undefined && (values.get(value) ?? 0) > 0) return false;
  }
  return true;
}

export const interPodAffinityFilter: FilterPlugin = {
  name: NAME,
  preFilter(ctx, nodes) {
    const s = preFilterState(ctx, nodes);
    if (s) ctx.state.set(NAME, s);
    return null;
  },
  filter(ctx, _pod, nodeInfo) {
    const s = ctx.state.get(NAME) as PreFilterState | undefined;
    if (!s) return null;
    const labels = labelsOf(nodeInfo) ?? {};
    if (!satisfiesPodAffinity(s, labels)) return unresolvable(ERR_AFFINITY);
    if (!satisfiesPodAntiAffinity(s, labels)) return unschedulable(ERR_ANTI_AFFINITY);
    if (!satisfiesExistingPodsAntiAffinity(s, labels)) return unschedulable(ERR_EXISTING_ANTI_AFFINITY);
    return null;
  },
};

const SCORE_STATE = `${NAME}/score`;

function addWeighted(scores: Counts, terms: readonly WeightedAffinityTerm[], sign: 1 | -1, matches: (t: AffinityTerm, i: number) => number, labels: Labels): void {
  for (let i = 0; i < terms.length; i++) {
    const { term, weight } = terms[i];
    const value = labels[term.topologyKey];
    if (value === undefined || !weight) continue;
    const n = matches(term, i);
    if (n) add(scores, term.topologyKey, value, sign * weight * n);
  }
}

/** kube's PreScore: weights per topology value from both sides' preferred terms and existing pods' required affinity. */
function preScoreState(ctx: CycleContext, all: readonly NodeInfo[]): Counts | null {
  const pod = ctx.pod;
  const info = podAffinityInfo(pod);
  const resolveW = (ts: WeightedAffinityTerm[] | undefined) => (ts ?? []).map((w) => ({ term: resolve(w.term, ctx.cluster), weight: w.weight }));
  const preferredAffinity = resolveW(info?.preferredAffinity);
  const preferredAntiAffinity = resolveW(info?.preferredAntiAffinity);
  const hasConstraints = preferredAffinity.length > 0 || preferredAntiAffinity.length > 0;
  const nsLabels = ctx.cluster?.namespaceLabels(pod.metadata.namespace ?? 'default');
  const affinityQueries = preferredAffinity.map((w) => podQuery(w.term.namespaces, w.term.selector));
  const antiQueries = preferredAntiAffinity.map((w) => podQuery(w.term.namespaces, w.term.selector));
  const scores: Counts = new Map();
  const incomingMatches = new Map<AffinityTerm, boolean>();
  const incoming = (t: AffinityTerm): number => {
    let m = incomingMatches.get(t);
    if (m === undefined) incomingMatches.set(t, (m = termMatches(t, pod, nsLabels)));
    return m ? 1 : 0;
  };
  // Without preferred terms of its own, only nodes holding pods with affinity can score the pod (kube's HavePodsWithAffinityList).
  for (const ni of hasConstraints ? all : ctx.nodeLister?.havePodsWithAffinityList() ?? all) {
    const labels = labelsOf(ni);
    if (!labels || (!hasConstraints && ni.podsWithAffinity.size === 0)) continue;
    if (hasConstraints) {
      addWeighted(scores, preferredAffinity, 1, (_t, i) => ni.countMatching(affinityQueries[i]), labels);
      addWeighted(scores, preferredAntiAffinity, -1, (_t, i) => ni.countMatching(antiQueries[i]), labels);
    }
    for (const e of ni.podsWithAffinity) {
      const a = e.affinity!;
      // Pods with only required anti-affinity (the common case) score nobody.
      if (!a.requiredAffinity.length && !a.preferredAffinity.length && !a.preferredAntiAffinity.length) continue;
      for (const term of a.requiredAffinity) {
        const value = labels[term.topologyKey];
        if (value !== undefined && incoming(term)) add(scores, term.topologyKey, value, HARD_POD_AFFINITY_WEIGHT);
      }
      addWeighted(scores, a.preferredAffinity, 1, incoming, labels);
      addWeighted(scores, a.preferredAntiAffinity, -1, incoming, labels);
    }
  }
  return scores.size ? scores : null;
}

export const interPodAffinityScore: ScorePlugin = {
  name: NAME,
  weight: 2,
  preScore(ctx, _feasible, all) {
    const s = preScoreState(ctx, all);
    if (!s) return SKIP;
    ctx.state.set(SCORE_STATE, s);
  },
  score(ctx, _pod, nodeInfo) {
    const s = ctx.state.get(SCORE_STATE) as Counts | undefined;
    if (!s) return 0;
    const labels = labelsOf(nodeInfo);
    if (!labels) return 0;
    let score = 0;
    for (const [key, values] of s) {
      const v = labels[key];
      if (v !== undefined) score += values.get(v) ?? 0;
    }
    return score;
  },
  /** Min-max scaling to 0-100; all equal gives 0. Float arithmetic in kube's order, so truncation agrees. */
  normalize(ctx, scores) {
    if (!ctx.state.has(SCORE_STATE)) return;
    let min = Infinity;
    let max = -Infinity;
    for (const s of scores) {
      if (s > max) max = s;
      if (s < min) min = s;
    }
    const diff = max - min;
    for (let i = 0; i < scores.length; i++) scores[i] = diff > 0 ? Math.trunc(MAX_NODE_SCORE * ((scores[i] - min) / diff)) : 0;
  },
};

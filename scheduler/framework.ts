// The scheduling framework's shapes, after kube-scheduler's: filter plugins
// reject nodes with kube's reason strings, score plugins rank the survivors
// (0-100, optionally normalized across nodes), and NodeInfo keeps each node's
// aggregates incremental (and its pods indexed by label) so a plugin rarely walks a node's pods.

import type { Client } from '../client/interfaces.js';
import { objectKey, type ContainerPort, type KubeObject, type LabelSelector, type Node, type Pod, type PodAffinityTerm, type Taint, type WeightedPodAffinityTerm } from '../api/types.js';
import { milliValue, value } from '../api/quantity.js';
import { selectorFromLabelSelector, type Selector } from '../api/labels.js';
import { podRequests, type Resources } from './resources.js';

export const MAX_NODE_SCORE = 100;

/**
 * Unschedulable: preemption might help (resources, ports).
 * UnschedulableAndUnresolvable: no eviction can change the verdict (taints, affinity, ...).
 */
export type StatusCode = 'Unschedulable' | 'UnschedulableAndUnresolvable';

export interface Status {
  code: StatusCode;
  reasons: string[];
  plugin?: string;
}

export function unschedulable(...reasons: string[]): Status {
  return { code: 'Unschedulable', reasons };
}

export function unresolvable(...reasons: string[]): Status {
  return { code: 'UnschedulableAndUnresolvable', reasons };
}

/** What plugins read beyond nodes and their pods (kube's listers), kept by the scheduler's informers. */
export interface ClusterLister {
  /** A namespace's labels; undefined when the namespace is not known. */
  namespaceLabels(ns: string): Record<string, string> | undefined;
  /** Names of the namespaces whose labels the selector matches. */
  namespacesMatching(sel: Selector): string[];
  /**
   * kube's helper.DefaultSelector: the Services selecting the pod, merged, and
   * its controlling ReplicaSet's (StatefulSet's, ReplicationController's) selector.
   */
  defaultSpreadSelector(pod: Pod): Selector;
  /** VolumeBinding's listers (PVC, PV, StorageClass); absent where the API server serves none. */
  claim?(namespace: string, name: string): KubeObject | undefined;
  volume?(name: string): KubeObject | undefined;
  volumes?(): readonly KubeObject[];
  storageClass?(name: string): KubeObject | undefined;
}

/**
 * kube's NodeInfoLister lists beyond List(): the nodes holding pods with
 * (required anti-)affinity, kept by the cache as pods come and go, so a plugin
 * that only needs those nodes does not walk every node each cycle. Nodes
 * without a Node object may be included; plugins skip them as they skip them in
 * the full list.
 */
export interface NodeInfoLister {
  havePodsWithAffinityList(): Iterable<NodeInfo>;
  havePodsWithRequiredAntiAffinityList(): Iterable<NodeInfo>;
}

/** What one scheduling cycle computes once per pod and every plugin shares (kube's CycleState). */
export interface CycleContext {
  pod: Pod;
  cluster?: ClusterLister;
  /** Absent (unit tests), plugins find those nodes by walking the full list. */
  nodeLister?: NodeInfoLister;
  /** Plugin state from PreFilter/PreScore, by plugin name. */
  state: Map<string, unknown>;
  requests: Resources;
  /** Requests with kube's defaults for containers that ask for nothing, used by scores. */
  nonZeroRequests: Resources;
  hostPorts: HostPort[];
}

export interface FilterPlugin {
  readonly name: string;
  /**
   * Once per cycle over every node before any filter (kube's PreFilter), for
   * state the filter reads per node; a status rejects the pod on every node.
   */
  preFilter?(ctx: CycleContext, nodes: readonly NodeInfo[]): Status | null;
  filter(ctx: CycleContext, pod: Pod, nodeInfo: NodeInfo): Status | null;
}

/**
 * Work between choosing a node and binding the pod (kube's PreBind), in the
 * binding cycle: it may write objects (VolumeBinding names the node on the
 * pod's claims) and wait for others; a status keeps the pod from binding.
 */
export interface PreBindPlugin {
  readonly name: string;
  preBind(ctx: CycleContext, pod: Pod, node: Node, client: Client): Promise<Status | null>;
}

/** kube's framework.Skip from PreScore. */
export const SKIP = 'Skip';

export interface ScorePlugin {
  readonly name: string;
  readonly weight: number;
  /**
   * Once per cycle before scoring (kube's PreScore): `feasible` are the nodes to
   * score, `all` every node. SKIP says the plugin has nothing to say about this
   * pod (every node would get 0): its score and normalize are not run.
   */
  preScore?(ctx: CycleContext, feasible: readonly NodeInfo[], all: readonly NodeInfo[]): typeof SKIP | void;
  /** The raw score; in 0-100 unless normalize() maps the raw values there. */
  score(ctx: CycleContext, pod: Pod, nodeInfo: NodeInfo): number;
  /** Rewrite raw scores in place to 0-100 relative to each other (kube's NormalizeScore). */
  normalize?(ctx: CycleContext, scores: number[]): void;
}

export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

export function podHostPorts(pod: Pod): HostPort[] {
  const out: HostPort[] = [];
  for (const c of pod.spec.containers ?? []) {
    for (const p of c.ports ?? ([] as ContainerPort[])) {
      if (!p.hostPort) continue;
      out.push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol ?? 'TCP', port: p.hostPort });
    }
  }
  return out;
}

export function newCycleContext(pod: Pod, cluster?: ClusterLister, nodeLister?: NodeInfoLister): CycleContext {
  return {
    pod,
    cluster,
    nodeLister,
    state: new Map(),
    requests: podRequests(pod),
    nonZeroRequests: podRequests(pod, true),
    hostPorts: podHostPorts(pod),
  };
}

/**
 * A compiled PodAffinityTerm (kube's framework.AffinityTerm). Identical terms
 * compile to one shared object, so per-cycle work is per distinct term.
 */
export interface AffinityTerm {
  readonly key: string;
  /** Namespaces named by the term, or the pod's own when it names none and has no namespaceSelector. */
  readonly namespaces: ReadonlySet<string>;
  /** Matches nothing when the term has none. */
  readonly nsSelector: Selector;
  readonly selector: Selector;
  readonly topologyKey: string;
}

export interface WeightedAffinityTerm {
  term: AffinityTerm;
  weight: number;
}

/** A pod's inter-pod affinity, compiled once when it enters a NodeInfo or a cycle. */
export interface PodAffinityInfo {
  requiredAffinity: AffinityTerm[];
  requiredAntiAffinity: AffinityTerm[];
  preferredAffinity: WeightedAffinityTerm[];
  preferredAntiAffinity: WeightedAffinityTerm[];
}

const internedTerms = new Map<string, AffinityTerm>();
const MAX_INTERNED_TERMS = 100_000;

function selectorKey(sel: Selector): string {
  return !sel.empty() && sel.requirements.length === 0 ? '<nothing>' : sel.toString();
}

/**
 * matchLabelKeys and mismatchLabelKeys add `key in (value)` and `key notin
 * (value)` with the pod's own label values to a non-null labelSelector (what
 * kube 1.32's API server merges at pod creation; merging again changes nothing).
 */
function effectiveSelector(pod: Pod, ls: LabelSelector | null | undefined, matchKeys?: string[], mismatchKeys?: string[]): LabelSelector | null | undefined {
  if (ls == null || (!matchKeys?.length && !mismatchKeys?.length)) return ls;
  const labels = pod.metadata.labels ?? {};
  const exprs = [...(ls.matchExpressions ?? [])];
  for (const k of matchKeys ?? []) if (k in labels) exprs.push({ key: k, operator: 'In', values: [labels[k]] });
  for (const k of mismatchKeys ?? []) if (k in labels) exprs.push({ key: k, operator: 'NotIn', values: [labels[k]] });
  return { ...ls, matchExpressions: exprs };
}

export function compileAffinityTerm(pod: Pod, t: PodAffinityTerm): AffinityTerm {
  const selector = selectorFromLabelSelector(effectiveSelector(pod, t.labelSelector, t.matchLabelKeys, t.mismatchLabelKeys));
  const nsSelector = selectorFromLabelSelector(t.namespaceSelector);
  const namespaces = !t.namespaces?.length && t.namespaceSelector == null ? [pod.metadata.namespace ?? 'default'] : [...new Set(t.namespaces ?? [])].sort();
  const key = JSON.stringify([namespaces, selectorKey(nsSelector), selectorKey(selector), t.topologyKey]);
  let term = internedTerms.get(key);
  if (!term) {
    if (internedTerms.size >= MAX_INTERNED_TERMS) internedTerms.clear();
    term = { key, namespaces: new Set(namespaces), nsSelector, selector, topologyKey: t.topologyKey };
    internedTerms.set(key, term);
  }
  return term;
}

/** kube's AffinityTerm.Matches: the pod is in one of the term's namespaces and has matching labels. */
export function termMatches(term: AffinityTerm, pod: Pod, nsLabels: Record<string, string> | undefined): boolean {
  if (!term.namespaces.has(pod.metadata.namespace ?? 'default') && !(nsLabels && term.nsSelector.matches(nsLabels))) return false;
  return term.selector.matches(pod.metadata.labels);
}

/** undefined for a pod without podAffinity and podAntiAffinity, the common case. */
export function podAffinityInfo(pod: Pod): PodAffinityInfo | undefined {
  const a = pod.spec.affinity;
  if (!a?.podAffinity && !a?.podAntiAffinity) return undefined;
  const weighted = (ts: WeightedPodAffinityTerm[] | undefined) => (ts ?? []).map((w) => ({ term: compileAffinityTerm(pod, w.podAffinityTerm), weight: w.weight }));
  return {
    requiredAffinity: (a.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => compileAffinityTerm(pod, t)),
    requiredAntiAffinity: (a.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => compileAffinityTerm(pod, t)),
    preferredAffinity: weighted(a.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
    preferredAntiAffinity: weighted(a.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
  };
}

export interface PodEntry {
  pod: Pod;
  requests: Resources;
  nonZero: Resources;
  ports: HostPort[];
  affinity?: PodAffinityInfo;
}

function labelIndexKey(ns: string, k: string, v: string): string {
  return `${ns}\0${k}\0${v}`;
}

/** Pods in some namespaces (null: all) matching a selector, compiled once per cycle for NodeInfo.countMatching. */
export interface PodQuery {
  readonly namespaces: ReadonlySet<string> | null;
  readonly selector: Selector;
  readonly nothing: boolean;
  /** Label index keys from one equality or `in` requirement: a matching pod carries one of them. */
  readonly keys?: readonly string[];
}

export function podQuery(namespaces: ReadonlySet<string> | null, selector: Selector): PodQuery {
  const nothing = !selector.empty() && selector.requirements.length === 0;
  const narrow = namespaces ? selector.requirements.find((r) => r.operator === '=' || r.operator === '==' || r.operator === 'in') : undefined;
  const keys = narrow && namespaces ? [...namespaces].flatMap((ns) => narrow.values.map((v) => labelIndexKey(ns, narrow.key, v))) : undefined;
  return { namespaces, selector, nothing, keys };
}

const NO_TAINTS: readonly Taint[] = [];

/** One node and what is placed on it, assumed pods included. */
export class NodeInfo {
  /** Set through setNode() and clearNode(), which keep the fields read from it below. */
  node?: Node;
  /*
   * What every filter reads from the Node for each node it checks, kept on the
   * NodeInfo: at thousands of nodes each Node object is a cache miss or more per
   * field chain, and filters visit hundreds of nodes per pod.
   */
  name = '';
  unschedulable = false;
  /** The Ready condition's status; undefined when the node has none. */
  readyStatus?: string;
  taints: readonly Taint[] = NO_TAINTS;
  /** pods.size, where NodeResourcesFit reads it for every node without reaching into the Map. */
  numPods = 0;
  readonly pods = new Map<string, PodEntry>();
  readonly requested: Resources = { milliCPU: 0, memory: 0 };
  readonly nonZeroRequested: Resources = { milliCPU: 0, memory: 0 };
  readonly allocatable = { milliCPU: 0, memory: 0, pods: 0 };
  readonly usedPorts: HostPort[] = [];
  /** Pods with any podAffinity/podAntiAffinity (kube's PodsWithAffinity). */
  readonly podsWithAffinity = new Set<PodEntry>();
  /** Distinct required anti-affinity terms of the pods here, with how many pods carry each. */
  readonly requiredAntiAffinityTerms = new Map<AffinityTerm, number>();
  /** Pods by namespace, label key and value, so counting a selector's pods visits only candidates. */
  private readonly byLabel = new Map<string, Set<PodEntry>>();

  constructor(node?: Node) {
    if (node) this.setNode(node);
  }

  setNode(node: Node): void {
    this.node = node;
    this.name = node.metadata.name ?? '';
    this.unschedulable = !!node.spec?.unschedulable;
    this.readyStatus = node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    this.taints = node.spec?.taints ?? NO_TAINTS;
    const a = node.status?.allocatable ?? node.status?.capacity ?? {};
    // In place: the object stays where the NodeInfo was allocated.
    this.allocatable.milliCPU = milliValue(a.cpu);
    this.allocatable.memory = value(a.memory);
    this.allocatable.pods = value(a.pods);
  }

  /** The Node object is gone while pods bound to it remain. */
  clearNode(): void {
    this.node = undefined;
    this.name = '';
    this.unschedulable = false;
    this.readyStatus = undefined;
    this.taints = NO_TAINTS;
  }

  addPod(pod: Pod): void {
    const key = objectKey(pod);
    if (this.pods.has(key)) this.removePod(pod);
    const e: PodEntry = { pod, requests: podRequests(pod), nonZero: podRequests(pod, true), ports: podHostPorts(pod), affinity: podAffinityInfo(pod) };
    this.pods.set(key, e);
    this.numPods = this.pods.size;
    this.account(e, 1);
    this.usedPorts.push(...e.ports);
  }

  removePod(pod: Pod): boolean {
    const key = objectKey(pod);
    const e = this.pods.get(key);
    if (!e) return false;
    this.pods.delete(key);
    this.numPods = this.pods.size;
    this.account(e, -1);
    for (const p of e.ports) {
      const i = this.usedPorts.findIndex((u) => u.ip === p.ip && u.protocol === p.protocol && u.port === p.port);
      if (i >= 0) this.usedPorts.splice(i, 1);
    }
    return true;
  }

  /**
   * How many pods here the query selects, skipping terminating pods as kube's
   * countPodsMatchSelector; fn, when given, also sees each. With index keys
   * only the pods carrying one of them are visited.
   */
  countMatching(q: PodQuery, fn?: (e: PodEntry) => void): number {
    if (q.nothing) return 0;
    if (!q.keys) return this.countIn(this.pods.values(), q, fn);
    let n = 0;
    for (const key of q.keys) {
      const set = this.byLabel.get(key);
      if (set) n += this.countIn(set.values(), q, fn);
    }
    return n;
  }

  private countIn(entries: Iterable<PodEntry>, q: PodQuery, fn?: (e: PodEntry) => void): number {
    let n = 0;
    for (const e of entries) {
      if (e.pod.metadata.deletionTimestamp) continue;
      if (q.namespaces && !q.namespaces.has(e.pod.metadata.namespace ?? 'default')) continue;
      if (!q.selector.matches(e.pod.metadata.labels)) continue;
      n++;
      fn?.(e);
    }
    return n;
  }

  private index(e: PodEntry, sign: 1 | -1): void {
    const ns = e.pod.metadata.namespace ?? 'default';
    for (const [k, v] of Object.entries(e.pod.metadata.labels ?? {})) {
      const key = labelIndexKey(ns, k, v);
      let set = this.byLabel.get(key);
      if (sign > 0) {
        if (!set) this.byLabel.set(key, (set = new Set()));
        set.add(e);
      } else if (set) {
        set.delete(e);
        if (set.size === 0) this.byLabel.delete(key);
      }
    }
    if (!e.affinity) return;
    if (sign > 0) this.podsWithAffinity.add(e);
    else this.podsWithAffinity.delete(e);
    for (const t of e.affinity.requiredAntiAffinity) {
      const n = (this.requiredAntiAffinityTerms.get(t) ?? 0) + sign;
      if (n > 0) this.requiredAntiAffinityTerms.set(t, n);
      else this.requiredAntiAffinityTerms.delete(t);
    }
  }

  private account(e: PodEntry, sign: 1 | -1): void {
    this.index(e, sign);
    this.requested.milliCPU += sign * e.requests.milliCPU;
    this.requested.memory += sign * e.requests.memory;
    this.nonZeroRequested.milliCPU += sign * e.nonZero.milliCPU;
    this.nonZeroRequested.memory += sign * e.nonZero.memory;
  }
}

// The scheduling framework's shapes, after kube-scheduler's: filter plugins
// reject nodes with kube's reason strings, score plugins rank the survivors
// (0-100, optionally normalized across nodes), and NodeInfo keeps each node's
// aggregates incremental so a plugin never walks a node's pods.

import { controllerOf, objectKey, type ContainerPort, type Node, type Pod } from '../api/types.js';
import { milliValue, value } from '../api/quantity.js';
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

/** What one scheduling cycle computes once per pod and every plugin shares (kube's CycleState). */
export interface CycleContext {
  pod: Pod;
  requests: Resources;
  /** Requests with kube's defaults for containers that ask for nothing, used by scores. */
  nonZeroRequests: Resources;
  hostPorts: HostPort[];
  /** uid of the pod's controller, for spreading. */
  ownerUid?: string;
}

export interface FilterPlugin {
  readonly name: string;
  filter(ctx: CycleContext, pod: Pod, nodeInfo: NodeInfo): Status | null;
}

export interface ScorePlugin {
  readonly name: string;
  readonly weight: number;
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

export function newCycleContext(pod: Pod): CycleContext {
  return {
    pod,
    requests: podRequests(pod),
    nonZeroRequests: podRequests(pod, true),
    hostPorts: podHostPorts(pod),
    ownerUid: controllerOf(pod)?.uid,
  };
}

interface PodEntry {
  pod: Pod;
  requests: Resources;
  nonZero: Resources;
  ports: HostPort[];
  ownerUid?: string;
}

/** One node and what is placed on it, assumed pods included. */
export class NodeInfo {
  node?: Node;
  readonly pods = new Map<string, PodEntry>();
  readonly requested: Resources = { milliCPU: 0, memory: 0 };
  readonly nonZeroRequested: Resources = { milliCPU: 0, memory: 0 };
  allocatable = { milliCPU: 0, memory: 0, pods: 0 };
  readonly usedPorts: HostPort[] = [];
  /** Pods per controller uid, so spreading costs one lookup per node. */
  readonly ownerCounts = new Map<string, number>();

  constructor(node?: Node) {
    if (node) this.setNode(node);
  }

  get name(): string {
    return this.node?.metadata.name ?? '';
  }

  setNode(node: Node): void {
    this.node = node;
    const a = node.status?.allocatable ?? node.status?.capacity ?? {};
    this.allocatable = {
      milliCPU: milliValue(a.cpu),
      memory: value(a.memory),
      pods: value(a.pods),
    };
  }

  addPod(pod: Pod): void {
    const key = objectKey(pod);
    if (this.pods.has(key)) this.removePod(pod);
    const e: PodEntry = { pod, requests: podRequests(pod), nonZero: podRequests(pod, true), ports: podHostPorts(pod), ownerUid: controllerOf(pod)?.uid };
    this.pods.set(key, e);
    this.account(e, 1);
    this.usedPorts.push(...e.ports);
  }

  removePod(pod: Pod): boolean {
    const key = objectKey(pod);
    const e = this.pods.get(key);
    if (!e) return false;
    this.pods.delete(key);
    this.account(e, -1);
    for (const p of e.ports) {
      const i = this.usedPorts.findIndex((u) => u.ip === p.ip && u.protocol === p.protocol && u.port === p.port);
      if (i >= 0) this.usedPorts.splice(i, 1);
    }
    return true;
  }

  private account(e: PodEntry, sign: 1 | -1): void {
    this.requested.milliCPU += sign * e.requests.milliCPU;
    this.requested.memory += sign * e.requests.memory;
    this.nonZeroRequested.milliCPU += sign * e.nonZero.milliCPU;
    this.nonZeroRequested.memory += sign * e.nonZero.memory;
    if (e.ownerUid) {
      const n = (this.ownerCounts.get(e.ownerUid) ?? 0) + sign;
      if (n > 0) this.ownerCounts.set(e.ownerUid, n);
      else this.ownerCounts.delete(e.ownerUid);
    }
  }
}

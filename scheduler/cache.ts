// The scheduler's view of the cluster: one NodeInfo per node, fed by the node
// and assigned-pod informers, plus pods the scheduler has assumed onto a node
// before the API server confirmed the binding. Assuming at once is what lets
// the next pod see this one's requests without waiting for a round trip.
// An assumed pod whose binding is never observed expires after ttlMs.

import { objectKey, type Node, type Pod } from '../api/types.js';
import { NodeInfo, type NodeInfoLister } from './framework.js';

interface PodState {
  pod: Pod;
  nodeName: string;
  assumed: boolean;
  /** Set once the binding call returned; the assumption expires after it. */
  deadline?: number;
}

export class SchedulerCache implements NodeInfoLister {
  private readonly nodes = new Map<string, NodeInfo>();
  /** NodeInfos holding pods with any pod (anti-)affinity, and with required anti-affinity (kube's snapshot lists of the same names). */
  private readonly withAffinity = new Set<NodeInfo>();
  private readonly withRequiredAntiAffinity = new Set<NodeInfo>();
  /** Nodes with a Node object, in insertion order, for the round-robin search start. */
  private nodeList: NodeInfo[] = [];
  private readonly podStates = new Map<string, PodState>();

  constructor(private readonly ttlMs = 30_000, private readonly now: () => number = Date.now) {}

  addNode(node: Node): void {
    const name = node.metadata.name!;
    let ni = this.nodes.get(name);
    if (!ni) {
      ni = new NodeInfo();
      this.nodes.set(name, ni);
    }
    if (!ni.node) this.nodeList.push(ni);
    ni.setNode(node);
  }

  updateNode(node: Node): void {
    this.addNode(node);
  }

  removeNode(node: Node): void {
    const name = node.metadata.name!;
    const ni = this.nodes.get(name);
    if (!ni) return;
    this.nodeList = this.nodeList.filter((n) => n !== ni);
    // Pods still bound there keep their NodeInfo until they go, as in kube.
    if (ni.pods.size === 0) this.nodes.delete(name);
    else ni.clearNode();
  }

  /** Schedulable candidates: every node with a Node object. */
  nodeInfos(): readonly NodeInfo[] {
    return this.nodeList;
  }

  nodeInfo(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }

  nodeCount(): number {
    return this.nodeList.length;
  }

  havePodsWithAffinityList(): Iterable<NodeInfo> {
    return this.withAffinity;
  }

  havePodsWithRequiredAntiAffinityList(): Iterable<NodeInfo> {
    return this.withRequiredAntiAffinity;
  }

  private track(ni: NodeInfo): void {
    if (ni.podsWithAffinity.size) this.withAffinity.add(ni);
    else this.withAffinity.delete(ni);
    if (ni.requiredAntiAffinityTerms.size) this.withRequiredAntiAffinity.add(ni);
    else this.withRequiredAntiAffinity.delete(ni);
  }

  private infoFor(nodeName: string): NodeInfo {
    let ni = this.nodes.get(nodeName);
    if (!ni) {
      ni = new NodeInfo();
      this.nodes.set(nodeName, ni);
    }
    return ni;
  }

  private place(pod: Pod, nodeName: string): void {
    const ni = this.infoFor(nodeName);
    ni.addPod(pod);
    this.track(ni);
  }

  private unplace(pod: Pod, nodeName: string): void {
    const ni = this.nodes.get(nodeName);
    if (!ni) return;
    ni.removePod(pod);
    this.track(ni);
    if (!ni.node && ni.pods.size === 0) this.nodes.delete(nodeName);
  }

  /** Place the pod on nodeName before the binding is stored. */
  assumePod(pod: Pod, nodeName: string): void {
    const key = objectKey(pod);
    if (this.podStates.has(key)) throw new Error(`pod ${key} is already in the scheduler cache`);
    const assumed = { ...pod, spec: { ...pod.spec, nodeName } };
    this.podStates.set(key, { pod: assumed, nodeName, assumed: true });
    this.place(assumed, nodeName);
  }

  /** The binding call returned: start the clock on its confirmation. */
  finishBinding(pod: Pod): void {
    const s = this.podStates.get(objectKey(pod));
    if (s?.assumed) s.deadline = this.now() + this.ttlMs;
  }

  /** The binding failed: take the assumption back. */
  forgetPod(pod: Pod): void {
    const key = objectKey(pod);
    const s = this.podStates.get(key);
    if (!s?.assumed) return;
    this.unplace(s.pod, s.nodeName);
    this.podStates.delete(key);
  }

  isAssumed(pod: Pod): boolean {
    return this.podStates.get(objectKey(pod))?.assumed === true;
  }

  /** True when the pod is known on some node, assumed or confirmed. */
  hasPod(pod: Pod): boolean {
    return this.podStates.has(objectKey(pod));
  }

  /** An assigned pod observed by the informer; confirms an assumption. */
  addPod(pod: Pod): void {
    const key = objectKey(pod);
    const nodeName = pod.spec.nodeName!;
    const s = this.podStates.get(key);
    if (s) this.unplace(s.pod, s.nodeName);
    this.podStates.set(key, { pod, nodeName, assumed: false });
    this.place(pod, nodeName);
  }

  updatePod(pod: Pod): void {
    this.addPod(pod);
  }

  removePod(pod: Pod): void {
    const key = objectKey(pod);
    const s = this.podStates.get(key);
    if (!s) return;
    this.unplace(s.pod, s.nodeName);
    this.podStates.delete(key);
  }

  /** Drop assumptions whose binding was never observed. Returns the expired pods. */
  cleanupExpired(): Pod[] {
    const now = this.now();
    const expired: Pod[] = [];
    for (const [key, s] of this.podStates) {
      if (!s.assumed || s.deadline === undefined || s.deadline > now) continue;
      this.unplace(s.pod, s.nodeName);
      this.podStates.delete(key);
      expired.push(s.pod);
    }
    return expired;
  }
}

// The node lifecycle controller (pkg/controller/nodelifecycle): every
// monitor period, a node whose kubelet has not heartbeaten (its Lease in
// kube-node-lease, or the Ready condition) within the grace period gets its
// conditions set to Unknown, its pods marked not ready, and NoExecute taints
// by which the taint-eviction controller evicts them. Taints go when the
// node recovers. The NoSchedule taints by condition also follow every Node
// update at once (kube's doNoScheduleTaintingPass on its nodeUpdateQueue): a
// node that turns Ready is schedulable then, not at the next monitor pass.

import { R } from '../../api/resources.js';
import type { KubeObject, Lease, Node, NodeCondition, Pod, Taint } from '../../api/types.js';
import { deepCopy } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { newRateLimitingQueue, runWorkers } from '../../client/workqueue.js';
import { logger } from '../../lib/log.js';
import type { Controller, EventRecorder } from '../controller.js';
import { canonicalJSON } from '../canonical.js';
import { NOT_READY, UNREACHABLE } from './taints.js';
import { metaTime } from '../../api/time.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
const monitoredConditions = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

export interface NodeLifecycleOptions {
  client: Client;
  informers: InformerFactory;
  nodeMonitorGracePeriodMs?: number;
  nodeStartupGracePeriodMs?: number;
  nodeMonitorPeriodMs?: number;
  now?: () => number;
  /** Reports as node-controller: RegisteredNode and RemovingNode. */
  recorder?: EventRecorder;
}

export class NodeLifecycleController implements Controller {
  readonly name = 'node-lifecycle';
  private readonly log = logger('node-lifecycle-controller');
  private readonly client: Client;
  private readonly nodes: Informer<Node>;
  private readonly leases: Informer<Lease>;
  private readonly pods: Informer<Pod>;
  private readonly gracePeriodMs: number;
  private readonly startupGracePeriodMs: number;
  private readonly periodMs: number;
  private readonly now: () => number;
  private stop?: () => void;
  private readonly recorder?: EventRecorder;
  /** knownNodeSet: nodes this controller has seen, name to uid (in memory, so a restart registers them again). */
  private readonly known = new Map<string, string>();
  private readonly nodeUpdates = newRateLimitingQueue({ name: 'node_lifecycle_controller' });

  constructor(o: NodeLifecycleOptions) {
    this.client = o.client;
    this.nodes = o.informers.informerFor<Node>(R.nodes);
    this.leases = o.informers.informerFor<Lease>(R.leases, { namespace: NODE_LEASE_NAMESPACE });
    this.pods = o.informers.informerFor<Pod>(R.pods);
    this.gracePeriodMs = o.nodeMonitorGracePeriodMs ?? 40_000;
    this.startupGracePeriodMs = o.nodeStartupGracePeriodMs ?? 60_000;
    this.periodMs = o.nodeMonitorPeriodMs ?? 5_000;
    this.now = o.now ?? Date.now;
    this.recorder = o.recorder;
    const queue = (n: Node) => this.nodeUpdates.add(n.metadata.name!);
    this.nodes.addEventHandler({ onAdd: queue, onUpdate: (_old, n) => queue(n) });
  }

  /** Monitors until shutDown(); one pass at a time however slow the API server is. */
  async run(): Promise<void> {
    let stopped = false;
    let wake: () => void = () => {};
    this.stop = () => {
      stopped = true;
      this.nodeUpdates.shutDown();
      wake();
    };
    void runWorkers(this.nodeUpdates, 1, (name) => this.noScheduleTaintingPass(name), this.log);
    while (!stopped) {
      await this.monitor().catch((err) => this.log.warn('node monitor pass failed', { error: (err as Error).message }));
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.periodMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  shutDown(): void {
    this.stop?.();
  }

  /** monitorNodeHealth: one pass over every node. */
  async monitor(): Promise<void> {
    const nodes = this.nodes.lister.list();
    const seen = new Set<string>();
    for (const node of nodes) {
      const name = node.metadata.name!;
      seen.add(name);
      if (this.known.has(name)) continue;
      this.known.set(name, node.metadata.uid ?? '');
      this.recordNodeEvent(name, node.metadata.uid ?? '', 'RegisteredNode', `Registered Node ${name} in Controller`);
    }
    for (const [name, uid] of this.known) {
      if (seen.has(name)) continue;
      this.known.delete(name);
      this.recordNodeEvent(name, uid, 'RemovingNode', `Removing Node ${name} from Controller`);
    }
    for (const node of nodes) {
      try {
        await this.monitorNode(node);
      } catch (err) {
        this.log.warn('node health update failed', { node: node.metadata.name, error: (err as Error).message });
      }
    }
  }

  /** nodeutil.RecordNodeEvent: a reference by name and uid, without resourceVersion. */
  private recordNodeEvent(name: string, uid: string, reason: string, event: string): void {
    const ref = { apiVersion: 'v1', kind: 'Node', metadata: { name, uid } } as KubeObject;
    this.recorder?.event(ref, 'Normal', reason, `Node ${name} event: ${event}`);
  }

  private lastHeartbeat(node: Node): number | undefined {
    const lease = this.leases.lister.get(`${NODE_LEASE_NAMESPACE}/${node.metadata.name}`);
    const times = [lease?.spec.renewTime, node.status?.conditions?.find((c) => c.type === 'Ready')?.lastHeartbeatTime]
      .map((t) => (t ? Date.parse(t) : NaN))
      .filter((t) => !Number.isNaN(t));
    return times.length ? Math.max(...times) : undefined;
  }

  private async monitorNode(cached: Node): Promise<void> {
    const now = this.now();
    const heartbeat = this.lastHeartbeat(cached);
    const created = Date.parse(cached.metadata.creationTimestamp ?? '') || now;
    const stale = heartbeat === undefined ? now - created > this.startupGracePeriodMs : now - heartbeat > this.gracePeriodMs;
    let node = cached;
    if (stale) node = await this.markUnknown(cached, now);
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status === 'Unknown' || ready?.status === 'False') await this.markPodsNotReady(node, now);
    await this.syncTaints(node, ready?.status, now);
  }

  /** tryUpdateNodeHealth: every monitored condition becomes Unknown, keeping its last heartbeat. */
  private async markUnknown(cached: Node, now: number): Promise<Node> {
    const node = deepCopy(cached);
    const at = metaTime(now);
    const conditions: NodeCondition[] = node.status?.conditions ?? [];
    for (const type of monitoredConditions) {
      const c = conditions.find((x) => x.type === type);
      if (!c) {
        conditions.push({ type, status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastHeartbeatTime: node.metadata.creationTimestamp, lastTransitionTime: at });
      } else if (c.status !== 'Unknown') {
        Object.assign(c, { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: at });
      }
    }
    if (canonicalJSON(conditions) === canonicalJSON(cached.status?.conditions ?? [])) return cached;
    node.status = { ...node.status, conditions };
    this.log.info('node stopped posting status', { node: node.metadata.name });
    return this.client.resource<Node>(R.nodes).updateStatus(node);
  }

  /** MarkPodsNotReady: clients (Endpoints, kubectl) must stop trusting pods on a node nobody hears from. */
  private async markPodsNotReady(node: Node, now: number): Promise<void> {
    for (const pod of this.pods.lister.byIndex('nodeName', node.metadata.name!)) {
      const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.status !== 'True' || pod.metadata.deletionTimestamp) continue;
      const copy = deepCopy(pod);
      const c = copy.status!.conditions!.find((x) => x.type === 'Ready')!;
      Object.assign(c, { status: 'False', lastTransitionTime: metaTime(now) });
      await this.client.resource<Pod>(R.pods, pod.metadata.namespace).updateStatus(copy);
    }
  }

  /** doNoScheduleTaintingPass: a Node's not-ready or unreachable NoSchedule taint, from its Ready condition as it is now. */
  private async noScheduleTaintingPass(name: string): Promise<void> {
    const node = this.nodes.lister.get(name);
    if (!node) return;
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    const key = ready === 'Unknown' ? UNREACHABLE : ready === 'False' ? NOT_READY : undefined;
    const current = node.spec.taints ?? [];
    const want = current.filter((t) => t.effect !== 'NoSchedule' || !(t.key === UNREACHABLE || t.key === NOT_READY) || t.key === key);
    if (key && !want.some((t) => t.key === key && t.effect === 'NoSchedule')) want.push({ key, effect: 'NoSchedule' });
    if (canonicalJSON(want) === canonicalJSON(current)) return;
    this.log.info('updating node NoSchedule taints', { node: name, ready, taints: want.map((t) => `${t.key}:${t.effect}`) });
    await this.client
      .resource<Node>(R.nodes)
      .patch(name, 'merge', { metadata: { resourceVersion: node.metadata.resourceVersion }, spec: { taints: want.length ? want : null } });
  }

  /** doNoExecuteTaintingPass and the NoSchedule taints by condition, from the Ready status. */
  private async syncTaints(node: Node, ready: string | undefined, now: number): Promise<void> {
    const managed = new Set([UNREACHABLE, NOT_READY]);
    const current = node.spec.taints ?? [];
    const key = ready === 'Unknown' ? UNREACHABLE : ready === 'False' ? NOT_READY : undefined;
    const keep = current.filter((t) => !managed.has(t.key) || t.key === key);
    const want: Taint[] = [...keep];
    if (key) {
      const at = metaTime(now);
      if (!keep.some((t) => t.key === key && t.effect === 'NoSchedule')) want.push({ key, effect: 'NoSchedule' });
      if (!keep.some((t) => t.key === key && t.effect === 'NoExecute')) want.push({ key, effect: 'NoExecute', timeAdded: at });
    }
    if (canonicalJSON(want) === canonicalJSON(current)) return;
    this.log.info('updating node taints', { node: node.metadata.name, ready, taints: want.map((t) => `${t.key}:${t.effect}`) });
    await this.client
      .resource<Node>(R.nodes)
      .patch(node.metadata.name!, 'merge', { metadata: { resourceVersion: node.metadata.resourceVersion }, spec: { taints: want.length ? want : null } });
  }
}

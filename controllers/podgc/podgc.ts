// The pod garbage collector (pkg/controller/podgc): force-deletes pods nobody
// else will finish. A pod bound to a Node that no longer exists has no kubelet
// to end it; a terminating pod on a NotReady node an administrator marked
// out-of-service, or one never scheduled, would wait forever for a kubelet's
// final delete; and finished pods pile up past --terminated-pod-gc-threshold.
//
// Like kube's, it is a periodic pass over the caches (every gcCheckPeriod)
// rather than a per-object reconcile: one key on the queue is "run a pass".
// Informer events that can only be settled by a pass (a Node deleted, a pod
// bound to an unknown Node, a pod starting to terminate where no kubelet will
// finish it) queue one early, so the delay is the quarantine, not the period.
//
// A Node missing from the cache is not trusted at once: the pod may have been
// bound just before the Node's own ADDED event reached this process. It waits
// out quarantineTime and then the API server is asked (kube's nodeQueue).

import { isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { Node, Pod, PodCondition } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { counter } from '../../lib/metrics.js';
import { QueueController } from '../controller.js';
import { metaTime } from '../../api/time.js';

/** kube's gcCheckPeriod and quarantineTime. */
export const defaultGCCheckPeriodMs = 20_000;
export const defaultQuarantineMs = 40_000;
/** kube-controller-manager's --terminated-pod-gc-threshold default. */
export const defaultTerminatedPodGCThreshold = 12500;

const outOfServiceTaint = 'node.kubernetes.io/out-of-service';
const passKey = 'gc';

// kube's pod_gc_collector metrics, with its reason label values.
type Reason = 'terminated' | 'out-of-service' | 'orphaned' | 'unscheduled';
const deletingPodsTotal = counter({ name: 'pod_gc_collector_force_delete_pods_total', help: 'Number of pods that are being forcefully deleted since the Pod GC Controller started.', labelNames: ['namespace', 'reason'] as const });
const deletingPodsErrorTotal = counter({ name: 'pod_gc_collector_force_delete_pod_errors_total', help: 'Number of errors encountered when forcefully deleting the pods since the Pod GC Controller started.', labelNames: ['namespace', 'reason'] as const });

export interface PodGCOptions {
  client: Client;
  informers: InformerFactory;
  /** --terminated-pod-gc-threshold: finished pods kept before the oldest are deleted; 0 disables that part. */
  terminatedPodGCThreshold?: number;
  /** Tests only, as kube's NewPodGCInternal: production keeps kube's 20 s and 40 s. */
  gcCheckPeriodMs?: number;
  quarantineMs?: number;
  now?: () => number;
}

/** Succeeded or Failed: kube counts any phase other than Pending, Running and Unknown. */
export function isPodTerminated(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Pending' && phase !== 'Running' && phase !== 'Unknown';
}

function isNodeReady(node: Node): boolean {
  return node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
}

function isOutOfService(node: Node | undefined): boolean {
  return !!node && !isNodeReady(node) && (node.spec.taints ?? []).some((t) => t.key === outOfServiceTaint);
}

/** The kubelet's eviction marks a pod Failed with reason Evicted (eviction.PodIsEvicted). */
function isEvicted(pod: Pod): boolean {
  return pod.status?.phase === 'Failed' && pod.status.reason === 'Evicted';
}

/** kube's byEvictionAndCreationTimestamp: evicted first, then oldest, then by name. */
export function compareForGC(a: Pod, b: Pod): number {
  if (isEvicted(a) !== isEvicted(b)) return isEvicted(a) ? -1 : 1;
  const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  if (ta !== tb) return ta - tb;
  const na = a.metadata.name ?? '';
  const nb = b.metadata.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

export class PodGCController extends QueueController {
  private readonly client: Client;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly threshold: number;
  private readonly periodMs: number;
  private readonly quarantineMs: number;
  private readonly now: () => number;
  /** Node names seen missing from the cache, with the time their quarantine ends (kube's delaying nodeQueue). */
  private readonly quarantine = new Map<string, number>();
  private timer?: NodeJS.Timeout;

  constructor(o: PodGCOptions) {
    super('pod-garbage-collector', logger('pod-garbage-collector'));
    this.client = o.client;
    this.threshold = o.terminatedPodGCThreshold ?? defaultTerminatedPodGCThreshold;
    if (!Number.isInteger(this.threshold) || this.threshold < 0) throw new Error(`--terminated-pod-gc-threshold must be a non-negative integer, got ${o.terminatedPodGCThreshold}`);
    this.periodMs = o.gcCheckPeriodMs ?? defaultGCCheckPeriodMs;
    this.quarantineMs = o.quarantineMs ?? defaultQuarantineMs;
    if (this.periodMs <= 0 || this.quarantineMs < 0) throw new Error('pod GC period must be positive and quarantine non-negative');
    this.now = o.now ?? Date.now;
    this.pods = o.informers.informerFor<Pod>(R.pods);
    this.nodes = o.informers.informerFor<Node>(R.nodes);
    const podChanged = (p: Pod) => {
      const node = p.spec.nodeName ? this.nodes.lister.get(p.spec.nodeName) : undefined;
      if (p.spec.nodeName && !node) this.queue.add(passKey);
      else if (p.metadata.deletionTimestamp && (!p.spec.nodeName || isOutOfService(node))) this.queue.add(passKey);
    };
    this.pods.addEventHandler({ onAdd: podChanged, onUpdate: (_, p) => podChanged(p) });
    this.nodes.addEventHandler({
      onUpdate: (old, n) => {
        if (isOutOfService(n) && !isOutOfService(old)) this.queue.add(passKey);
      },
      onDelete: () => this.queue.add(passKey),
    });
  }

  override run(workers: number): Promise<void> {
    // One pass at a time: a pass works on the whole cache.
    this.queue.add(passKey);
    this.timer = setInterval(() => this.queue.add(passKey), this.periodMs);
    return super.run(Math.min(workers, 1));
  }

  override shutDown(): void {
    clearInterval(this.timer);
    super.shutDown();
  }

  async sync(): Promise<void> {
    await this.gc();
  }

  /** One pass, in kube's order. Failures of single pods are logged and counted, as kube's; the next pass retries. */
  async gc(): Promise<void> {
    const pods = this.pods.lister.list();
    const nodes = this.nodes.lister.list();
    if (this.threshold > 0) await this.gcTerminated(pods);
    await this.gcTerminating(pods);
    await this.gcOrphaned(pods, nodes);
    await this.gcUnscheduledTerminating(pods);
  }

  private async gcTerminated(pods: readonly Pod[]): Promise<void> {
    const terminated = pods.filter(isPodTerminated);
    const deleteCount = terminated.length - this.threshold;
    if (deleteCount <= 0) return;
    this.log.info('garbage collecting pods', { numPods: deleteCount });
    const victims = [...terminated].sort(compareForGC).slice(0, deleteCount);
    await Promise.all(victims.map((p) => this.forceDelete(p, 'terminated')));
  }

  private async gcTerminating(pods: readonly Pod[]): Promise<void> {
    const victims = pods.filter((p) => p.metadata.deletionTimestamp && isOutOfService(this.nodes.lister.get(p.spec.nodeName ?? '')));
    if (victims.length === 0) return;
    this.log.info('garbage collecting pods that are terminating on nodes tainted with node.kubernetes.io/out-of-service', { numPods: victims.length });
    await Promise.all(victims.sort(compareForGC).map((p) => this.forceDelete(p, 'out-of-service')));
  }

  private async gcOrphaned(pods: readonly Pod[], nodes: readonly Node[]): Promise<void> {
    const existing = new Set(nodes.map((n) => n.metadata.name!));
    const now = this.now();
    for (const p of pods) {
      const name = p.spec.nodeName;
      if (!name || existing.has(name) || this.quarantine.has(name)) continue;
      this.quarantine.set(name, now + this.quarantineMs);
      // So the check happens when the quarantine ends, not up to a period later.
      this.queue.addAfter(passKey, this.quarantineMs);
    }
    const deleted = await this.discoverDeletedNodes(existing, now);
    for (const p of pods) {
      if (!p.spec.nodeName || !deleted.has(p.spec.nodeName)) continue;
      this.log.info('found orphaned pod assigned to the node, deleting', { pod: `${p.metadata.namespace}/${p.metadata.name}`, node: p.spec.nodeName });
      const condition: PodCondition = { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists' };
      if (await this.forceDelete(p, 'orphaned', condition)) this.log.info('forced deletion of orphaned pod succeeded', { pod: `${p.metadata.namespace}/${p.metadata.name}` });
    }
  }

  /** Names out of quarantine that the API server, not just the cache, no longer has. */
  private async discoverDeletedNodes(existing: Set<string>, now: number): Promise<Set<string>> {
    const deleted = new Set<string>();
    for (const [name, readyAt] of [...this.quarantine]) {
      if (readyAt > now) continue;
      // Leaves the quarantine either way: a pod still bound to it puts it back on the next pass, as kube's queue.
      this.quarantine.delete(name);
      if (existing.has(name)) continue;
      try {
        await this.client.resource<Node>(R.nodes).get(name);
      } catch (e) {
        if (isNotFound(e)) deleted.add(name);
        else this.log.error('error while getting node', { node: name, err: String(e) });
      }
    }
    return deleted;
  }

  private async gcUnscheduledTerminating(pods: readonly Pod[]): Promise<void> {
    for (const p of pods) {
      if (!p.metadata.deletionTimestamp || p.spec.nodeName) continue;
      this.log.info('found unscheduled terminating pod not assigned to any node, deleting', { pod: `${p.metadata.namespace}/${p.metadata.name}` });
      if (await this.forceDelete(p, 'unscheduled')) this.log.info('forced deletion of unscheduled terminating pod succeeded', { pod: `${p.metadata.namespace}/${p.metadata.name}` });
    }
  }

  /**
   * kube's markFailedAndDeletePodWithCondition: a pod not yet finished is
   * first patched to Failed (with the condition, if any), since with no
   * kubelet nothing else would ever end its phase and a Job counting it must
   * see a failure; then deleted with grace period 0. True when done.
   */
  private async forceDelete(pod: Pod, reason: Reason, condition?: PodCondition): Promise<boolean> {
    const ns = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    this.log.info('PodGC is force deleting Pod', { pod: `${ns}/${name}` });
    deletingPodsTotal.inc({ namespace: ns, reason });
    const pods = this.client.resource<Pod>(R.pods, ns);
    try {
      const phase = pod.status?.phase;
      if (phase !== 'Succeeded' && phase !== 'Failed') {
        const status: Record<string, unknown> = { phase: 'Failed' };
        if (condition) status.conditions = [withTransitionTime(pod, condition, this.now())];
        // The uid makes the patch fail on a pod recreated under the same name (utilpod.PatchPodStatus).
        await pods.patch(name, 'strategic', { metadata: { uid: pod.metadata.uid }, status }, { subresource: 'status' });
      }
      await pods.delete(name, { gracePeriodSeconds: 0 });
      return true;
    } catch (e) {
      if (isNotFound(e)) return true;
      deletingPodsErrorTotal.inc({ namespace: ns, reason });
      this.log.error('failed to force delete pod', { pod: `${ns}/${name}`, reason, err: String(e) });
      return false;
    }
  }
}

/** apipod.UpdatePodCondition: the transition time moves only when the status does. */
function withTransitionTime(pod: Pod, c: PodCondition, now: number): PodCondition {
  const old = pod.status?.conditions?.find((x) => x.type === c.type);
  const at = old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : metaTime(now);
  return { ...c, lastTransitionTime: at };
}

// The scheduler loop: informers feed the cache (nodes, assigned pods) and the
// queue (this scheduler's pending pods); one pod at a time is popped, placed
// by the algorithm, assumed in the cache and bound in the background, so the
// next decision never waits for the API server's round trip.

import { isNotFound } from '../api/errors.js';
import { R } from '../api/resources.js';
import { objectKey, type KubeObject, type Node, type Pod, type PodCondition } from '../api/types.js';
import type { Client, InformerFactory, ResourceEventHandler } from '../client/interfaces.js';
import { logger } from '../lib/log.js';
import { counter, histogram } from '../lib/metrics.js';
import { Algorithm, FitError } from './algorithm.js';
import { SchedulerCache } from './cache.js';
import { newCycleContext, unschedulable, type ClusterLister, type CycleContext, type FilterPlugin, type PreBindPlugin, type ScorePlugin } from './framework.js';
import { InformerClusterLister } from './listers.js';
import { defaultFilters, defaultPreBinds, defaultScores } from './plugins/index.js';
import { podClaimNames } from '../api/podrefs.js';
import { SchedulingQueue, type QueueOptions, type QueuedPodInfo } from './queue.js';

const log = logger('scheduler');

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

/** What the scheduler needs from client/events.ts's EventRecorder. */
export interface EventSink {
  event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

const usesClaims = (p: Pod) => podClaimNames(p).length > 0;

export interface SchedulerOptions {
  client: Client;
  informers: InformerFactory;
  events?: EventSink;
  schedulerName?: string;
  filters?: readonly FilterPlugin[];
  scores?: readonly ScorePlugin[];
  /** PreBind plugins, run in the binding cycle before the binding (default: VolumeBinding). */
  preBinds?: readonly PreBindPlugin[];
  random?: () => number;
  /** How long an assumed pod waits for its binding to be observed. */
  assumeTtlMs?: number;
  queue?: QueueOptions;
}

const attempts = counter({ name: 'scheduler_schedule_attempts_total', help: 'Number of attempts to schedule pods, by the result.', labelNames: ['result', 'profile'] as const });
const attemptDuration = histogram({
  name: 'scheduler_scheduling_attempt_duration_seconds',
  help: 'Scheduling attempt latency in seconds (scheduling algorithm + binding)',
  labelNames: ['result', 'profile'] as const,
  buckets: [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384],
});
const sliDuration = histogram({
  name: 'scheduler_pod_scheduling_sli_duration_seconds',
  help: 'E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue until it is bound.',
  labelNames: ['attempts'] as const,
  buckets: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92, 163.84, 327.68, 655.36],
});

/** Cluster changes that can make an unschedulable pod fit. */
function nodeSchedulingPropertiesChanged(a: Node, b: Node): boolean {
  const ready = (n: Node) => n.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  return (
    !!a.spec?.unschedulable !== !!b.spec?.unschedulable ||
    ready(a) !== ready(b) ||
    JSON.stringify([a.metadata.labels, a.spec?.taints, a.status?.allocatable]) !== JSON.stringify([b.metadata.labels, b.spec?.taints, b.status?.allocatable])
  );
}

/**
 * client-go's FilteringResourceEventHandler: an update that moves an object into
 * the filter is an add, one that moves it out is a delete (of the old state).
 */
function filtering<T>(filter: (o: T) => boolean, h: ResourceEventHandler<T>): ResourceEventHandler<T> {
  return {
    onAdd: (o) => filter(o) && h.onAdd?.(o),
    onUpdate: (o, n) => {
      const older = filter(o);
      const newer = filter(n);
      if (older && newer) h.onUpdate?.(o, n);
      else if (newer) h.onAdd?.(n);
      else if (older) h.onDelete?.(o);
    },
    onDelete: (o) => filter(o) && h.onDelete?.(o),
  };
}

export class Scheduler {
  readonly cache: SchedulerCache;
  readonly queue: SchedulingQueue;
  private readonly algorithm: Algorithm;
  private readonly name: string;
  private stopped = false;
  private loopDone?: Promise<void>;
  private cleanupTimer?: NodeJS.Timeout;
  private cluster?: ClusterLister;
  /** Bindings sent and not yet answered. */
  private inflightBindings = new Set<Promise<void>>();

  constructor(private readonly opts: SchedulerOptions) {
    this.name = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    this.cache = new SchedulerCache(opts.assumeTtlMs);
    this.queue = new SchedulingQueue(opts.queue);
    this.algorithm = new Algorithm(opts.filters ?? defaultFilters, opts.scores ?? defaultScores, opts.random);
  }

  private responsibleFor(pod: Pod): boolean {
    return (pod.spec.schedulerName || DEFAULT_SCHEDULER_NAME) === this.name;
  }

  private pending(pod: Pod): boolean {
    return !pod.spec.nodeName && this.responsibleFor(pod) && !this.cache.hasPod(pod);
  }

  /**
   * Register informers and handlers; call before informers.start(). As
   * kube-scheduler, one pod informer (non-terminal pods) feeds both the cache
   * (assigned pods) and the queue (this scheduler's pending pods) through
   * filtering handlers: a single list and watch, and a binding arrives as one
   * MODIFIED event rather than a DELETED on one selector and an ADDED on another.
   */
  private wire(): void {
    const inf = this.opts.informers;
    this.cluster = new InformerClusterLister(inf);
    const pods = inf.informerFor<Pod>(R.pods, { fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' });
    pods.addEventHandler(filtering((p) => !p.spec.nodeName && this.responsibleFor(p), {
      onAdd: (p) => this.pending(p) && this.queue.add(p),
      onUpdate: (_o, p) => this.pending(p) && this.queue.update(p),
      onDelete: (p) => this.queue.delete(p),
    }));
    pods.addEventHandler(filtering((p) => !!p.spec.nodeName, {
      onAdd: (p) => {
        this.cache.addPod(p);
        this.queue.delete(p);
        // A pod placed elsewhere can satisfy a pending pod's pod affinity (or let it spread).
        this.queue.moveToActiveOrBackoffQueueIf('AssignedPodAdd', (q) => !!q.spec.affinity?.podAffinity || !!q.spec.topologySpreadConstraints?.length);
      },
      onUpdate: (_o, p) => this.cache.updatePod(p),
      onDelete: (p) => {
        this.cache.removePod(p);
        this.queue.moveAllToActiveOrBackoffQueue('AssignedPodDelete');
      },
    }));
    // A claim bound, a volume made or a class added can let a pod VolumeBinding turned away in.
    for (const res of [R.persistentvolumeclaims, R.persistentvolumes, R.storageclasses]) {
      if (!res) continue;
      inf.informerFor(res).addEventHandler({
        onAdd: () => this.queue.moveToActiveOrBackoffQueueIf(`${res.kind}Add`, usesClaims),
        onUpdate: () => this.queue.moveToActiveOrBackoffQueueIf(`${res.kind}Update`, usesClaims),
      });
    }
    inf.informerFor<Node>(R.nodes).addEventHandler({
      onAdd: (n) => {
        this.cache.addNode(n);
        this.queue.moveAllToActiveOrBackoffQueue('NodeAdd');
      },
      onUpdate: (o, n) => {
        this.cache.updateNode(n);
        if (nodeSchedulingPropertiesChanged(o, n)) this.queue.moveAllToActiveOrBackoffQueue('NodeUpdate');
      },
      onDelete: (n) => this.cache.removeNode(n),
    });
  }

  /** Start informers, wait for their caches, then schedule until stop(). */
  async run(signal?: AbortSignal): Promise<void> {
    this.wire();
    this.opts.informers.start();
    await this.opts.informers.waitForCacheSync(signal);
    log.info('caches synced, scheduling', { schedulerName: this.name, nodes: this.cache.nodeCount() });
    this.queue.run();
    this.cleanupTimer = setInterval(() => this.cache.cleanupExpired(), 1000);
    this.loopDone = this.loop();
    await this.loopDone;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.close();
    clearInterval(this.cleanupTimer);
    await this.loopDone;
    await Promise.allSettled([...this.inflightBindings]);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const info = await this.queue.pop();
      if (!info) return;
      this.scheduleOne(info);
      // Let informer events and binding responses in between pods.
      await new Promise((r) => setImmediate(r));
    }
  }

  /** One scheduling cycle; the binding cycle continues in the background. */
  scheduleOne(info: QueuedPodInfo): void {
    const pod = info.pod;
    const cycle = this.queue.cycle();
    if (pod.metadata.deletionTimestamp || !this.pending(pod)) {
      this.queue.done(info.key);
      return;
    }
    const start = performance.now();
    const ctx = newCycleContext(pod, this.cluster, this.cache);
    let nodeName: string;
    try {
      nodeName = this.algorithm.schedule(ctx, this.cache.nodeInfos()).nodeName;
    } catch (e) {
      if (!(e instanceof FitError)) throw e;
      this.recordUnschedulable(info, cycle, e.message, start);
      return;
    }
    this.cache.assumePod(pod, nodeName);
    const p = this.bind(info, cycle, nodeName, start, ctx);
    this.inflightBindings.add(p);
    void p.finally(() => this.inflightBindings.delete(p));
  }

  private async bind(info: QueuedPodInfo, cycle: number, nodeName: string, start: number, ctx: CycleContext): Promise<void> {
    const pod = info.pod;
    const { namespace, name } = pod.metadata;
    const node = this.cache.nodeInfo(nodeName)?.node;
    for (const plugin of node ? this.opts.preBinds ?? defaultPreBinds : []) {
      const status = await plugin.preBind(ctx, pod, node!, this.opts.client).catch((e: Error) => unschedulable(e.message));
      if (!status) continue;
      this.cache.forgetPod(pod);
      attempts.inc({ result: 'error', profile: this.name });
      this.recordEvent(pod, 'Warning', 'FailedScheduling', status.reasons.join(', '));
      this.queue.addUnschedulable(info, cycle, true);
      return;
    }
    try {
      await this.opts.client.resource(R.pods, namespace).createSubresource(name!, 'binding', {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name, namespace },
        target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
      });
    } catch (e) {
      this.cache.forgetPod(pod);
      attempts.inc({ result: 'error', profile: this.name });
      attemptDuration.observe({ result: 'error', profile: this.name }, (performance.now() - start) / 1000);
      if (isNotFound(e)) {
        this.queue.delete(pod);
        return;
      }
      log.warn('binding rejected', { pod: info.key, node: nodeName, err: String(e) });
      this.recordEvent(pod, 'Warning', 'FailedScheduling', `Binding rejected: ${(e as Error).message}`);
      this.queue.addUnschedulable(info, cycle, true);
      return;
    }
    this.cache.finishBinding(pod);
    this.queue.done(info.key);
    attempts.inc({ result: 'scheduled', profile: this.name });
    attemptDuration.observe({ result: 'scheduled', profile: this.name }, (performance.now() - start) / 1000);
    sliDuration.observe({ attempts: String(info.attempts) }, (Date.now() - info.initialAttemptTimestamp) / 1000);
    this.recordEvent(pod, 'Normal', 'Scheduled', `Successfully assigned ${namespace}/${name} to ${nodeName}`);
  }

  /** List items may lack kind and apiVersion, which the event's involvedObject needs. */
  private recordEvent(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.opts.events?.event({ ...pod, apiVersion: 'v1', kind: 'Pod' }, type, reason, message);
  }

  private recordUnschedulable(info: QueuedPodInfo, cycle: number, message: string, start: number): void {
    const pod = info.pod;
    attempts.inc({ result: 'unschedulable', profile: this.name });
    attemptDuration.observe({ result: 'unschedulable', profile: this.name }, (performance.now() - start) / 1000);
    log.info('unable to schedule pod', { pod: info.key, message });
    this.recordEvent(pod, 'Warning', 'FailedScheduling', message);
    this.queue.addUnschedulable(info, cycle);
    void this.setPodScheduledFalse(pod, message);
  }

  /** Write PodScheduled=False/Unschedulable, unless the pod already says exactly that. */
  private async setPodScheduledFalse(pod: Pod, message: string): Promise<void> {
    const cur = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (cur && cur.status === 'False' && cur.reason === 'Unschedulable' && cur.message === message) return;
    const next: PodCondition = {
      type: 'PodScheduled',
      status: 'False',
      lastProbeTime: null,
      lastTransitionTime: cur?.status === 'False' && cur.lastTransitionTime ? cur.lastTransitionTime : new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      reason: 'Unschedulable',
      message,
    };
    try {
      // As kube-scheduler's PatchPodStatus: a strategic merge patch, whose conditions list
      // merges by type, so conditions the kubelet writes meanwhile are not overwritten.
      await this.opts.client.resource<Pod>(R.pods, pod.metadata.namespace).patch(pod.metadata.name!, 'strategic', { status: { conditions: [next] } }, { subresource: 'status' });
    } catch (e) {
      if (!isNotFound(e)) log.warn('failed to update pod condition', { pod: objectKey(pod), err: String(e) });
    }
  }
}

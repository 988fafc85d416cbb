// Pod helpers shared by the controllers (pkg/api/v1/pod, controller_utils.go).

import type { Pod, Service, ServicePort } from '../api/types.js';
import { objectKey } from '../api/types.js';
import type { Informer, WorkQueue } from '../client/interfaces.js';

export function podCondition(pod: Pod, type: string) {
  return pod.status?.conditions?.find((c) => c.type === type);
}

export function isPodReady(pod: Pod): boolean {
  return podCondition(pod, 'Ready')?.status === 'True';
}

/** Ready for at least minReadySeconds (podutil.IsPodAvailable). */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: Date): boolean {
  const c = podCondition(pod, 'Ready');
  if (c?.status !== 'True') return false;
  if (minReadySeconds === 0) return true;
  const since = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  return !Number.isNaN(since) && since + minReadySeconds * 1000 <= now.getTime();
}

/** Counts toward a controller's replicas: not finished and not being deleted (FilterActivePods). */
export function isPodActive(pod: Pod): boolean {
  return pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

const phaseRank: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function time(s: string | undefined): number {
  return s ? Date.parse(s) : 0;
}

/**
 * kube's ActivePods ordering: the pod that should be deleted first sorts
 * first. Unassigned before assigned, Pending before Unknown before Running,
 * not ready before ready, ready for less time before longer, more restarts
 * before fewer, newer before older.
 */
export function compareForDeletion(a: Pod, b: Pod): number {
  const assigned = (p: Pod) => (p.spec.nodeName ? 1 : 0);
  if (assigned(a) !== assigned(b)) return assigned(a) - assigned(b);
  const pa = phaseRank[a.status?.phase ?? 'Pending'] ?? 0;
  const pb = phaseRank[b.status?.phase ?? 'Pending'] ?? 0;
  if (pa !== pb) return pa - pb;
  const ra = isPodReady(a) ? 1 : 0;
  const rb = isPodReady(b) ? 1 : 0;
  if (ra !== rb) return ra - rb;
  if (ra && rb) {
    const ta = time(podCondition(a, 'Ready')?.lastTransitionTime);
    const tb = time(podCondition(b, 'Ready')?.lastTransitionTime);
    if (ta !== tb) return tb - ta;
  }
  const restarts = (p: Pod) => (p.status?.containerStatuses ?? []).reduce((m, c) => Math.max(m, c.restartCount), 0);
  if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
  return time(b.metadata.creationTimestamp) - time(a.metadata.creationTimestamp);
}

/**
 * kube's slowStartBatch: call fn `count` times in batches of 1, 2, 4, ...
 * running each batch in parallel and stopping after the first batch with a
 * failure, so a systematic error (quota, bad template) costs one call, not
 * hundreds. Returns how many succeeded and the first error.
 */
export async function slowStartBatch(count: number, initialBatchSize: number, fn: () => Promise<void>): Promise<{ successes: number; error?: unknown }> {
  let remaining = count;
  let successes = 0;
  for (let batch = Math.min(remaining, initialBatchSize); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, fn));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    successes += results.length - results.filter((r) => r.status === 'rejected').length;
    if (failed) return { successes, error: failed.reason };
    remaining -= batch;
  }
  return { successes };
}

/** FindPort: a number as is; a name from the pod's container ports (or restartable init containers) with the same protocol. */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const proto = sp.protocol ?? 'TCP';
  const sidecars = (pod.spec.initContainers ?? []).filter((c) => (c as { restartPolicy?: string }).restartPolicy === 'Always');
  for (const c of [...pod.spec.containers, ...sidecars]) {
    const p = c.ports?.find((cp) => cp.name === target && (cp.protocol ?? 'TCP') === proto);
    if (p) return p.containerPort;
  }
  return undefined;
}

/** A Service without a selector selects nothing (its endpoints are someone else's). */
export function serviceSelects(svc: Service, pod: Pod): boolean {
  const sel = svc.spec.selector;
  if (!sel) return false;
  return Object.entries(sel).every(([k, v]) => pod.metadata.labels?.[k] === v);
}

/**
 * Queue a Service's key on its own changes and on any change of a pod it
 * selects, before or after the change (a relabelled pod leaves one Service
 * and joins another): the wiring of kube's endpoints and EndpointSlice controllers.
 */
export function queueServicesOfPods(services: Informer<Service>, pods: Informer<Pod>, queue: WorkQueue): void {
  const enqueue = (s: Service) => queue.add(objectKey(s));
  services.addEventHandler({ onAdd: enqueue, onUpdate: (_, s) => enqueue(s), onDelete: enqueue });
  const podChanged = (pod: Pod) => {
    for (const svc of services.lister.list({ namespace: pod.metadata.namespace })) {
      if (serviceSelects(svc, pod)) enqueue(svc);
    }
  };
  pods.addEventHandler({
    onAdd: podChanged,
    onUpdate: (old, p) => {
      if (old.metadata.resourceVersion === p.metadata.resourceVersion) return;
      podChanged(old);
      podChanged(p);
    },
    onDelete: podChanged,
  });
}

// The replica calculator of kube's HPA (pkg/controller/podautoscaler/
// replica_calculator.go): from per-pod resource usage and the pods' requests,
// the replica count that brings the average to the target. Pods that are
// unready or still starting are left out of a scale-up's evidence, pods
// without metrics are assumed at the target's worst case for the direction
// the rest points to, and a change within the tolerance is no change.
// Values are milli-units (kube's metrics client reads MilliValue() of every
// resource), so CPU is millicores and memory milli-bytes.

import type { Pod } from '../../api/types.js';
import { milliValue } from '../../api/quantity.js';

export interface PodMetric {
  /** Usage in milli-units. */
  value: number;
  timestamp: Date;
  windowMs: number;
}
export type PodMetrics = Map<string, PodMetric>;

export interface CalculatorOptions {
  /** --horizontal-pod-autoscaler-tolerance. */
  tolerance: number;
  /** --horizontal-pod-autoscaler-cpu-initialization-period. */
  cpuInitializationPeriodMs: number;
  /** --horizontal-pod-autoscaler-initial-readiness-delay. */
  delayOfInitialReadinessStatusMs: number;
  now?: () => Date;
}

export class CalculationError extends Error {}

interface Groups { readyPodCount: number; unready: Set<string>; missing: Set<string>; ignored: Set<string> }

/** groupPods: which pods' samples count. */
export function groupPods(pods: readonly Pod[], metrics: PodMetrics, resource: string, o: CalculatorOptions, now: Date): Groups {
  const g: Groups = { readyPodCount: 0, unready: new Set(), missing: new Set(), ignored: new Set() };
  for (const pod of pods) {
    const name = pod.metadata.name!;
    if (pod.metadata.deletionTimestamp || pod.status?.phase === 'Failed') {
      g.ignored.add(name);
      continue;
    }
    if (pod.status?.phase === 'Pending') {
      g.unready.add(name);
      continue;
    }
    const metric = metrics.get(name);
    if (!metric) {
      g.missing.add(name);
      continue;
    }
    if (resource === 'cpu') {
      const cond = (pod.status?.conditions ?? []).find((c: { type?: string }) => c.type === 'Ready') as { status?: string; lastTransitionTime?: string } | undefined;
      const start = pod.status?.startTime ? Date.parse(pod.status.startTime) : NaN;
      let unready: boolean;
      if (!cond || Number.isNaN(start)) unready = true;
      else {
        const transition = Date.parse(cond.lastTransitionTime ?? '') || 0;
        if (start + o.cpuInitializationPeriodMs > now.getTime()) {
          // Still initialising: only a ready pod with a full window of samples since it became ready counts.
          unready = cond.status === 'False' || metric.timestamp.getTime() < transition + metric.windowMs;
        } else {
          // Past initialisation: a pod that has never been ready is left out.
          unready = cond.status === 'False' && start + o.delayOfInitialReadinessStatusMs > transition;
        }
      }
      if (unready) {
        g.unready.add(name);
        continue;
      }
    }
    g.readyPodCount++;
  }
  return g;
}

/** calculatePodRequests: each pod's request of the resource (one container's, or the sum). */
export function podRequests(pods: readonly Pod[], resource: string, container?: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const pod of pods) {
    let sum = 0;
    for (const c of pod.spec?.containers ?? []) {
      if (container && c.name !== container) continue;
      const q = c.resources?.requests?.[resource];
      if (q === undefined) throw new CalculationError(`missing request for ${resource} in container ${c.name} of Pod ${pod.metadata.name}`);
      sum += milliValue(q);
    }
    out.set(pod.metadata.name!, sum);
  }
  return out;
}

/** GetResourceUtilizationRatio. */
export function utilizationRatio(metrics: PodMetrics, requests: Map<string, number>, target: number): { ratio: number; utilization: number; rawAverage: number } {
  let metricsTotal = 0;
  let requestsTotal = 0;
  let entries = 0;
  for (const [name, m] of metrics) {
    const req = requests.get(name);
    if (req === undefined) continue;
    metricsTotal += m.value;
    requestsTotal += req;
    entries++;
  }
  if (requestsTotal === 0) throw new CalculationError('no metrics returned matched known pods');
  const utilization = Math.trunc((metricsTotal * 100) / requestsTotal);
  return { ratio: utilization / target, utilization, rawAverage: Math.trunc(metricsTotal / entries) };
}

/** GetMetricUsageRatio. */
function usageRatio(metrics: PodMetrics, target: number): { ratio: number; usage: number } {
  let total = 0;
  for (const m of metrics.values()) total += m.value;
  const usage = Math.trunc(total / metrics.size);
  return { ratio: usage / target, usage };
}

export class ReplicaCalculator {
  constructor(private readonly o: CalculatorOptions) {}

  private within(ratio: number): boolean {
    return Math.abs(1 - ratio) <= this.o.tolerance;
  }

  private prepare(pods: readonly Pod[], metrics: PodMetrics, resource: string): { g: Groups; metrics: PodMetrics } {
    if (!pods.length) throw new CalculationError('no pods returned by selector while calculating replica count');
    const m = new Map(metrics);
    const g = groupPods(pods, m, resource, this.o, this.o.now?.() ?? new Date());
    for (const n of g.ignored) m.delete(n);
    for (const n of g.unready) m.delete(n);
    if (!m.size) throw new CalculationError('did not receive metrics for targeted pods (pods might be unready)');
    return { g, metrics: m };
  }

  /** GetResourceReplicas: target utilization as a percentage of the pods' requests. */
  resourceReplicas(currentReplicas: number, targetUtilization: number, resource: string, pods: readonly Pod[], podMetrics: PodMetrics, container?: string):
    { replicas: number; utilization: number; rawAverage: number } {
    const { g, metrics } = this.prepare(pods, podMetrics, resource);
    const requests = podRequests(pods, resource, container);
    const { ratio, utilization, rawAverage } = utilizationRatio(metrics, requests, targetUtilization);
    const scaleUpWithUnready = g.unready.size > 0 && ratio > 1;
    if (!scaleUpWithUnready && g.missing.size === 0) {
      if (this.within(ratio)) return { replicas: currentReplicas, utilization, rawAverage };
      return { replicas: Math.ceil(ratio * g.readyPodCount), utilization, rawAverage };
    }
    const at = (value: number): PodMetric => ({ value, timestamp: new Date(0), windowMs: 0 });
    if (g.missing.size) {
      // Scale-down: a pod without metrics is assumed at its whole request (or the target, above 100%); scale-up: at nothing.
      if (ratio < 1) for (const n of g.missing) metrics.set(n, at(Math.trunc((requests.get(n)! * Math.max(100, targetUtilization)) / 100)));
      else if (ratio > 1) for (const n of g.missing) metrics.set(n, at(0));
    }
    if (scaleUpWithUnready) for (const n of g.unready) metrics.set(n, at(0));
    const next = utilizationRatio(metrics, requests, targetUtilization).ratio;
    if (this.within(next) || (ratio < 1 && next > 1) || (ratio > 1 && next < 1)) return { replicas: currentReplicas, utilization, rawAverage };
    const replicas = Math.ceil(next * metrics.size);
    if ((next < 1 && replicas > currentReplicas) || (next > 1 && replicas < currentReplicas)) return { replicas: currentReplicas, utilization, rawAverage };
    return { replicas, utilization, rawAverage };
  }

  /** GetRawResourceReplicas / calcPlainMetricReplicas: a target average value per pod (milli-units). */
  rawResourceReplicas(currentReplicas: number, targetUsage: number, resource: string, pods: readonly Pod[], podMetrics: PodMetrics): { replicas: number; usage: number } {
    const { g, metrics } = this.prepare(pods, podMetrics, resource);
    const { ratio, usage } = usageRatio(metrics, targetUsage);
    const scaleUpWithUnready = g.unready.size > 0 && ratio > 1;
    if (!scaleUpWithUnready && g.missing.size === 0) {
      if (this.within(ratio)) return { replicas: currentReplicas, usage };
      return { replicas: Math.ceil(ratio * g.readyPodCount), usage };
    }
    const at = (value: number): PodMetric => ({ value, timestamp: new Date(0), windowMs: 0 });
    if (g.missing.size) {
      if (ratio < 1) for (const n of g.missing) metrics.set(n, at(targetUsage));
      else for (const n of g.missing) metrics.set(n, at(0));
    }
    if (scaleUpWithUnready) for (const n of g.unready) metrics.set(n, at(0));
    const next = usageRatio(metrics, targetUsage).ratio;
    if (this.within(next) || (ratio < 1 && next > 1) || (ratio > 1 && next < 1)) return { replicas: currentReplicas, usage };
    const replicas = Math.ceil(next * metrics.size);
    if ((next < 1 && replicas > currentReplicas) || (next > 1 && replicas < currentReplicas)) return { replicas: currentReplicas, usage };
    return { replicas, usage };
  }
}

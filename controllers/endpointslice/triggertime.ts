// endpoints.kubernetes.io/last-change-trigger-time (TriggerTimeTracker in
// k8s.io/endpointslice/util): the earliest change among the pods and the
// Service since the previous sync, which consumers use to measure how long
// programming a change took. A pod's change time is its Ready condition's
// last transition; a Service's is its creation.

import type { Pod, Service } from '../../api/types.js';
import { podCondition } from '../podutil.js';

export const triggerTimeAnnotation = 'endpoints.kubernetes.io/last-change-trigger-time';

interface State {
  pods: Map<string, number>;
  service: number;
}

const time = (s: string | undefined) => (s ? Date.parse(s) : NaN);

export class TriggerTimeTracker {
  private readonly services = new Map<string, State>();

  /** The trigger time for this sync, or undefined when nothing the tracker follows has changed. */
  compute(key: string, svc: Service, pods: readonly Pod[]): Date | undefined {
    const prev = this.services.get(key);
    let min = Infinity;
    const consider = (t: number) => {
      if (!Number.isNaN(t) && t < min) min = t;
    };
    const serviceTime = time(svc.metadata.creationTimestamp);
    // A Service seen for the first time changed when it was created.
    if (!prev) consider(serviceTime);
    const now = new Map<string, number>();
    for (const pod of pods) {
      const t = time(podCondition(pod, 'Ready')?.lastTransitionTime);
      if (Number.isNaN(t)) continue;
      now.set(pod.metadata.name!, t);
      if (prev?.pods.get(pod.metadata.name!) !== t) consider(t);
    }
    if (prev && prev.service !== serviceTime) consider(serviceTime);
    this.services.set(key, { pods: now, service: serviceTime });
    return min === Infinity ? undefined : new Date(min);
  }

  deleteService(key: string): void {
    this.services.delete(key);
  }
}

/** Go's time.RFC3339Nano in UTC: fractional seconds only when there are any, without trailing zeros. */
export function rfc3339Nano(d: Date): string {
  return d.toISOString().replace(/\.?0*Z$/, 'Z');
}

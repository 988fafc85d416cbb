// A pod's quality-of-service class (k8s.io/kubernetes/pkg/apis/core/helper/qos
// ComputePodQOS), which the API server records in status.qosClass when the
// pod is created and which never changes after. Only cpu and memory count;
// init containers count like app containers (ephemeral ones do not).

import type { Container, PodSpec } from './types.js';
import { parseQuantity } from './quantity.js';

export type QOSClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

const computeResources = ['cpu', 'memory'];

/** A quantity that does not parse counts as zero: validation refuses it separately. */
function amount(q: unknown): number {
  if (typeof q !== 'string' && typeof q !== 'number') return 0;
  try {
    return parseQuantity(q);
  } catch {
    return 0;
  }
}

/** Sums compared as Quantity.Cmp would, without a double's last-digit noise ("0.1" + "0.2" is "300m"). */
const same = (a: number, b: number) => Math.abs(a - b) <= Math.max(Math.abs(a), Math.abs(b)) * 1e-12;

export function podQOSClass(spec: PodSpec | undefined): QOSClass {
  const requests = new Map<string, number>();
  const limits = new Map<string, number>();
  let guaranteed = true;
  // Called before validation: anything that is not a list of objects counts as no containers (validation refuses it).
  const list = (v: unknown): Container[] => (Array.isArray(v) ? v.filter((c) => c && typeof c === 'object') : []);
  const containers = [...list(spec?.containers), ...list(spec?.initContainers)];
  for (const c of containers) {
    const res = (c.resources && typeof c.resources === 'object' ? c.resources : {}) as Container['resources'] & object;
    for (const [name, q] of Object.entries(res.requests && typeof res.requests === 'object' ? res.requests : {})) {
      const v = amount(q);
      if (computeResources.includes(name) && v > 0) requests.set(name, (requests.get(name) ?? 0) + v);
    }
    const limited = new Set<string>();
    for (const [name, q] of Object.entries(res.limits && typeof res.limits === 'object' ? res.limits : {})) {
      const v = amount(q);
      if (!computeResources.includes(name) || v <= 0) continue;
      limited.add(name);
      limits.set(name, (limits.get(name) ?? 0) + v);
    }
    // Every container must limit both cpu and memory for the pod to be Guaranteed.
    if (!computeResources.every((r) => limited.has(r))) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed) {
    for (const [name, req] of requests) {
      const lim = limits.get(name);
      if (lim === undefined || !same(lim, req)) {
        guaranteed = false;
        break;
      }
    }
  }
  return guaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}

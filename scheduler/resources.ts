// Pod resource requests as the scheduler accounts them (k8s.io/component-helpers
// resource.PodRequests): the sum over containers, raised to the largest init
// container, since init containers run one at a time before the others.

import { milliValue, value } from '../api/quantity.js';
import type { Container, Pod, ResourceList } from '../api/types.js';

/** Requests used for scoring when a container asks for nothing (schedutil.DefaultMilliCPURequest / DefaultMemoryRequest). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

export interface Resources {
  milliCPU: number;
  memory: number;
}

function containerRequests(c: Container, nonZero: boolean): Resources {
  const req: ResourceList = c.resources?.requests ?? {};
  const cpu = req.cpu ?? c.resources?.limits?.cpu;
  const mem = req.memory ?? c.resources?.limits?.memory;
  return {
    milliCPU: cpu !== undefined ? milliValue(cpu) : nonZero ? DEFAULT_MILLI_CPU_REQUEST : 0,
    memory: mem !== undefined ? value(mem) : nonZero ? DEFAULT_MEMORY_REQUEST : 0,
  };
}

/**
 * The pod's effective requests. With nonZero, containers that request nothing
 * count with kube's defaults so that spreading and balancing still see them.
 * A container with only a limit requests its limit, as API server defaulting
 * makes it; mirrored here so objects that skipped defaulting count the same.
 */
export function podRequests(pod: Pod, nonZero = false): Resources {
  const out: Resources = { milliCPU: 0, memory: 0 };
  for (const c of pod.spec.containers ?? []) {
    const r = containerRequests(c, nonZero);
    out.milliCPU += r.milliCPU;
    out.memory += r.memory;
  }
  for (const c of pod.spec.initContainers ?? []) {
    const r = containerRequests(c, nonZero);
    out.milliCPU = Math.max(out.milliCPU, r.milliCPU);
    out.memory = Math.max(out.memory, r.memory);
  }
  return out;
}

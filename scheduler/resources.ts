// Pod resource requests as the scheduler accounts them (k8s.io/component-helpers
// resource.PodRequests): the sum over containers, raised to the largest init
// container, since init containers run one at a time before the others.

import type { Container, Pod, ResourceList } from '../api/types.js';

/** Requests used for scoring when a container asks for nothing (schedutil.DefaultMilliCPURequest / DefaultMemoryRequest). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

export interface Resources {
  milliCPU: number;
  memory: number;
}

const suffixes: Record<string, number> = {
  '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
  m: 1e-3, u: 1e-6, n: 1e-9,
};

// A private resource.Quantity parser until api/ ships one: enough for the
// decimal, binary-SI and exponent forms Kubernetes accepts.
function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([+-]?\d*\.?\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m|u|n)?)$/.exec(q.trim());
  if (!m) throw new Error(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': ${q}`);
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  return base * suffixes[m[3] ?? ''];
}

/** CPU in millicores, rounded up as Quantity.MilliValue does. */
export function parseCpuMillis(q: string | number): number {
  return Math.ceil(Math.round(parseQuantity(q) * 1e6) / 1e3);
}

/** Bytes (or any integer quantity), rounded up as Quantity.Value does. */
export function parseBytes(q: string | number): number {
  return Math.ceil(parseQuantity(q));
}

function containerRequests(c: Container, nonZero: boolean): Resources {
  const req: ResourceList = c.resources?.requests ?? {};
  const cpu = req.cpu ?? c.resources?.limits?.cpu;
  const mem = req.memory ?? c.resources?.limits?.memory;
  return {
    milliCPU: cpu !== undefined ? parseCpuMillis(cpu) : nonZero ? DEFAULT_MILLI_CPU_REQUEST : 0,
    memory: mem !== undefined ? parseBytes(mem) : nonZero ? DEFAULT_MEMORY_REQUEST : 0,
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

// What the HPA controller reads and writes besides HPAs and pods: per-pod
// resource usage from metrics.k8s.io (kube's resource metrics client) and
// the target's scale subresource (kube's scale client). Interfaces, so unit
// tests drive the controller with fakes.

import { errors, StatusError } from '../../api/errors.js';
import { findByKind } from '../../api/resources.js';
import { parseQuantity } from '../../api/quantity.js';
import type { KubeObject, Status } from '../../api/types.js';
import type { Client } from '../../client/interfaces.js';
import type { PodMetrics } from './replicacalculator.js';

export interface CrossVersionObjectReference { apiVersion?: string; kind: string; name: string }

export interface Scale { metadata: KubeObject['metadata']; spec: { replicas?: number }; status: { replicas: number; selector?: string } }

export interface ScaleClient {
  get(namespace: string, ref: CrossVersionObjectReference): Promise<Scale>;
  update(namespace: string, ref: CrossVersionObjectReference, scale: Scale): Promise<Scale>;
}

export interface MetricsClient {
  /** Each selected pod's usage of a resource, summed over its containers or of one container, in milli-units. */
  resourceMetric(namespace: string, selector: string, resource: string, container?: string): Promise<PodMetrics>;
}

function failure(r: { status: number; body: unknown }): StatusError {
  const b = r.body as Status | undefined;
  if (b && typeof b === 'object' && b.kind === 'Status') return new StatusError(b);
  return errors.fromHTTP(r.status, typeof r.body === 'string' ? r.body : JSON.stringify(r.body));
}

/** The scale subresource over the API, the target's resource found by its apiVersion and kind. */
export class RestScaleClient implements ScaleClient {
  constructor(private readonly client: Client) {}

  private path(namespace: string, ref: CrossVersionObjectReference): string {
    const r = findByKind(ref.apiVersion ?? '', ref.kind);
    if (!r || !r.subresources.includes('scale')) throw new Error(`no scale subresource for ${ref.kind} in ${ref.apiVersion ?? '<none>'}`);
    const root = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
    return `${root}/namespaces/${encodeURIComponent(namespace)}/${r.plural}/${encodeURIComponent(ref.name)}/scale`;
  }

  async get(namespace: string, ref: CrossVersionObjectReference): Promise<Scale> {
    const r = await this.client.request('GET', this.path(namespace, ref));
    if (r.status !== 200) throw failure(r);
    return r.body as Scale;
  }

  async update(namespace: string, ref: CrossVersionObjectReference, scale: Scale): Promise<Scale> {
    const r = await this.client.request('PUT', this.path(namespace, ref), { apiVersion: 'autoscaling/v1', kind: 'Scale', ...scale });
    if (r.status !== 200) throw failure(r);
    return r.body as Scale;
  }
}

interface PodMetricsItem { metadata: { name: string }; timestamp: string; window: string; containers?: { name: string; usage?: Record<string, string> }[] }

const durationMs = (s: string) => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(s ?? '');
  if (!m) return 0;
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
};

/** metrics.k8s.io/v1beta1 PodMetrics, as kube's resourceMetricsClient reads them. */
export class RestMetricsClient implements MetricsClient {
  constructor(private readonly client: Client) {}

  async resourceMetric(namespace: string, selector: string, resource: string, container?: string): Promise<PodMetrics> {
    const r = await this.client.request('GET', `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/pods?labelSelector=${encodeURIComponent(selector)}`);
    if (r.status !== 200) throw failure(r);
    const items: PodMetricsItem[] = r.body?.items ?? [];
    if (!items.length) throw new Error('no metrics returned from resource metrics API');
    const out: PodMetrics = new Map();
    for (const item of items) {
      let sum = 0;
      let missing = false;
      let seen = false;
      for (const c of item.containers ?? []) {
        if (container && c.name !== container) continue;
        const q = c.usage?.[resource];
        if (q === undefined) {
          missing = true;
          break;
        }
        seen = true;
        sum += Math.round(parseQuantity(q) * 1000);
      }
      // A pod with a container missing the resource has no usable sample (kube skips it).
      if (missing || !seen) continue;
      out.set(item.metadata.name, { value: sum, timestamp: new Date(item.timestamp), windowMs: durationMs(item.window) });
    }
    return out;
  }
}

/** resource.NewMilliQuantity(v, DecimalSI).String(): "250m", "2", "200M". */
export function formatMilliQuantity(milli: number): string {
  if (milli % 1000 !== 0) return `${milli}m`;
  let v = milli / 1000;
  if (v === 0) return '0';
  for (const suffix of ['', 'k', 'M', 'G', 'T', 'P']) {
    if (v % 1000 !== 0 || suffix === 'P') return `${v}${suffix}`;
    v /= 1000;
  }
  return String(v);
}

// Small HTTP helpers for the API server suites: JSON in, status and JSON out.

import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { apiVersionOf, type ResourceInfo } from '../../api/resources.js';
import { createCSR } from '../../lib/pki.js';

export interface Reply<T = any> { status: number; body: T; headers: Headers; text: string }

export async function call<T = any>(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] ??= 'application/json';
  }
  const r = await fetch(base + path, init);
  const text = await r.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: r.status, body: parsed, headers: r.headers, text };
}

export function client(base: string) {
  return {
    get: <T = any>(p: string, h?: Record<string, string>) => call<T>(base, 'GET', p, undefined, h),
    post: <T = any>(p: string, b: unknown, h?: Record<string, string>) => call<T>(base, 'POST', p, b, h),
    put: <T = any>(p: string, b: unknown, h?: Record<string, string>) => call<T>(base, 'PUT', p, b, h),
    patch: <T = any>(p: string, b: unknown, type = 'application/merge-patch+json') => call<T>(base, 'PATCH', p, b, { 'Content-Type': type }),
    del: <T = any>(p: string, b?: unknown) => call<T>(base, 'DELETE', p, b),
  };
}

export interface WatchStream {
  events: { type: string; object: any }[];
  /** Resolves when at least n events arrived (or rejects after the timeout). */
  waitFor(n: number, timeoutMs?: number): Promise<{ type: string; object: any }[]>;
  ended: Promise<void>;
  status: Promise<number>;
  close(): void;
}

export function watch(base: string, path: string, headers: Record<string, string> = {}): WatchStream {
  const ac = new AbortController();
  const events: { type: string; object: any }[] = [];
  let notify = () => {};
  let resolveStatus!: (n: number) => void;
  const status = new Promise<number>((r) => { resolveStatus = r; });
  const ended = (async () => {
    try {
      const r = await fetch(base + path, { signal: ac.signal, headers });
      resolveStatus(r.status);
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.trim()) events.push(JSON.parse(line));
          notify();
        }
      }
    } catch (e) {
      if ((e as Error).name !== 'AbortError') throw e;
    } finally {
      notify();
    }
  })();
  let done = false;
  ended.finally(() => { done = true; }).catch(() => {});
  return {
    events,
    ended,
    status,
    close: () => ac.abort(),
    async waitFor(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (events.length < n) {
        if (done) throw new Error(`watch ended after ${events.length} events, wanted ${n}: ${JSON.stringify(events.map((e) => e.type))}`);
        if (Date.now() > deadline) throw new Error(`timed out with ${events.length} events, wanted ${n}`);
        await new Promise<void>((r) => { notify = r; setTimeout(r, 100); });
      }
      return events;
    },
  };
}

export const pod = (name: string, extra: Record<string, any> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, ...(extra.metadata ?? {}) },
  spec: { containers: [{ name: 'c', image: 'busybox:latest' }], ...(extra.spec ?? {}) },
});

export const deployment = (name: string, replicas = 1) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox:latest' }] } },
  },
});

/** RFC 7386 merge, for tests that change objects with GET + PUT instead of PATCH. */
export function mergeInto(target: any, patch: any): any {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out = target && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergeInto(out[k], v);
  }
  return out;
}

/** GET, merge, PUT: the read-modify-write a controller does. */
export async function update(base: string, path: string, patch: unknown): Promise<Reply> {
  const statusPath = path.endsWith('/status') ? path : undefined;
  const cur = await call(base, 'GET', statusPath ? path.slice(0, -'/status'.length) : path);
  if (cur.status !== 200) return cur;
  return call(base, 'PUT', path, mergeInto(cur.body, patch));
}

// A certificate request to put in CertificateSigningRequest samples (made once: key generation is slow).
const sampleCSR = Buffer.from((await createCSR({ cn: 'sample' })).csr).toString('base64');

/** A valid object of each kind in the resource table, for suites that go through every kind. */
/**
 * A valid object of any kind: test/apiserver/samples/<group>/<plural>.yaml
 * when the kind has one (a kind's module comes with its sample there), else
 * one of the cases below. `name` and `labels` replace the sample's own.
 */
const samplesDir = path.join(path.dirname(new URL(import.meta.url).pathname), 'samples');

export function sample(r: ResourceInfo, name: string, labels?: Record<string, string>): any {
  const meta = labels ? { name, labels } : { name };
  // A kind served at several versions may have a sample per version (<plural>.<version>.yaml).
  const versioned = path.join(samplesDir, r.group || 'core', `${r.plural}.${r.version}.yaml`);
  const file = fs.existsSync(versioned) ? versioned : path.join(samplesDir, r.group || 'core', `${r.plural}.yaml`);
  if (fs.existsSync(file)) {
    const obj = yaml.load(fs.readFileSync(file, 'utf8')) as any;
    // A name derived from the object (a CRD's <plural>.<group>) ends in the object's own group: the sample's stands.
    const own = obj.spec?.group && obj.metadata?.name?.endsWith(`.${obj.spec.group}`) ? { name: obj.metadata.name } : {};
    return { ...obj, apiVersion: apiVersionOf(r), kind: r.kind, metadata: { ...obj.metadata, ...meta, ...own } };
  }
  const head = { apiVersion: apiVersionOf(r), kind: r.kind, metadata: meta };
  switch (r.kind) {
    case 'Pod': return { ...pod(name), metadata: meta };
    case 'Service': return { ...head, spec: { selector: { app: name }, ports: [{ port: 80 }] } };
    case 'Endpoints': return { ...head, subsets: [{ addresses: [{ ip: '10.1.0.1' }], ports: [{ port: 80 }] }] };
    case 'Event': return { ...head, involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' }, reason: 'Tested', message: 'hello', type: 'Normal' };
    case 'ConfigMap': return { ...head, data: { k: 'v' } };
    case 'Secret': return { ...head, data: { k: 'dg==' } };
    case 'ReplicaSet': return { ...head, spec: deployment(name).spec };
    case 'Deployment': return { ...deployment(name), metadata: meta };
    case 'Lease': return { ...head, spec: { holderIdentity: 'me', leaseDurationSeconds: 15 } };
    case 'EndpointSlice': return { ...head, addressType: 'IPv4', endpoints: [{ addresses: ['10.1.0.1'] }], ports: [{ port: 80, protocol: 'TCP' }] };
    case 'Node': return { ...head, spec: { taints: [{ key: 'k', effect: 'NoSchedule' }] }, status: { capacity: { cpu: '1', memory: '1Gi' } } };
    case 'Role': case 'ClusterRole': return { ...head, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] };
    case 'RoleBinding': case 'ClusterRoleBinding': return { ...head, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', name: 'u' }] };
    case 'CertificateSigningRequest': return { ...head, spec: { request: sampleCSR, signerName: 'example.com/sample', usages: ['client auth'] } };
    default: return head;
  }
}

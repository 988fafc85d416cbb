// Worker processes (--workers): kube-apiserver serves from every core, and HA
// setups run several API servers on one etcd, so everything a server keeps
// is already in etcd (objects, ClusterIP and NodePort allocations as CAS'd
// keys) or a cache of it (watch caches, namespace phases). node:cluster lets
// N such servers share one listening socket; the primary only forks them,
// restarts one that dies, answers /metrics for all of them and stops them.

import cluster, { type Worker } from 'node:cluster';
import client from 'prom-client';
import { logger } from '../lib/log.js';
import { registry } from '../lib/metrics.js';

const log = logger('apiserver');

/** The worker's slot (0..n-1); slot 0 also runs the once-per-cluster duties. */
const slotEnv = 'SKIFF_APISERVER_WORKER';

interface MetricsRequest { type: 'skiff:metrics'; id: number }
interface MetricsResponse { type: 'skiff:metrics'; id: number; text?: string; error?: string }
const ready = { type: 'skiff:ready' } as const;

/** The slot of this worker, or undefined outside cluster mode. */
export function workerSlot(): number | undefined {
  return cluster.isWorker && process.env[slotEnv] !== undefined ? Number(process.env[slotEnv]) : undefined;
}

/**
 * Run as the primary: fork `n` workers of the same program and keep them
 * running until SIGTERM/SIGINT. A worker that dies before it ever served
 * (a port in use, etcd flags wrong) takes the primary down with it, so the
 * failure surfaces as it does for a single process.
 */
export function runPrimary(n: number): void {
  const aggregator = new client.AggregatorRegistry();
  const slots = new Map<number, number>();
  const served = new Set<number>();
  let stopping = false;

  const fork = (slot: number) => {
    const w = cluster.fork({ [slotEnv]: String(slot) });
    slots.set(w.id, slot);
    w.on('message', (m: { type?: string; id?: number }) => {
      if (m?.type === ready.type) served.add(slot);
      if (m?.type === 'skiff:metrics') void answerMetrics(w, m as MetricsRequest);
    });
  };
  const answerMetrics = async (w: Worker, m: MetricsRequest) => {
    let res: MetricsResponse;
    try {
      res = { type: 'skiff:metrics', id: m.id, text: await aggregator.clusterMetrics() };
    } catch (e) {
      res = { type: 'skiff:metrics', id: m.id, error: (e as Error).message };
    }
    if (w.isConnected()) w.send(res);
  };
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
    if (!workers.length) process.exit(code);
    for (const w of workers) w.process.kill('SIGTERM');
    // A worker stuck in shutdown must not keep the primary (and its port) alive.
    setTimeout(() => {
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      process.exit(code);
    }, 10_000).unref();
    cluster.on('exit', () => {
      if (!Object.keys(cluster.workers ?? {}).length) process.exit(code);
    });
  };

  cluster.on('exit', (w, code, signal) => {
    const slot = slots.get(w.id)!;
    slots.delete(w.id);
    if (stopping) return;
    if (!served.has(slot)) {
      log.error('worker failed to start', { slot, code, signal });
      stop(1);
      return;
    }
    log.warn('worker exited, starting another', { slot, code, signal });
    served.delete(slot);
    // Not at once: a worker that crashes on start must not spin the primary.
    setTimeout(() => { if (!stopping) fork(slot); }, 1000);
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop(0));
  for (let slot = 0; slot < n; slot++) fork(slot);
}

/**
 * Worker side: exit when the primary goes (also on SIGKILL, which closes
 * the IPC channel), tell it when serving, and answer its metrics requests.
 */
export function startWorker(): { ready(): void; metrics(): Promise<string> } {
  process.on('disconnect', () => process.exit(0));
  client.AggregatorRegistry.setRegistries([registry]);
  // Installs the listener that answers the primary's per-worker metrics requests.
  new client.AggregatorRegistry();
  let next = 0;
  const pending = new Map<number, { resolve(text: string): void; reject(e: Error): void }>();
  process.on('message', (m: MetricsResponse) => {
    if (m?.type !== 'skiff:metrics') return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error !== undefined) p?.reject(new Error(m.error));
    else p?.resolve(m.text ?? '');
  });
  return {
    ready: () => process.send?.(ready),
    metrics: () => new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error('metrics from the other workers timed out'));
      }, 6000);
      pending.set(id, {
        resolve: (t) => { clearTimeout(timer); resolve(t); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      process.send?.({ type: 'skiff:metrics', id } satisfies MetricsRequest);
    }),
  };
}

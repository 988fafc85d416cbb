// npm run bench:scheduler — end-to-end scheduling throughput on a real stack:
// etcd, the API server and the scheduler process. 1,000 Ready nodes and
// 10,000 pending pods are created with no scheduler running; then the
// scheduler starts and the clock runs until a watch has seen every binding.
// Printed next to the raw etcd write rate measured in the same run, since
// every binding is at least one etcd write. A second phase then stops the
// scheduler, adds pods that each carry a required podAntiAffinity on hostname
// against all the others (kube's scheduler_perf SchedulingPodAntiAffinity
// shape: one label, mutually exclusive, filling 60% of the nodes as its 3,000
// pods on 5,000 nodes do) and measures a fresh scheduler placing them beside
// the first phase's pods.

import { Etcd3 } from 'etcd3';
import { parseSelector } from '../api/labels.js';
import { R } from '../api/resources.js';
import type { Node, Pod } from '../api/types.js';
import { RestClient } from '../client/rest.js';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEtcd } from '../test/util/etcd.js';
import { freePort, waitFor } from '../test/util/ports.js';
import { startScheduler, type SchedulerProcess } from '../test/scheduler/process.js';
import { apiServerNodeFlags } from '../apiserver/nodeflags.js';
import type { ConnectionConfig } from '../client/kubeconfig.js';
import { testPKI, tlsDispatcher } from '../test/util/pki.js';
import { cpuSeconds } from './proc.js';

const NODES = Number(process.env.BENCH_NODES ?? 1000);
const PODS = Number(process.env.BENCH_PODS ?? 10_000);
const ANTI_PODS = Number(process.env.BENCH_ANTI_PODS ?? Math.floor(NODES * 0.6));
const CONCURRENCY = 50;
const ETCD_PUTS = 10_000;
const DEADLINE_MS = 10 * 60_000;
/** No new binding for this long means the scheduler is stuck: fail with its logs rather than wait for the deadline. */
const STALL_MS = Number(process.env.BENCH_STALL_MS ?? 60_000);
const NS = 'default';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// test/util/apiserver.ts resolves dist/ from the source tree, so from dist/
// the bench starts the compiled server itself.
async function startApiServer(etcd: string, nodeArgs: string[] = []): Promise<{ url: string; admin: ConnectionConfig; proc: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const pki = await testPKI();
  const admin = await pki.connection(url, 'kubernetes-admin', ['system:masters']);
  const proc = spawn(process.execPath, [...apiServerNodeFlags, ...nodeArgs, path.join(dist, 'apiserver', 'main.js'), `--etcd-servers=${etcd}`, '--bind-address=127.0.0.1', `--secure-port=${port}`,
    `--tls-cert-file=${pki.serving.certFile}`, `--tls-private-key-file=${pki.serving.keyFile}`, `--client-ca-file=${pki.caFile}`], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, SKIFF_LOG_LEVEL: 'error' },
  });
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    // SIGINT lets a --cpu-prof profile be written; SIGKILL if it does not go.
    proc.kill(nodeArgs.length ? 'SIGINT' : 'SIGKILL');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  await waitFor('API server /readyz', async () => {
    if (proc.exitCode !== null) throw new Error('API server exited');
    return (await fetch(`${url}/readyz`, { dispatcher: tlsDispatcher(admin) } as RequestInit).catch(() => undefined))?.ok;
  }, 30_000).catch(async (e) => {
    await stop();
    throw e;
  });
  return { url, admin, proc, stop };
}

/** Run fn over 0..n-1 with at most `concurrency` calls in flight. */
async function pool(n: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await fn(next++);
  }));
}

function benchPod(i: number): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `bench-${i}`, namespace: NS, labels: { app: 'bench', shard: String(i % 10) }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `rs-${i % 10}`, uid: `rs-uid-${i % 10}`, controller: true }] },
    spec: { containers: [{ name: 'c', image: 'busybox:latest', command: ['sleep', '3600'], resources: { requests: { cpu: '100m', memory: '128Mi' } } }] },
  };
}

/** Mutually exclusive pods: no two on one node (kube's pod-with-pod-anti-affinity template, one namespace). */
function antiPod(i: number): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `anti-${i}`, namespace: NS, labels: { color: 'green' } },
    spec: {
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchExpressions: [{ key: 'color', operator: 'In', values: ['green'] }] }, topologyKey: 'kubernetes.io/hostname' }] } },
      containers: [{ name: 'c', image: 'busybox:latest', command: ['sleep', '3600'], resources: { requests: { cpu: '100m', memory: '128Mi' } } }],
    },
  };
}

async function etcdWriteRate(endpoint: string): Promise<number> {
  const etcd = new Etcd3({ hosts: endpoint });
  const value = JSON.stringify({ ...benchPod(0), status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] } });
  try {
    const start = performance.now();
    await pool(ETCD_PUTS, CONCURRENCY, async (i) => {
      await etcd.put(`/bench/raw/${i}`).value(value);
    });
    const rate = ETCD_PUTS / ((performance.now() - start) / 1000);
    await etcd.delete().prefix('/bench/raw/');
    return rate;
  } finally {
    etcd.close();
  }
}

/** Prometheus histogram_quantile over one histogram's cumulative buckets. */
function histogramQuantile(metrics: string, name: string, q: number, labelFilter = ''): number | undefined {
  const buckets: [number, number][] = [];
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`) || !line.includes(labelFilter)) continue;
    const le = /le="([^"]+)"/.exec(line)![1];
    const count = Number(line.slice(line.lastIndexOf(' ') + 1));
    const bound = le === '+Inf' ? Infinity : Number(le);
    const existing = buckets.find((b) => b[0] === bound);
    if (existing) existing[1] += count;
    else buckets.push([bound, count]);
  }
  buckets.sort((a, b) => a[0] - b[0]);
  const total = buckets.at(-1)?.[1];
  if (!total) return undefined;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (bound === Infinity) return prevBound;
      return prevBound + ((bound - prevBound) * (rank - prevCount)) / Math.max(1, count - prevCount);
    }
    prevBound = bound;
    prevCount = count;
  }
  return prevBound;
}

/** JSON log lines grouped by level, component and message, with how often each occurred. */
function summarizeLog(tail: string): string {
  const counts = new Map<string, number>();
  for (const line of tail.split('\n').slice(1)) {
    if (!line.trim()) continue;
    let key = line;
    try {
      const l = JSON.parse(line) as { level?: string; component?: string; message?: string };
      key = `${l.level} ${l.component}: ${l.message}`;
    } catch {
      // not JSON (a stack trace): counted as is
    }
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `  ${n} x ${k}`).join('\n');
}

async function main(): Promise<void> {
  const abort = setTimeout(() => {
    console.error(`bench:scheduler: aborting after ${DEADLINE_MS / 60_000} min`);
    void cleanup().finally(() => process.exit(2));
  }, DEADLINE_MS);
  const etcd = await startEtcd();
  let api: Awaited<ReturnType<typeof startApiServer>> | undefined;
  let sched: SchedulerProcess | undefined;
  async function cleanup(): Promise<void> {
    await sched?.stop().catch(() => undefined);
    await api?.stop().catch(() => undefined);
    await etcd.stop().catch(() => undefined);
  }
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup().finally(() => process.exit(130)));
  try {
    const etcdRate = await etcdWriteRate(etcd.endpoint);
    console.log(`raw etcd: ${ETCD_PUTS} puts at concurrency ${CONCURRENCY}: ${etcdRate.toFixed(0)} writes/s`);

    // BENCH_CPU_PROF=dir writes the API server's and the scheduler's CPU profiles there when they stop.
    const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
    // BENCH_SCHEDULER_NODE_ARGS: node flags for the scheduler alone (--trace-gc, --max-semi-space-size=...), to study it without touching the API server.
    const schedNodeArgs = [...prof, ...(process.env.BENCH_SCHEDULER_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [])];
    api = await startApiServer(etcd.endpoint, prof);
    const client = new RestClient(api.admin, { component: 'bench', maxSockets: CONCURRENCY });
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const t = performance.now();
    await pool(NODES, CONCURRENCY, async (i) => {
      const name = `bench-node-${i}`;
      const created = await client.resource<Node>(R.nodes).create({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec: {} });
      const resources = { cpu: '4', memory: '16Gi', pods: '110' };
      await client.resource<Node>(R.nodes).updateStatus({
        ...created,
        status: { capacity: resources, allocatable: resources, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: now, lastTransitionTime: now }] },
      });
    });
    console.log(`created ${NODES} Ready nodes in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    /** Creates the pods with no scheduler running, starts one, and measures until a watch has seen every binding. */
    const phase = async (o: { title: string; count: number; labelSelector: string; make: (i: number) => Pod; checkAnti?: boolean }): Promise<number> => {
      const mine = parseSelector(o.labelSelector);
      const server = api!;
      const t = performance.now();
      await pool(o.count, CONCURRENCY, (i) => client.resource<Pod>(R.pods, NS).create(o.make(i)));
      console.log(`\n[${o.title}] created ${o.count} pending pods in ${((performance.now() - t) / 1000).toFixed(1)} s`);

      const listed = await client.resource<Pod>(R.pods, NS).list({ limit: 1 });
      /** Pod name -> ms after the scheduler started when its binding was seen. */
      const bound = new Map<string, number>();
      let allBound!: () => void;
      let stalled!: (e: Error) => void;
      const done = new Promise<void>((resolve, reject) => {
        allBound = resolve;
        stalled = reject;
      });
      let lastProgress = performance.now();
      let rv = listed.metadata.resourceVersion!;
      let watching = true;
      let current: { stop(): void } | undefined;
      const watch = (): void => {
        const w = client.resource<Pod>(R.pods, NS).watch({ resourceVersion: rv, allowWatchBookmarks: true }, (e) => {
          if (e.type === 'ERROR') return;
          const p = e.object as Pod;
          if (p.metadata.resourceVersion) rv = p.metadata.resourceVersion;
          if (p.spec?.nodeName && mine.matches(p.metadata.labels) && !bound.has(p.metadata.name!)) {
            bound.set(p.metadata.name!, performance.now() - start);
            lastProgress = performance.now();
            if (bound.size === o.count) allBound();
          }
        });
        // Resume from the last event if the server ends the watch early.
        void w.done.catch(() => undefined).then(() => watching && bound.size < o.count && watch());
        current = w;
      };
      const start = performance.now();
      // On a shared machine throughput moves with the neighbours' load; CPU per pod of each process much less.
      const cpuAtStart = { api: cpuSeconds(server.proc.pid), etcd: cpuSeconds(etcd.proc.pid) };
      watch();
      sched = await startScheduler(server.url, ['--leader-elect=false'], schedNodeArgs);
      const s = sched;
      lastProgress = performance.now();
      // The scheduler's own count of answered bindings, next to what the watch has seen, tells a slow scheduler from a lagging watch.
      const answered = async (): Promise<string> => {
        const m = await s.metrics().catch(() => '');
        return /^scheduler_schedule_attempts_total\{result="scheduled"[^}]*\} (\S+)$/m.exec(m)?.[1] ?? '?';
      };
      const progress = setInterval(() => {
        const at = ((performance.now() - start) / 1000).toFixed(0);
        void answered().then((n) => console.log(`  ${bound.size}/${o.count} bound (seen by a watch), ${n} bindings answered, after ${at} s`));
        const exited = s.proc.exitCode !== null || s.proc.signalCode !== null;
        if (exited || performance.now() - lastProgress > STALL_MS) {
          const why = exited ? `scheduler exited (${s.proc.exitCode ?? s.proc.signalCode})` : `no binding seen for ${STALL_MS / 1000} s`;
          stalled(new Error(`bench:scheduler: ${why} at ${bound.size}/${o.count} bound; scheduler log tail:\n${s.logs() || '(empty; set SKIFF_LOG_LEVEL=info for more)'}`));
        }
      }, 5000);
      try {
        await done;
      } finally {
        clearInterval(progress);
        watching = false;
        current?.stop();
      }
      const seconds = (performance.now() - start) / 1000;
      const apiCpuMs = ((cpuSeconds(server.proc.pid) - cpuAtStart.api) * 1000) / o.count;
      const etcdCpuMs = ((cpuSeconds(etcd.proc.pid) - cpuAtStart.etcd) * 1000) / o.count;
      const firstBound = Math.min(...bound.values()) / 1000;

      const metrics = await sched.metrics();
      const schedCpuSeconds = Number(/^process_cpu_seconds_total (\S+)$/m.exec(metrics)?.[1] ?? NaN);
      const seen = [...bound.values()].sort((a, b) => a - b);
      const observedP99 = seen[Math.ceil(seen.length * 0.99) - 1] / 1000;
      const sliP99 = histogramQuantile(metrics, 'scheduler_pod_scheduling_sli_duration_seconds', 0.99);
      const attemptP99 = histogramQuantile(metrics, 'scheduler_scheduling_attempt_duration_seconds', 0.99, 'result="scheduled"');
      const rate = o.count / seconds;
      const perNode = new Map<string, number>();
      for (const p of (await client.resource<Pod>(R.pods, NS).list({ labelSelector: o.labelSelector })).items) perNode.set(p.spec.nodeName!, (perNode.get(p.spec.nodeName!) ?? 0) + 1);
      const counts = [...perNode.values()];
      // Two mutually anti-affine pods on one node would mean the constraint was not applied.
      if (o.checkAnti && Math.max(...counts) > 1) throw new Error(`bench:scheduler: ${Math.max(...counts)} anti-affine pods on one node`);

      console.log('');
      console.log(`[${o.title}] scheduler: ${o.count} pods on ${NODES} nodes in ${seconds.toFixed(1)} s (scheduler start to last binding seen)`);
      console.log(`  throughput            ${rate.toFixed(0)} pods/s (first binding seen ${firstBound.toFixed(1)} s after the scheduler started)`);
      // Every pod enters the queue during the scheduler's initial sync, so these latencies mostly measure the backlog.
      console.log(`  p99 start -> bound    ${observedP99.toFixed(3)} s (scheduler start to binding seen by a watch)`);
      console.log(`  p99 queue -> bound    ${sliP99?.toFixed(3) ?? '?'} s (scheduler_pod_scheduling_sli_duration_seconds, interpolated)`);
      console.log(`  p99 attempt + bind    ${attemptP99 ? (attemptP99 * 1000).toFixed(1) : '?'} ms`);
      console.log(`  scheduler CPU         ${schedCpuSeconds.toFixed(1)} s (${((schedCpuSeconds * 1000) / o.count).toFixed(2)} ms per pod, sync included)`);
      console.log(`  API server CPU        ${apiCpuMs.toFixed(2)} ms per pod; etcd ${etcdCpuMs.toFixed(2)} ms per pod (bindings, events, watches)`);
      console.log(`  pods per node         min ${Math.min(...counts)} max ${Math.max(...counts)} over ${perNode.size} nodes`);
      console.log(`  raw etcd writes       ${etcdRate.toFixed(0)} /s`);
      console.log(`  ratio                 ${(rate / etcdRate).toFixed(3)} (pods scheduled/s per raw etcd write/s)`);
      // Warnings (rejected bindings, relists, dropped events) explain a slow run; say what the scheduler said, once per message.
      const said = summarizeLog(sched.logs());
      if (said) console.log(`\nscheduler log (last 8000 characters, by message):\n${said}`);
      await sched.stop();
      sched = undefined;
      return rate;
    };
    const plain = await phase({ title: 'plain', count: PODS, labelSelector: 'app=bench', make: benchPod });
    const anti = await phase({ title: 'required podAntiAffinity (hostname) on every pod', count: ANTI_PODS, labelSelector: 'color=green', make: antiPod, checkAnti: true });
    console.log('');
    console.log(`summary: plain ${plain.toFixed(0)} pods/s; with required podAntiAffinity on every pod ${anti.toFixed(0)} pods/s; raw etcd ${etcdRate.toFixed(0)} writes/s`);
  } finally {
    clearTimeout(abort);
    await cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

// Create throughput through the API server against raw etcd puts of the same
// bytes at the same concurrency, in one run on one etcd; plus create latency
// and the server's RSS with 10,000 pods stored. CPU time per operation of each
// process (from /proc) is printed too: on a shared machine throughput moves
// with the neighbours' load, CPU per create much less.
// Each path is warmed first with --warmup operations that are not measured,
// so both are measured on open connections and compiled code. Without it the
// create p99 is the load generator's start-up, not the server's: the 49
// connections beyond the first are opened while the server is already busy
// with the first one's requests, and the first creates on them took 100 to
// 500 ms on the client's clock while the server's own request durations stayed
// under 50 ms. The same first 50 creates are printed on their own.
// The two paths alternate in --rounds rounds of --pods/rounds operations
// each, and the ratio is the median of the rounds' ratios: raw etcd's rate
// follows the neighbours' load on a shared machine (2,400 to 3,650 puts/s
// between two runs of the same tree here), so one raw phase followed by one
// API phase compared two different machines as often as two paths.
//   node dist/bench/apiserver.js [--pods=5000] [--rounds=3] [--concurrency=50] [--warmup=500] [--workers=N] [--watchers=N] [--cpu-prof-dir=DIR]
// --workers is passed to the API server (default: the server's own, 1).

import fs from 'node:fs';
import https from 'node:https';
import { Etcd3 } from 'etcd3';
import { parseFlags } from '../lib/flags.js';
import { startApiServer } from '../test/util/apiserver.js';
import { cpuSeconds, processTree, threadCpuSeconds, treeCpuSeconds } from './proc.js';

const flags = parseFlags({ pods: 5000, rounds: 3, concurrency: 50, warmup: 500, rssPods: 10_000, workers: 0, watchers: 0, cpuProfDir: '' }, process.argv.slice(2), 'API server create benchmark');
let agent: https.Agent;

function podBody(name: string): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'bench', labels: { app: 'bench' } },
    spec: { containers: [{ name: 'c', image: 'busybox:latest', command: ['sleep', '3600'] }] },
  });
}

function post(port: number, path: string, body: string, as = agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, method: 'POST', agent: as, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Run n jobs with bounded concurrency; returns per-job latencies in ms and the wall time. */
async function run(n: number, job: (i: number) => Promise<void>): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = new Array(n);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: flags.concurrency }, async () => {
    while (next < n) {
      const i = next++;
      const s = performance.now();
      await job(i);
      latencies[i] = performance.now() - s;
    }
  }));
  return { latencies, seconds: (performance.now() - t0) / 1000 };
}

/**
 * CPU seconds spent by this process, the API server (all its threads), its main thread apart (the one that
 * saturates; its etcd transport thread and V8's helpers run beside it) and etcd: summed over the rounds of a path.
 */
class CpuMeter {
  private readonly spent = new Map<string, number>();
  private ops = 0;

  async measure<T>(ops: number, fn: () => Promise<T>): Promise<T> {
    const clocks = this.clocks();
    const before = clocks.map(([, c]) => c());
    const result = await fn();
    clocks.forEach(([k, c], i) => this.spent.set(k, (this.spent.get(k) ?? 0) + c() - before[i]!));
    this.ops += ops;
    return result;
  }

  perOp(): string {
    return `CPU ms per op: ${[...this.spent].map(([k, s]) => `${k} ${((s * 1000) / this.ops).toFixed(2)}`).join(', ')}`;
  }

  private clocks(): [string, () => number][] {
    const api = srv.proc.pid!;
    const etcdPid = srv.etcd?.proc.pid;
    return [
      ['bench', () => cpuSeconds(process.pid)],
      ['apiserver', () => treeCpuSeconds(api)],
      ['apiserver main thread', () => threadCpuSeconds(api)],
      ...(etcdPid ? [['etcd', () => cpuSeconds(etcdPid)] as [string, () => number]] : []),
    ];
  }
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Resident memory of the API server: all its processes together. */
function rssMiB(pid: number): number {
  return processTree(pid).reduce((sum, p) => {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'));
    return sum + (m ? Number(m[1]) / 1024 : NaN);
  }, 0);
}

// --cpu-prof-dir: the API server writes a V8 CPU profile there when it stops (chrome devtools, or speedscope, read it).
const srv = await startApiServer({ args: flags.workers ? [`--workers=${flags.workers}`] : [], nodeFlags: flags.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${flags.cpuProfDir}`] : [] });
// Over TLS with a client certificate, as every client of the server, and as a user whom RBAC authorizes (bound to
// `edit` in the namespace), not the admin whose system:masters group is allowed before any authorizer is asked.
const admin = new https.Agent({ keepAlive: true, ca: srv.admin.ca, cert: srv.admin.cert, key: srv.admin.key });
const user = await srv.connectionFor('bench-user');
agent = new https.Agent({ keepAlive: true, maxSockets: flags.concurrency, ca: user.ca, cert: user.cert, key: user.key });
const etcd = new Etcd3({ hosts: srv.etcdEndpoint });
try {
  const status = await post(srv.port, '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } }), admin);
  if (status !== 201) throw new Error(`creating namespace bench: HTTP ${status}`);
  const bound = await post(srv.port, '/apis/rbac.authorization.k8s.io/v1/namespaces/bench/rolebindings', JSON.stringify({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'bench-edit' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' }, subjects: [{ kind: 'User', name: 'bench-user' }],
  }), admin);
  if (bound !== 201) throw new Error(`binding bench-user to edit: HTTP ${bound}`);
  // --watchers=N: N pod watches reading every event, as a running cluster always has (scheduler, kubelets,
  // controllers): each create then also costs its watch event, with or without any authorizer's own watch.
  for (let i = 0; i < flags.watchers; i++) {
    https.get({ host: '127.0.0.1', port: srv.port, path: '/api/v1/pods?watch=true', agent: admin }, (res) => res.resume());
  }
  // The authorizer's cache follows a watch: wait until the binding is seen.
  for (let i = 0; (await post(srv.port, '/api/v1/namespaces/bench/configmaps', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `probe-${i}` } }))) !== 201; i++) {
    if (i > 100) throw new Error('bench-user is not authorized to create in namespace bench');
    await new Promise((r) => setTimeout(r, 50));
  }

  const rawPut = async (name: string) => {
    await etcd.put(`/bench/raw/pods/bench/${name}`).value(podBody(name));
  };
  let failures = 0;
  const create = async (name: string) => {
    const code = await post(srv.port, '/api/v1/namespaces/bench/pods', podBody(name));
    if (code !== 201) failures++;
  };
  await run(flags.warmup, (i) => rawPut(`raw-warmup-${i}`));
  const cold = await run(Math.min(flags.warmup, flags.concurrency), (i) => create(`warmup-${i}`));
  await run(Math.max(0, flags.warmup - flags.concurrency), (i) => create(`warmup-${i + flags.concurrency}`));
  const rounds = Math.max(1, flags.rounds);
  const perRound = Math.ceil(flags.pods / rounds);
  const rawCpu = new CpuMeter();
  const apiCpu = new CpuMeter();
  const raw = { latencies: [] as number[], seconds: 0 };
  const api = { latencies: [] as number[], seconds: 0 };
  const rates: { raw: number; api: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    const rr = await rawCpu.measure(perRound, () => run(perRound, (i) => rawPut(`raw-${r}-${i}`)));
    const ar = await apiCpu.measure(perRound, () => run(perRound, (i) => create(`pod-${r}-${i}`)));
    raw.latencies.push(...rr.latencies);
    raw.seconds += rr.seconds;
    api.latencies.push(...ar.latencies);
    api.seconds += ar.seconds;
    rates.push({ raw: perRound / rr.seconds, api: perRound / ar.seconds });
  }
  const ratios = rates.map((x) => x.api / x.raw);
  const measured = perRound * rounds;
  console.log(`raw etcd puts:      ${(measured / raw.seconds).toFixed(0)}/s (${measured} at concurrency ${flags.concurrency}; rounds: ${rates.map((x) => x.raw.toFixed(0)).join(', ')})`);
  console.log(`API server creates: ${(measured / api.seconds).toFixed(0)}/s, ${failures} failed (rounds: ${rates.map((x) => x.api.toFixed(0)).join(', ')})`);
  console.log(`  raw ${rawCpu.perOp()}`);
  console.log(`  API ${apiCpu.perOp()}`);
  console.log(`ratio:              ${median(ratios).toFixed(2)} (target >= 0.5; median of ${rounds} alternating rounds: ${ratios.map((x) => x.toFixed(2)).join(', ')})`);
  console.log(`create latency:     p50 ${pct(api.latencies, 50).toFixed(1)} ms, p99 ${pct(api.latencies, 99).toFixed(1)} ms (target p99 < 100 ms)`);
  // The same percentiles of the raw puts: the part of the tail that etcd and the disk add on their own.
  console.log(`raw put latency:    p50 ${pct(raw.latencies, 50).toFixed(1)} ms, p99 ${pct(raw.latencies, 99).toFixed(1)} ms`);
  if (cold.latencies.length) {
    console.log(`cold start:         the first ${cold.latencies.length} creates on new connections to a fresh server (not in the figures above): max ${pct(cold.latencies, 100).toFixed(0)} ms`);
  }

  const stored = measured + flags.warmup;
  const more = Math.max(0, flags.rssPods - stored);
  await run(more, (i) => create(`extra-${i}`));
  console.log(`API server RSS with ${stored + more} pods stored: ${rssMiB(srv.proc.pid!).toFixed(0)} MiB (${processTree(srv.proc.pid!).length} processes)`);
} finally {
  etcd.close();
  agent.destroy();
  admin.destroy();
  if (flags.cpuProfDir) {
    // The profile is written as the server exits by itself; stop() would SIGKILL it.
    const exited = new Promise((r) => srv.proc.once('exit', r));
    srv.proc.kill('SIGTERM');
    await exited;
    console.log(`API server CPU profile in ${flags.cpuProfDir}`);
  }
  await srv.stop();
}

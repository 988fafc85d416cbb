// Pod start-up latency: a Deployment of --replicas pods (busybox httpd, no
// probes) from create to every pod Ready, per pod from its creation (the
// watch's ADDED event) to Ready, through the real API server, the
// controller-manager and one kubelet on Docker; pods carry spec.nodeName so
// no scheduler is involved. In the same run, the raw limit: the same number
// of containers created and started with raw Docker API calls at the same
// concurrency, and the floor for pods: the same number of "pod-shaped" pairs
// (a pause sandbox on the bridge plus the app container joined to its
// network and IPC namespaces) made with raw Docker calls in the kubelet's
// order. Prints p50/p99 of each and the pods' p99 ratio against both (the
// gap to the pairs is what Skiff adds). Bounded by --timeout; removes every
// container, process and directory it made. Where the control plane's CPU
// goes is printed beside it: the API requests per pod by verb and resource,
// the watches open, each process's CPU per second with nothing to do, and
// with BENCH_CPU_PROF=dir the kubelet's and API server's CPU profiles and the
// measured window in their clock.
//   node dist/bench/podstartup.js [--replicas=30] [--timeout=180s]

import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { R } from '../api/resources.js';
import type { Deployment, Pod } from '../api/types.js';
import { issue, writePair } from '../lib/pki.js';
import { testPKI } from '../test/util/pki.js';
import { RestClient } from '../client/rest.js';
import { parseDuration, parseFlags } from '../lib/flags.js';
import { startApiServer } from '../test/util/apiserver.js';
import { startControllerManager } from '../test/controllers/harness.js';
import { freePort, waitFor } from '../test/util/ports.js';
import { cpuSeconds, cpuSecondsWithChildren, processTree, threadCpuSeconds } from './proc.js';

const flags = parseFlags({ replicas: 30, timeout: '180s' }, process.argv.slice(2), 'pod start-up latency against raw docker run');
const deadline = Date.now() + parseDuration(flags.timeout);
const left = () => Math.max(1000, deadline - Date.now());

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const node = `bench-${crypto.randomBytes(3).toString('hex')}`;
const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const cmd = ['sh', '-c', 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www'];

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** dockerd and containerd: the engine's CPU, shared with whatever else uses Docker on the machine. */
function dockerPids(): number[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((p) => {
    try {
      return ['dockerd', 'containerd'].includes(fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim());
    } catch {
      return false;
    }
  });
}

/** The whole machine's busy and total CPU time (jiffies) so far, from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total };
}

/**
 * CPU ms per pod (or container) of each process group while fn runs, and how
 * busy the whole machine was meanwhile (shims, runc and the kernel's work for
 * the containers count there, and so does the neighbours' load).
 */
async function measureCpu<T>(n: number, cpu: Record<string, () => number>, fn: () => Promise<T>): Promise<{ result: T; perOp: string }> {
  const before = Object.fromEntries(Object.entries(cpu).map(([k, seconds]) => [k, seconds()]));
  const m0 = machineCpu();
  const result = await fn();
  const m1 = machineCpu();
  const busy = `machine ${((100 * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total)).toFixed(0)}% busy of ${os.cpus().length} cores`;
  return { result, perOp: [...Object.entries(cpu).map(([k, seconds]) => `${k} ${(((seconds() - before[k]!) * 1000) / n).toFixed(1)}`), busy].join(', ') };
}

/**
 * From the kubelet's debug log, the time between consecutive start-up
 * phases of each pod ("sync+0 listed+3 sandbox-created+40 ..."): where a
 * pod's start-up goes beyond the engine's own work. With the wall-clock
 * times the bench saw each pod created and Ready, also the two legs through
 * the control plane: created -> the kubelet saw it, and the kubelet's status
 * write -> the bench saw Ready.
 */
function printPhases(file: string, added: Map<string, number>, ready: Map<string, number>): void {
  // The bench's instants (performance.now()) on the wall clock, which the kubelet's log uses.
  const wall = (t: number | undefined) => (t === undefined ? undefined : performance.timeOrigin + t);
  const steps = new Map<string, number[]>();
  const step = (k: string, v: number) => {
    if (!steps.has(k)) steps.set(k, []);
    steps.get(k)!.push(v);
  };
  for (const l of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!l.includes('"pod start-up phases"')) continue;
    const entry = JSON.parse(l) as { phases: string; pod: string; seen: number };
    const name = entry.pod.slice(entry.pod.indexOf('/') + 1);
    const createdAt = wall(added.get(name));
    if (createdAt !== undefined) step('(bench) created -> seen', entry.seen - createdAt);
    let prev = ['seen', 0] as [string, number];
    for (const p of entry.phases.split(' ')) {
      const at = p.lastIndexOf('+');
      const cur = [p.slice(0, at), Number(p.slice(at + 1))] as [string, number];
      step(`${prev[0]} -> ${cur[0]}`, cur[1] - prev[1]);
      prev = cur;
    }
    const readyAt = wall(ready.get(name));
    if (readyAt !== undefined && prev[0] === 'status-written') step('status-written -> (bench) Ready', readyAt - (entry.seen + prev[1]));
  }
  console.log('kubelet start-up phases (ms between steps, over pods; wall clock, so the two "(bench)" legs carry clock reads of two processes):');
  for (const [k, v] of steps) console.log(`  ${k.padEnd(44)} n ${String(v.length).padStart(3)}   p50 ${pct(v, 50).toFixed(0).padStart(6)}   max ${Math.max(...v).toFixed(0).padStart(6)}`);
}

/** The measured Deployment: pods labelled app=<name>, pinned to the bench's node. */
function deployment(name: string, replicas: number): Deployment {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default' },
    spec: {
      replicas, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { nodeName: node, terminationGracePeriodSeconds: 1, containers: [{ name: 'httpd', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: cmd }] } },
    },
  };
}

const isReady = (p: Pod) => !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

async function removeByLabel(label: string): Promise<void> {
  const cs = await docker.listContainers({ all: true, filters: { label: [label] } });
  await Promise.all(cs.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
}

/** The raw limit: create+start the same containers straight through the Docker API, all at once (removed by the caller, outside the CPU measured). */
async function rawDocker(n: number): Promise<number[]> {
  return Promise.all(Array.from({ length: n }, async (_, i) => {
    const t0 = performance.now();
    const c = await docker.createContainer({ name: `${node}-raw-${i}`, Image: 'busybox:latest', Cmd: cmd, Labels: { 'skiff.bench': node } });
    await c.start();
    return performance.now() - t0;
  }));
}

/**
 * The engine's floor for a pod: per pod, the sandbox is created, then its
 * start and the app container's create run together (the app needs the
 * sandbox to exist, not to run), then the app starts once both are done;
 * the same calls, in the same order, as the kubelet makes them.
 */
async function rawPods(n: number): Promise<number[]> {
  return Promise.all(Array.from({ length: n }, async (_, i) => {
    const t0 = performance.now();
    const sb = await docker.createContainer({
      name: `${node}-rawpod-${i}-pause`, Image: 'skiff/pause:3.10', Hostname: `rawpod-${i}`, Labels: { 'skiff.bench': node },
      HostConfig: { NetworkMode: 'bridge', IpcMode: 'shareable' },
    });
    const ns = `container:${sb.id}`;
    const [, app] = await Promise.all([
      sb.start(),
      docker.createContainer({ name: `${node}-rawpod-${i}-httpd`, Image: 'busybox:latest', Cmd: cmd, Labels: { 'skiff.bench': node }, HostConfig: { NetworkMode: ns, IpcMode: ns } }),
    ]);
    await app.start();
    return performance.now() - t0;
  }));
}

/** From the API server's /metrics: apiserver_request_total summed per verb and resource(/subresource), and the watches open. */
async function apiMetrics(): Promise<{ requests: Map<string, number>; watchers: string[] }> {
  const text = String((await client.request('GET', '/metrics')).body);
  const requests = new Map<string, number>();
  for (const m of text.matchAll(/^apiserver_request_total\{([^}]*)\} (\d+)/gm)) {
    const label = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(m[1])?.[1] ?? '';
    const key = `${label('verb')} ${label('resource')}${label('subresource') ? '/' + label('subresource') : ''}`;
    requests.set(key, (requests.get(key) ?? 0) + Number(m[2]));
  }
  const watchers = text.split('\n').filter((l) => l.startsWith('apiserver_registered_watchers') && !l.endsWith(' 0'));
  return { requests, watchers };
}

/**
 * Removes a Deployment of deployment(): scaled to zero first (pods force-deleted under a live
 * ReplicaSet would only be replaced), until the node runs no container, then the objects
 * (no garbage collector runs here).
 */
async function retire(name: string, timeoutMs: number): Promise<void> {
  const deployments = client.resource<Deployment>(R.deployments, 'default');
  await deployments.patch(name, 'merge', { spec: { replicas: 0 } });
  await waitFor(`${name} pods gone`, async () => (await docker.listContainers({ all: true, filters: { label: [`skiff.node=${node}`] } })).length === 0, timeoutMs, 100);
  await deployments.delete(name);
  await client.resource(R.replicasets, 'default').deleteCollection({ labelSelector: `app=${name}` });
}

// BENCH_CPU_PROF=dir writes the kubelet's and the API server's CPU profiles there when they stop.
const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
const api = await startApiServer({ nodeFlags: prof });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-podstartup-'));
let kubelet: ChildProcess | undefined;
let cm: Awaited<ReturnType<typeof startControllerManager>> | undefined;
const client = new RestClient(api.admin, { component: 'bench' });
try {
  const kubeconfig = path.join(dir, 'kubeconfig');
  fs.copyFileSync(await api.kubeconfigFor(`system:node:${node}`, ['system:nodes']), kubeconfig);
  const port = await freePort();
  // As skiff up runs it: a serving certificate from the cluster CA, verified client CA, health on its own loopback port.
  const pki = await testPKI();
  const serving = writePair(dir, 'kubelet', await issue(pki.ca, { cn: `system:node:${node}`, o: ['system:nodes'], sans: [node, '127.0.0.1'], usage: 'server' }));
  const secure = [`--tls-cert-file=${serving.certFile}`, `--tls-private-key-file=${serving.keyFile}`, `--client-ca-file=${pki.caFile}`, `--healthz-port=${await freePort()}`];
  // BENCH_KUBELET_LOG=file keeps the kubelet's debug log there (per-pod start-up phases: "pod start-up phases").
  const klog = process.env.BENCH_KUBELET_LOG ? fs.openSync(process.env.BENCH_KUBELET_LOG, 'w') : 'inherit';
  kubelet = spawn(process.execPath, [...prof, path.join(repo, 'dist', 'kubelet', 'main.js'), `--kubeconfig=${kubeconfig}`, `--hostname-override=${node}`, '--node-ip=127.0.0.1', `--port=${port}`, ...secure, `--root-dir=${path.join(dir, 'root')}`], { stdio: ['ignore', 'ignore', klog], env: { ...process.env, SKIFF_LOG_LEVEL: process.env.BENCH_KUBELET_LOG ? 'debug' : 'warn' } });
  if (typeof klog === 'number') fs.closeSync(klog);
  await waitFor('node Ready', async () => {
    const n = await client.resource(R.nodes).get(node).catch(() => undefined);
    return n?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
  }, 30_000, 100);
  cm = await startControllerManager(api.url, ['--controllers=replicaset-controller,deployment-controller', '--leader-elect=false']);

  // Warm-up, on both sides: one raw container, so that Docker's caches are hot and the image read, and
  // one pod through the whole path, so that the control plane runs compiled code as a running cluster
  // does (a fresh API server's first status updates and events cost it many times a warm one's).
  const rawLabel = `skiff.bench=${node}`;
  await rawDocker(1);
  await rawPods(1);
  await removeByLabel(rawLabel);
  const deployments = client.resource<Deployment>(R.deployments, 'default');
  await deployments.create(deployment('warmup', 1));
  await waitFor('warm-up pod Ready', async () => (await client.resource<Pod>(R.pods, 'default').list({ labelSelector: 'app=warmup' })).items.some(isReady), left(), 50);
  await retire('warmup', left());
  const docker_ = dockerPids();
  const sum = (pids: number[]) => pids.reduce((t, p) => t + cpuSeconds(p), 0);
  const engine = { docker: () => sum(docker_) };
  // The kubelet's helper processes (ip) count as its own; the engine's (shims, runc) stay out.
  const controlPlane = {
    kubelet: () => cpuSecondsWithChildren(kubelet!.pid!), apiserver: () => sum(processTree(api.proc.pid!)), 'apiserver main thread': () => threadCpuSeconds(api.proc.pid!),
    etcd: () => cpuSeconds(api.etcd?.proc.pid ?? 0), 'controller-manager': () => cpuSeconds(cm!.proc.pid!),
  };
  // What the control plane costs with nothing to do: a share of every per-pod figure below is this.
  const { perOp: idleCpu } = await measureCpu(5, controlPlane, () => new Promise((r) => setTimeout(r, 5000)));
  const { result: raw, perOp: rawCpu } = await measureCpu(flags.replicas, engine, () => rawDocker(flags.replicas));
  await removeByLabel(rawLabel);
  const { result: rawPair, perOp: rawPairCpu } = await measureCpu(flags.replicas, engine, () => rawPods(flags.replicas));
  await removeByLabel(rawLabel);

  const added = new Map<string, number>();
  const ready = new Map<string, number>();
  const w = client.resource<Pod>(R.pods, 'default').watch({ labelSelector: 'app=bench' }, (e) => {
    if (e.type === 'ERROR' || e.type === 'BOOKMARK') return;
    const p = e.object as Pod;
    const name = p.metadata.name!;
    if (!added.has(name)) added.set(name, performance.now());
    if (!ready.has(name) && isReady(p)) ready.set(name, performance.now());
  });
  const start = performance.now();
  // The profiles' sample times are CLOCK_MONOTONIC microseconds, as hrtime is: printed so they can be cut to the measured window.
  const window0 = process.hrtime.bigint() / 1000n;
  const before = await apiMetrics();
  const { perOp: podCpu } = await measureCpu(flags.replicas, { ...controlPlane, ...engine }, async () => {
    await deployments.create(deployment('bench', flags.replicas));
    await waitFor(`${flags.replicas} pods Ready`, () => ready.size >= flags.replicas, left(), 50);
  });
  const allReady = (performance.now() - start) / 1000;
  const after = await apiMetrics();
  if (prof.length) console.log(`measured window in the CPU profiles: ${window0}..${process.hrtime.bigint() / 1000n} (CLOCK_MONOTONIC µs)`);
  w.stop();
  await w.done.catch(() => {});
  const lat = [...ready].map(([name, t]) => t - added.get(name)!);

  const line = (what: string, xs: number[]) => `${what.padEnd(28)} p50 ${pct(xs, 50).toFixed(0).padStart(6)} ms   p99 ${pct(xs, 99).toFixed(0).padStart(6)} ms`;
  console.log(`pod start-up, ${flags.replicas} replicas on one kubelet (Deployment created -> all Ready in ${allReady.toFixed(2)} s)`);
  console.log(line('pods, created -> Ready', lat));
  console.log(line('raw docker create+start', raw));
  console.log(line('raw pod-shaped pairs', rawPair));
  console.log(`CPU ms per pod: ${podCpu}`);
  console.log(`CPU ms per second idle: ${idleCpu}`);
  console.log(`API requests per pod: ${[...after.requests].map(([k, v]) => [k, (v - (before.requests.get(k) ?? 0)) / flags.replicas] as const).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
  console.log(`watchers: ${after.watchers.join(', ')}`);
  console.log(`CPU ms per raw container: ${rawCpu}`);
  console.log(`CPU ms per raw pod-shaped pair: ${rawPairCpu}`);
  console.log(`ratio (pod p99 / raw p99): ${(pct(lat, 99) / pct(raw, 99)).toFixed(2)}x   (p50: ${(pct(lat, 50) / pct(raw, 50)).toFixed(2)}x; target p99 <= 1.5x)`);
  console.log(`ratio against the pod-shaped floor (pod p99 / pair p99): ${(pct(lat, 99) / pct(rawPair, 99)).toFixed(2)}x   (p50: ${(pct(lat, 50) / pct(rawPair, 50)).toFixed(2)}x)`);
  if (process.env.BENCH_KUBELET_LOG) printPhases(process.env.BENCH_KUBELET_LOG, added, ready);

  await retire('bench', Math.min(left(), 60_000)).catch(() => {});
} finally {
  // SIGTERM lets a profiled kubelet write its profile (it leaves pods running; they are removed below).
  if (process.env.BENCH_CPU_PROF && kubelet) {
    const k = kubelet;
    const exited = new Promise((r) => k.once('exit', r));
    k.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }
  kubelet?.kill('SIGKILL');
  await cm?.stop().catch(() => {});
  await removeByLabel(`skiff.node=${node}`);
  await removeByLabel(`skiff.bench=${node}`);
  client.close();
  if (prof.length) {
    // The profile is written as the server exits by itself; stop() would SIGKILL it.
    const exited = new Promise((r) => api.proc.once('exit', r));
    api.proc.kill('SIGTERM');
    await exited;
  }
  await api.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

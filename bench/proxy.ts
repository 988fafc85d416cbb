// kube-proxy throughput and sync time.
//   node dist/bench/proxy.js [--duration=5s] [--concurrency=16] [--services=1000] [--endpoints=10]
//     [--sync-only | --sync=false] [--modes=iptables,userspace]
// 1. Sync time, in a private network namespace (`unshare --net`: its own,
//    empty iptables tables, so neither the host's rules nor other clusters'
//    kube-proxies are touched, and the namespace vanishes with the child):
//    one full sync of --services Services with --endpoints endpoints each
//    through IptablesBackend, against the physical limit measured in the same
//    run, a raw `iptables-restore --noflush` of the very same text into an
//    empty set of chains; then a partial sync after one endpoint change, and
//    a full sync over the existing rules (kube's periodic full resync, which
//    trusts the chains it wrote last instead of reading the whole table).
//    No packet is sent.
// 2. Requests/s and p99 latency of GET / over new connections (keep-alive
//    off throughout) with the same bounded load generator: through a Service
//    whose one endpoint is a pod, by the ClusterIP and the NodePort on
//    127.0.0.1, with kube-proxy in iptables mode and then in userspace mode,
//    each against the limit: straight to that pod's IP, measured in slices
//    alternating with the proxied ones. Around each slice the TCP counters
//    of the host and of the pod's network namespace are read (SYN
//    retransmits, resets, PAWS rejections by the pod's TIME-WAIT sockets,
//    listen overflows), so a tail shows its cause. On kernels whose TCP
//    timestamp offset depends on the ports too (secure_seq.c, "tcp:
//    secure_seq: add back ports to TS offset"), kube's MASQUERADE
//    --random-fully sometimes maps a new NodePort connection onto a
//    translated 4-tuple the pod still holds in TIME-WAIT from a connection
//    whose timestamps ran on another offset (conntrack forgot that mapping
//    when the client reused its own tuple): the pod answers the SYN with an
//    ACK (PAWSTimewait), the client resets and sends the SYN again 2 jiffies
//    later (8 ms at HZ=250), or after 1 s. That costs the NodePort path on
//    127.0.0.1 its last ~10% against direct.
//    This part uses the host's tables; it waits (bounded) until no other
//    kube-proxy with kube's KUBE- chains runs, since both would rewrite
//    KUBE-SERVICES (clusters from `skiff up --name` have prefixes of their own).
// Everything it starts (etcd, API server, kube-proxy, containers, rules) is
// removed at the end, also on failure or SIGINT/SIGTERM.

import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import { R } from '../api/resources.js';
import type { Endpoints, Service } from '../api/types.js';
import { RestClient } from '../client/rest.js';
import { parseDuration, parseFlags } from '../lib/flags.js';
import type { ServicePortInfo } from '../kube-proxy/backend.js';
import { IptablesBackend } from '../kube-proxy/iptables/backend.js';
import { buildRules, buildRulesStepwise, missingJumps, renderRestore, restoreParts, ruleCount } from '../kube-proxy/iptables/rules.js';
import { iptablesSave } from '../kube-proxy/iptables/executor.js';
import { startApiServer, type ApiServerProcess } from '../test/util/apiserver.js';
import { waitFor } from '../test/util/ports.js';
import { hit, makeServiceRangeLocal, removeContainers, runCleanup, startKubeProxy, startPods, type KubeProxyProcess } from '../test/kube-proxy/harness.js';

const flags = parseFlags({ duration: '5s', concurrency: 16, services: 1000, endpoints: 10, maxRequests: 200_000, syncChild: false, syncOnly: false, sync: true, modes: 'iptables,userspace' }, process.argv.slice(2), 'kube-proxy benchmark');
const durationMs = parseDuration(flags.duration);

interface LoadResult { rps: number; p99: number; max: number; errors: number; n: number; tcp: Map<string, number> }
interface Slice { lat: number[]; errors: number; done: number; secs: number }

/** Fixed concurrency for a fixed time (and at most maxRequests), one new connection per request. */
async function slice(host: string, port: number, ms: number, maxRequests: number): Promise<Slice> {
  const lat: number[] = [];
  let errors = 0;
  let done = 0;
  const deadline = performance.now() + ms;
  const one = () => new Promise<void>((resolve) => {
    const t0 = performance.now();
    const req = http.get({ host, port, path: '/', agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => {
        const end = performance.now();
        if (res.statusCode !== 200) errors++;
        else {
          lat.push(end - t0);
          // Requests/s counts what completes inside the window, so that a request stalled past its end (a SYN
          // retransmitted after a full accept queue: 1 s) does not stretch one path's window and not the other's.
          if (end <= deadline) done++;
        }
        resolve();
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => { errors++; resolve(); });
  });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: flags.concurrency }, async () => {
    while (performance.now() < deadline && lat.length + errors < maxRequests) await one();
  }));
  return { lat, errors, done, secs: (Math.min(performance.now(), deadline) - t0) / 1000 };
}

function result(slices: Slice[], tcp: Map<string, number>): LoadResult {
  const lat = slices.flatMap((x) => x.lat).sort((a, b) => a - b);
  const secs = slices.reduce((t, x) => t + x.secs, 0);
  return { rps: slices.reduce((t, x) => t + x.done, 0) / secs, p99: lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))] ?? NaN, max: lat[lat.length - 1] ?? NaN, errors: slices.reduce((t, x) => t + x.errors, 0), n: lat.length, tcp };
}

/**
 * TCP counters of one network namespace (/proc/<pid>/net/snmp and netstat show the namespace of that process): the
 * pod's and the host's, read around each slice so that dropped SYNs (1 s retransmits), PAWS rejections of SYNs by
 * TIME-WAIT sockets and full accept queues show for each path apart.
 */
function tcpCounters(pid: number | 'self'): Map<string, number> {
  const out = new Map<string, number>();
  for (const file of ['snmp', 'netstat']) {
    const lines = readFileSync(`/proc/${pid}/net/${file}`, 'utf8').split('\n');
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const names = lines[i].split(' ');
      const values = lines[i + 1].split(' ');
      const proto = names[0].replace(/:$/, '');
      if (proto !== 'Tcp' && proto !== 'TcpExt') continue;
      for (let j = 1; j < names.length; j++) out.set(`${proto === 'Tcp' ? 'Tcp' : ''}${names[j]}`, Number(values[j]));
    }
  }
  return out;
}

const hostCounters = ['TCPSynRetrans', 'TcpOutRsts'] as const;
const podCounters = ['PAWSTimewait', 'ListenOverflows', 'TCPTimeWaitOverflow'] as const;

function countersNow(podPid: number): Map<string, number> {
  const host = tcpCounters('self');
  const pod = tcpCounters(podPid);
  const out = new Map<string, number>();
  for (const k of hostCounters) out.set(`host ${k}`, host.get(k) ?? 0);
  for (const k of podCounters) out.set(`pod ${k}`, pod.get(k) ?? 0);
  return out;
}

function addDelta(into: Map<string, number>, before: Map<string, number>, after: Map<string, number>): void {
  for (const [k, v] of after) into.set(k, (into.get(k) ?? 0) + v - (before.get(k) ?? 0));
}

/** Around one slice: the counters' change during it is added to into. */
async function counted<T>(podPid: number, into: Map<string, number>, f: () => Promise<T>): Promise<T> {
  const before = countersNow(podPid);
  const r = await f();
  addDelta(into, before, countersNow(podPid));
  return r;
}

/** CPU time (user + system) a process has used so far, in ms: /proc/<pid>/stat. */
function pidCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 1000 / clockTicks;
}

/**
 * The direct path and a proxied one in alternating slices (--duration each
 * in all): the machine is shared, and a load change between two back-to-back
 * runs would otherwise show up as the proxy's cost.
 * proxyPid: kube-proxy, whose CPU time during the proxied slices is reported per
 * request (steadier than req/s on a shared machine); podPid: the pod, whose
 * TCP counters are read around each slice.
 */
async function paired(direct: [string, number], proxied: [string, number], proxyPid: number, podPid: number, rounds = 5): Promise<{ direct: LoadResult; proxied: LoadResult; proxyCpuUsPerReq: number }> {
  const d: Slice[] = [];
  const p: Slice[] = [];
  const ms = durationMs / rounds;
  const max = Math.ceil(flags.maxRequests / rounds);
  let cpu = 0;
  const dTcp = new Map<string, number>();
  const pTcp = new Map<string, number>();
  for (let i = 0; i < rounds; i++) {
    d.push(await counted(podPid, dTcp, () => slice(direct[0], direct[1], ms, max)));
    const c0 = pidCpuMs(proxyPid);
    p.push(await counted(podPid, pTcp, () => slice(proxied[0], proxied[1], ms, max)));
    cpu += pidCpuMs(proxyPid) - c0;
  }
  const pr = result(p, pTcp);
  return { direct: result(d, dTcp), proxied: pr, proxyCpuUsPerReq: (cpu * 1000) / pr.n };
}

const fmt = (r: LoadResult) => `${r.rps.toFixed(0).padStart(6)} req/s  p99 ${r.p99.toFixed(2).padStart(7)} ms  max ${r.max.toFixed(0).padStart(5)} ms  (${r.n} ok, ${r.errors} errors)`;
/** The counters that moved: the host's are host-wide (other processes' traffic included), the pod's its own. */
const fmtTcp = (r: LoadResult) => [...r.tcp].filter(([, v]) => v !== 0).map(([k, v]) => `${k} ${v}`).join(', ') || 'no SYN retransmits, resets, PAWS rejections or listen overflows';

let api: ApiServerProcess | undefined;
let kp: KubeProxyProcess | undefined;
async function teardown(): Promise<void> {
  await kp?.kill().catch(() => {});
  try { removeContainers(); } catch { /* none */ }
  try { runCleanup(); } catch (e) { console.error('cleanup failed:', e); }
  await api?.stop().catch(() => {});
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { void teardown().then(() => process.exit(130)); });

interface SyncResult { services: number; endpoints: number; rules: number; chains: number; genMs: number; rawMs: number; rawCpuMs: number; rawUnlistedMs: number; fullMs: number; fullCpuMs: number; partialMs: number; resyncMs: number }

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
/**
 * CPU time of this process and of the children it has waited for (iptables-restore, iptables-save, flock), in ms:
 * unlike wall time, it hardly moves with the neighbours' load. 10 ms resolution.
 */
function cpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime, stime, cutime, cstime are fields 14-17 of proc(5); f starts at field 3.
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000 / clockTicks;
}

/** Wall time of one raw iptables-restore --noflush of text, in a fresh network namespace of its own (empty tables). */
function rawRestore(text: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn('unshare', ['--net', 'iptables-restore', '--noflush'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('close', (code) => { clearTimeout(timer); if (code === 0) resolve(performance.now() - t0); else reject(new Error(`raw iptables-restore failed (${code}): ${err.slice(0, 500)}`)); });
    p.stdin.end(text);
  });
}

/** Runs inside `unshare --net` (see syncBench): every rule lives and dies with this process's namespace. */
async function syncChild(): Promise<SyncResult> {
  const map: ServicePortInfo[] = [];
  for (let s = 0; s < flags.services; s++) {
    const endpoints = Array.from({ length: flags.endpoints }, (_, e) => ({ ip: `10.${200 + Math.floor(s / 250)}.${s % 250}.${e + 1}`, port: 8080 }));
    map.push({ name: `bench/svc-${s}:http`, namespace: 'bench', service: `svc-${s}`, portName: 'http', protocol: 'TCP', clusterIP: `10.100.${Math.floor(s / 250)}.${(s % 250) + 1}`, port: 80, nodePort: 0, affinitySeconds: 0, endpoints });
  }
  // The backend first, cold (as a kube-proxy's first sync is), into this namespace's empty tables.
  const backend = new IptablesBackend();
  const c0 = cpuMs();
  const f0 = performance.now();
  await backend.sync(map);
  const fullMs = performance.now() - f0;
  const fullCpuMs = cpuMs() - c0;
  const g0 = performance.now();
  // Exactly what that first sync wrote, built the same way: no stale chains and no jumps exist in an empty namespace.
  const { rules, steps } = buildRulesStepwise(map);
  const parts = restoreParts(rules, {}, steps);
  let text = '';
  for (const chunk of parts.head) text += chunk;
  text += parts.tail({ existing: { filter: [], nat: [] }, jumps: missingJumps('') });
  const genMs = performance.now() - g0;
  // A sync that silently wrote nothing would look fast.
  const written = (await iptablesSave('nat')).split('\n').filter((l) => l.startsWith('-A KUBE-')).length;
  if (written !== ruleCount(rules, 'nat')) throw new Error(`full sync left ${written} nat rules, expected ${ruleCount(rules, 'nat')}`);
  const rc0 = cpuMs();
  const rawMs = await rawRestore(text);
  const rawCpuMs = cpuMs() - rc0;
  // The same rules as kube writes them, without our leading -S: what iptables-nft's per-chain list costs.
  const rawUnlistedMs = await rawRestore(renderRestore(rules, { existing: { filter: [], nat: [] }, jumps: missingJumps(''), listFirstChains: Infinity }));
  const i = Math.floor(map.length / 2);
  map[i] = { ...map[i], endpoints: map[i].endpoints.slice(1) };
  const p0 = performance.now();
  await backend.sync(map);
  const partialMs = performance.now() - p0;
  backend.forceFullSync();
  const r0 = performance.now();
  await backend.sync(map);
  const resyncMs = performance.now() - r0;
  const rewritten = (await iptablesSave('nat')).split('\n').filter((l) => l.startsWith('-A KUBE-')).length;
  if (rewritten !== ruleCount(buildRules(map), 'nat')) throw new Error(`full resync left ${rewritten} nat rules, expected ${ruleCount(buildRules(map), 'nat')}`);
  const chains = [...rules.nat.keys()].length + [...rules.filter.keys()].length;
  return { services: flags.services, endpoints: flags.endpoints, rules: text.split('\n').filter((l) => l.startsWith('-A')).length, chains, genMs, rawMs, rawCpuMs, rawUnlistedMs, fullMs, fullCpuMs, partialMs, resyncMs };
}

async function syncBench(): Promise<SyncResult> {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync('unshare', ['--net', process.execPath, self, '--sync-child', `--services=${flags.services}`, `--endpoints=${flags.endpoints}`], { encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop()!) as SyncResult;
}

/** Other kube-proxies writing kube's own KUBE- chains, as the one this bench starts does (a --chain-prefix of their own keeps them apart). */
function otherKubeProxies(): string[] {
  try {
    return execFileSync('pgrep', ['-af', 'dist/kube-proxy/main.js'], { encoding: 'utf8' }).split('\n')
      .filter((l) => l && !l.includes('--cleanup') && (!l.includes('--chain-prefix=') || l.includes('--chain-prefix=KUBE ') || l.endsWith('--chain-prefix=KUBE')));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

if (flags.syncChild) {
  const r = await syncChild();
  console.log(JSON.stringify(r));
  process.exit(0);
}

try {
  // 1. Sync time (--sync=false skips it).
  if (flags.sync) {
    const r = await syncBench();
    console.log(`iptables sync, ${r.services} Services x ${r.endpoints} endpoints (${r.rules} rules, ${r.chains} chains), private network namespace:`);
    console.log(`  limit: raw iptables-restore --noflush of the same text into empty chains  ${r.rawMs.toFixed(0).padStart(6)} ms  (${r.rawCpuMs.toFixed(0)} CPU-ms)`);
    console.log(`  full sync (save + generate + restore, jumps included)                      ${r.fullMs.toFixed(0).padStart(6)} ms  (${r.fullCpuMs.toFixed(0)} CPU-ms)  ratio ${(r.fullMs / r.rawMs).toFixed(2)} (target < 1000 ms: ${r.fullMs < 1000 ? 'met' : 'NOT met'})`);
    console.log(`    generating the rules alone (warm) ${r.genMs.toFixed(0)} ms`);
    console.log(`  partial sync after one endpoint is removed                                ${r.partialMs.toFixed(0).padStart(6)} ms`);
    console.log(`  full resync over the existing rules (periodic, or after a failure)        ${r.resyncMs.toFixed(0).padStart(6)} ms`);
    console.log(`  for reference: the same rules without the leading -S (kube's text as is)   ${r.rawUnlistedMs.toFixed(0).padStart(6)} ms raw restore`);
  }
  if (flags.syncOnly) process.exit(0);

  const deadline = Date.now() + 600_000;
  while (otherKubeProxies().length && Date.now() < deadline) {
    console.log(`waiting for other kube-proxies with KUBE- chains to stop: ${otherKubeProxies().length} running`);
    await new Promise((res) => setTimeout(res, 10_000));
  }
  if (otherKubeProxies().length) throw new Error('other kube-proxies still running after 10 minutes; not touching their rules');
  makeServiceRangeLocal();
  runCleanup();

  // 2. Throughput.
  api = await startApiServer();
  const client = new RestClient(api.admin, { component: 'bench' });
  // One endpoint: the Service paths reach the very pod the direct path does, so the ratio is the proxy's cost alone.
  const pods = startPods(['bench-a']);
  const svc = await client.resource<Service>(R.services, 'default').create({
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'bench', namespace: 'default' },
    spec: { type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  await client.resource<Endpoints>(R.endpoints, 'default').create({
    apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'bench', namespace: 'default' },
    subsets: [{ addresses: pods.map((p) => ({ ip: p.ip })), ports: [{ name: 'http', port: 8080 }] }],
  });
  const podPid = Number(execFileSync('docker', ['inspect', '-f', '{{.State.Pid}}', pods[0].id], { encoding: 'utf8' }).trim());
  const clusterIP = svc.spec.clusterIP!;
  const nodePort = svc.spec.ports![0].nodePort!;
  await waitFor('pod answers', () => hit(pods[0].ip, 8080).then(() => true, () => false), 10_000, 100);

  console.log(`\nload: ${flags.concurrency} concurrent, new connection per request, ${durationMs / 1000} s per path, each proxied path alternating with direct-to-the-pod in 5 slices`);
  for (const mode of (['iptables', 'userspace'] as const).filter((m) => flags.modes.split(',').includes(m))) {
    kp = await startKubeProxy(api.url, { mode });
    await waitFor(`${mode} forwarding`, () => hit(clusterIP, 80, 1000).then(() => true, () => false), 15_000, 100);
    await waitFor(`${mode} nodeport`, () => hit('127.0.0.1', nodePort, 1000).then(() => true, () => false), 15_000, 100);
    const target = mode === 'iptables' ? 0.9 : 0.5;
    for (const [what, host, port] of [['ClusterIP', clusterIP, 80], ['NodePort 127.0.0.1', '127.0.0.1', nodePort]] as const) {
      const r = await paired([pods[0].ip, 8080], [host, port], kp.proc.pid!, podPid);
      const ratio = r.proxied.rps / r.direct.rps;
      console.log(`  ${mode.padEnd(9)} ${what.padEnd(18)} ${fmt(r.proxied)}  ratio ${ratio.toFixed(2)} (target >= ${target}: ${ratio >= target ? 'met' : 'NOT met'})  kube-proxy ${r.proxyCpuUsPerReq.toFixed(0)} CPU-us/req`);
      console.log(`  ${''.padEnd(9)} ${'  direct meanwhile'.padEnd(18)} ${fmt(r.direct)}`);
      console.log(`  ${''.padEnd(9)} ${'  tcp, proxied'.padEnd(18)} ${fmtTcp(r.proxied)}`);
      console.log(`  ${''.padEnd(9)} ${'  tcp, direct'.padEnd(18)} ${fmtTcp(r.direct)}`);
    }
    await kp.stop();
    kp = undefined;
    runCleanup();
  }
} finally {
  await teardown();
}

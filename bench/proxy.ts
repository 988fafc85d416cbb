// kube-proxy throughput and sync time.
//   node dist/bench/proxy.js [--duration=5s] [--concurrency=16] [--services=1000] [--endpoints=10]
// 1. One full iptables sync of --services Services with --endpoints endpoints
//    each (generated, applied with iptables-restore for real, then removed),
//    and one partial sync after a single endpoint change. No packet is sent.
// 2. Requests/s and p99 latency of GET / over new connections (keep-alive
//    off throughout) with the same bounded load generator: straight to one
//    pod's IP (the limit), then through a Service whose one endpoint is that pod, the ClusterIP and the NodePort on
//    127.0.0.1, with kube-proxy in iptables mode and then in userspace mode.
// Everything it starts (etcd, API server, kube-proxy, containers, rules) is
// removed at the end, also on failure or SIGINT/SIGTERM.

import http from 'node:http';
import { R } from '../api/resources.js';
import type { Endpoints, Service } from '../api/types.js';
import { RestClient } from '../client/rest.js';
import { parseDuration, parseFlags } from '../lib/flags.js';
import type { ServicePortInfo } from '../kube-proxy/backend.js';
import { IptablesBackend } from '../kube-proxy/iptables/backend.js';
import { buildRules, renderRestore } from '../kube-proxy/iptables/rules.js';
import { startApiServer, type ApiServerProcess } from '../test/util/apiserver.js';
import { waitFor } from '../test/util/ports.js';
import { hit, makeServiceRangeLocal, removeContainers, runCleanup, startKubeProxy, startPods, type KubeProxyProcess } from '../test/kube-proxy/harness.js';

const flags = parseFlags({ duration: '5s', concurrency: 16, services: 1000, endpoints: 10, maxRequests: 200_000 }, process.argv.slice(2), 'kube-proxy benchmark');
const durationMs = parseDuration(flags.duration);

interface LoadResult { rps: number; p99: number; errors: number; n: number }

/** Fixed concurrency for a fixed time (and at most maxRequests), one new connection per request. */
async function load(host: string, port: number): Promise<LoadResult> {
  const lat: number[] = [];
  let errors = 0;
  const deadline = performance.now() + durationMs;
  const one = () => new Promise<void>((resolve) => {
    const t0 = performance.now();
    const req = http.get({ host, port, path: '/', agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => { if (res.statusCode === 200) lat.push(performance.now() - t0); else errors++; resolve(); });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => { errors++; resolve(); });
  });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: flags.concurrency }, async () => {
    while (performance.now() < deadline && lat.length + errors < flags.maxRequests) await one();
  }));
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { rps: lat.length / secs, p99: lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))] ?? NaN, errors, n: lat.length };
}

const fmt = (r: LoadResult) => `${r.rps.toFixed(0).padStart(6)} req/s  p99 ${r.p99.toFixed(2).padStart(7)} ms  (${r.n} ok, ${r.errors} errors)`;

let api: ApiServerProcess | undefined;
let kp: KubeProxyProcess | undefined;
async function teardown(): Promise<void> {
  await kp?.kill().catch(() => {});
  try { removeContainers(); } catch { /* none */ }
  try { runCleanup(); } catch (e) { console.error('cleanup failed:', e); }
  await api?.stop().catch(() => {});
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { void teardown().then(() => process.exit(130)); });

try {
  makeServiceRangeLocal();
  runCleanup();

  // 1. Sync time.
  const map: ServicePortInfo[] = [];
  for (let s = 0; s < flags.services; s++) {
    const endpoints = Array.from({ length: flags.endpoints }, (_, e) => ({ ip: `10.${200 + Math.floor(s / 250)}.${s % 250}.${e + 1}`, port: 8080 }));
    map.push({ name: `bench/svc-${s}:http`, namespace: 'bench', service: `svc-${s}`, portName: 'http', protocol: 'TCP', clusterIP: `10.100.${Math.floor(s / 250)}.${(s % 250) + 1}`, port: 80, nodePort: 0, affinitySeconds: 0, endpoints });
  }
  const g0 = performance.now();
  const text = renderRestore(buildRules(map));
  const genMs = performance.now() - g0;
  const backend = new IptablesBackend();
  const f0 = performance.now();
  await backend.sync(map);
  const fullMs = performance.now() - f0;
  map[500 % map.length] = { ...map[500 % map.length], endpoints: map[500 % map.length].endpoints.slice(1) };
  const p0 = performance.now();
  await backend.sync(map);
  const partialMs = performance.now() - p0;
  runCleanup();
  console.log(`iptables sync, ${flags.services} Services x ${flags.endpoints} endpoints (${text.split('\n').filter((l) => l.startsWith('-A')).length} rules):`);
  console.log(`  generate ${genMs.toFixed(0)} ms; full sync (save + restore + jumps) ${fullMs.toFixed(0)} ms (target < 1000 ms: ${fullMs < 1000 ? 'met' : 'NOT met'}); one endpoint removed: ${partialMs.toFixed(0)} ms`);

  // 2. Throughput.
  api = await startApiServer();
  const client = new RestClient({ server: api.url }, { component: 'bench' });
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
  const clusterIP = svc.spec.clusterIP!;
  const nodePort = svc.spec.ports![0].nodePort!;
  await waitFor('pod answers', () => hit(pods[0].ip, 8080).then(() => true, () => false), 10_000, 100);

  const direct = await load(pods[0].ip, 8080);
  console.log(`\nload: ${flags.concurrency} concurrent, new connection per request, ${durationMs / 1000} s each`);
  console.log(`  direct to one pod        ${fmt(direct)}`);
  for (const mode of ['iptables', 'userspace'] as const) {
    kp = await startKubeProxy(api.url, { mode });
    await waitFor(`${mode} forwarding`, () => hit(clusterIP, 80, 1000).then(() => true, () => false), 15_000, 100);
    await waitFor(`${mode} nodeport`, () => hit('127.0.0.1', nodePort, 1000).then(() => true, () => false), 15_000, 100);
    const target = mode === 'iptables' ? 0.9 : 0.5;
    for (const [what, host, port] of [['ClusterIP', clusterIP, 80], ['NodePort 127.0.0.1', '127.0.0.1', nodePort]] as const) {
      const r = await load(host, port);
      const ratio = r.rps / direct.rps;
      console.log(`  ${mode.padEnd(9)} ${what.padEnd(18)} ${fmt(r)}  ratio ${ratio.toFixed(2)} (target >= ${target}: ${ratio >= target ? 'met' : 'NOT met'})`);
    }
    await kp.stop();
    kp = undefined;
    runCleanup();
  }
} finally {
  await teardown();
}

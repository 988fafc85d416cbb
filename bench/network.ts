// The pod network of a netns cluster (`skiff up --nodes 3 --node-mode netns`).
//   node dist/bench/network.js [--seconds=2] [--rounds=3] [--services=10] [--connections=4] [--gap-ms=2000]
// 1. Cross-node pod to pod: TCP throughput (one stream, 64 KiB writes) and
//    connection rate (sequential connect, one byte each way, close; a few
//    connections in parallel) from a pod on node 1 to a pod on node 3,
//    against the limit of this emulation: the very same program between two
//    processes in the two nodes' network namespaces directly (LAN address to
//    LAN address: the veths and the bridge without the pods' bridges,
//    routes and rules). Both use this file's `peer` mode; a pod runs it with
//    the host's root mounted read-only (hostPath) and chroot, so the code and
//    the runtime are identical and only the path differs. Printed as ratios.
// 2. Service programming: the time from `kubectl apply` of a Service (a fixed
//    ClusterIP, selecting 2 ready pods) until a connection to it succeeds
//    from every node's namespace (a prober per node polls connect() every
//    5 ms; before kube-proxy programs it the ClusterIP is local and refuses
//    at once). p50/p99 over --services Services.
// Bounded in count and time; the cluster is its own (home, ports, name,
// ranges) and is removed with `skiff down` at the end, also on failure.

import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFlags } from '../lib/flags.js';
import { destroyLan, netnsLayout, type NetnsLayout } from '../cli/netns.js';
import { freePort } from '../cli/ports.js';

const here = fileURLToPath(import.meta.url);
const repo = path.resolve(path.dirname(here), '..', '..');
const skiffMain = path.join(repo, 'dist', 'cli', 'main.js');

// ---- peer mode: what runs in the namespaces and in the pods ----

async function peer(argv: string[]): Promise<void> {
  const [mode, a, b, c] = argv;
  if (mode === 'serve') {
    // port: sink (throughput); port+1: one byte back, then close (connection rate).
    const port = Number(b);
    net.createServer((s) => { s.on('data', () => {}); s.on('error', () => {}); }).listen(port, a);
    net.createServer((s) => { s.once('data', () => s.end('x')); s.on('error', () => {}); }).listen(port + 1, a);
    process.stdout.write('ready\n');
    return;
  }
  if (mode === 'tput') {
    const [host, port, secs] = [a, Number(b), Number(c)];
    const chunk = Buffer.alloc(64 * 1024, 1);
    const s = net.connect(port, host);
    await new Promise((r) => s.once('connect', r));
    let bytes = 0;
    const start = process.hrtime.bigint();
    const endAt = Date.now() + secs * 1000;
    while (Date.now() < endAt) {
      if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
      bytes += chunk.length;
    }
    await new Promise<void>((r) => s.end(r));
    const sec = Number(process.hrtime.bigint() - start) / 1e9;
    process.stdout.write(JSON.stringify({ bytesPerSec: bytes / sec }) + '\n');
    return;
  }
  if (mode === 'conn') {
    const [host, port, secs, par] = [a, Number(b) + 1, Number(c), Number(argv[4] ?? 4)];
    const endAt = Date.now() + secs * 1000;
    let n = 0;
    const start = process.hrtime.bigint();
    const one = () => new Promise<void>((resolve, reject) => {
      const s = net.connect(port, host, () => s.write('x'));
      s.once('data', () => s.end());
      s.once('close', () => resolve());
      s.once('error', reject);
    });
    await Promise.all(Array.from({ length: par }, async () => { while (Date.now() < endAt) { await one(); n++; } }));
    const sec = Number(process.hrtime.bigint() - start) / 1e9;
    process.stdout.write(JSON.stringify({ connPerSec: n / sec }) + '\n');
    return;
  }
  if (mode === 'probe') {
    // Poll connect() until it succeeds; print the wall-clock time of that success.
    const [host, port, timeoutMs] = [a, Number(b), Number(c)];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, host, () => { s.destroy(); resolve(true); });
        s.once('error', () => resolve(false));
        s.setTimeout(1000, () => { s.destroy(); resolve(false); });
      });
      if (ok) { process.stdout.write(JSON.stringify({ at: Date.now() }) + '\n'); return; }
      if (Date.now() > deadline) { process.stdout.write(JSON.stringify({ at: null }) + '\n'); return; }
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  throw new Error(`unknown peer mode ${mode}`);
}

// ---- the benchmark ----

const flags = parseFlags({ seconds: 2, rounds: 3, services: 10, connections: 4, gapMs: 2000 }, process.argv.slice(2).filter((a) => a !== 'peer'), 'network benchmark of a netns cluster');

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }).trim();
}

function shAsync(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(cmd, args, { encoding: 'utf8', timeout: 120_000 }, (e, out, err) => (e ? reject(new Error(`${cmd} ${args.join(' ')}: ${err || e.message}`)) : resolve(out.trim()))));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs: number[], q: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];

async function main(): Promise<void> {
  const name = `bn${process.pid % 1000}`;
  const lanCidr = `10.250.${200 + (process.pid % 50)}.0/24`;
  const clusterCidr = `10.${100 + (process.pid % 40)}.0.0/16`;
  const serviceCidr = '10.96.0.0/12';
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-net-'));
  const env = { ...process.env, SKIFF_HOME: home, KUBECONFIG: path.join(home, 'kubeconfig') };
  const kubectl = (args: string[], input?: string) => execFileSync('kubectl', args, { env, encoding: 'utf8', input, timeout: 120_000 }).trim();
  const nodes = [1, 2, 3].map((i) => `${name}-node-${i}`);
  const lan: NetnsLayout = netnsLayout({ cluster: name, home, lanCidr, nodes, clusterCidr, serviceCidr });
  const children: ChildProcess[] = [];
  const cleanup = async () => {
    for (const ch of children) ch.kill('SIGKILL');
    try { execFileSync(process.execPath, [skiffMain, 'down'], { env, stdio: 'ignore', timeout: 180_000 }); } catch { /* swept below */ }
    await destroyLan(lan, { cluster: name, clusterCidr, log: () => {} });
    fs.rmSync(home, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup().then(() => process.exit(1)));
  try {
    const t0 = Date.now();
    console.log(`skiff up --nodes 3 --node-mode netns (${lanCidr}, pods ${clusterCidr})`);
    execFileSync(process.execPath, [skiffMain, 'up', '--nodes=3', '--node-mode=netns', `--name=${name}`, `--apiserver-port=${await freePort()}`, `--etcd-port=${await freePort()}`, `--lan-cidr=${lanCidr}`, `--cluster-cidr=${clusterCidr}`], { env, stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
    console.log(`  all nodes Ready after ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const [n1, , n3] = lan.nodes;
    const inNs = (netns: string, args: string[]) => ['--net=/run/netns/' + netns, process.execPath, here, 'peer', ...args];
    const port = 15001;

    // The limit: the same program between the two nodes' namespaces (on another port than the pod's: the node's own address).
    const server = spawn('nsenter', inNs(n3.netns, ['serve', n3.ip, String(port + 10)]), { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(server);
    await new Promise((r) => server.stdout!.once('data', r));
    const direct = async (mode: string) => JSON.parse(await shAsync('nsenter', inNs(n1.netns, [mode, n3.ip, String(port + 10), String(flags.seconds), String(flags.connections)])));

    // Pods: the host's root read-only, so the same node binary and this file run in the pods' network namespaces.
    const peerPod = (podName: string, node: string, args: string[]) => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: podName, labels: { bench: 'net' } },
      spec: {
        nodeName: node, terminationGracePeriodSeconds: 0,
        volumes: [{ name: 'host', hostPath: { path: '/' } }],
        containers: [{ name: 'p', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['chroot', '/host', process.execPath, here, 'peer', ...args], volumeMounts: [{ name: 'host', mountPath: '/host', readOnly: true }] }],
      },
    });
    kubectl(['apply', '-f', '-'], JSON.stringify(peerPod('net-server', n3.name, ['serve', '0.0.0.0', String(port)])));
    kubectl(['apply', '-f', '-'], JSON.stringify({ ...peerPod('net-client', n1.name, []), spec: { ...peerPod('net-client', n1.name, []).spec, containers: [{ name: 'p', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'], volumeMounts: [{ name: 'host', mountPath: '/host', readOnly: true }] }] } }));
    kubectl(['wait', '--for=condition=Ready', 'pod/net-server', 'pod/net-client', '--timeout=120s']);
    const serverIP = kubectl(['get', 'pod', 'net-server', '-o', 'jsonpath={.status.podIP}']);
    await sleep(500);
    const inPod = (args: string[]) => JSON.parse(kubectl(['exec', 'net-client', '--', 'chroot', '/host', process.execPath, here, 'peer', ...args]));
    // Alternating slices, medians: the machine is shared, and a single slice of each says more about the neighbours than the path.
    const limT: number[] = [], limC: number[] = [], podT: number[] = [], podC: number[] = [];
    for (let r = 0; r < flags.rounds; r++) {
      limT.push((await direct('tput')).bytesPerSec);
      podT.push(inPod(['tput', serverIP, String(port), String(flags.seconds)]).bytesPerSec);
      limC.push((await direct('conn')).connPerSec);
      podC.push(inPod(['conn', serverIP, String(port), String(flags.seconds), String(flags.connections)]).connPerSec);
    }
    server.kill('SIGKILL');
    const [limTput, limConn, podTput, podConn] = [limT, limC, podT, podC].map((xs) => quantile(xs, 0.5));
    console.log(`cross-node pod to pod (node 1 -> node 3) vs the same between the node namespaces, medians of ${flags.rounds} alternating ${flags.seconds} s slices:`);
    console.log(`  throughput      ${(podTput / 1e6).toFixed(0)} MB/s vs ${(limTput / 1e6).toFixed(0)} MB/s: ${(podTput / limTput).toFixed(2)} (target >= 0.9)`);
    console.log(`  connection rate ${podConn.toFixed(0)}/s vs ${limConn.toFixed(0)}/s: ${(podConn / limConn).toFixed(2)} (target >= 0.9)`);

    // Service programming on every node.
    kubectl(['create', 'deployment', 'svcbench', '--image=busybox:latest', '--replicas=2', '--port=8080', '--', 'sh', '-c', 'trap "exit 0" TERM; httpd -f -p 8080 -h / & wait']);
    kubectl(['rollout', 'status', 'deployment/svcbench', '--timeout=120s']);
    const times: number[] = [];
    const applies: number[] = [];
    for (let i = 0; i < flags.services; i++) {
      const ip = `10.96.200.${10 + i}`;
      const probes = lan.nodes.map((n) => shAsync('nsenter', inNs(n.netns, ['probe', ip, '80', '20000'])));
      // The probers are polling before the apply. The gap also lets each kube-proxy's sync budget refill: as kube's
      // BoundedFrequencyRunner, it syncs at most once per --min-sync-period (1 s) with a burst of 2, and a Service
      // costs two syncs (the Service, then its EndpointSlice), so applies closer than that measure the rate limit.
      await sleep(flags.gapMs);
      const start = Date.now();
      kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}` }, spec: { clusterIP: ip, selector: { app: 'svcbench' }, ports: [{ port: 80, targetPort: 8080 }] } }));
      applies.push(Date.now() - start);
      const ats = (await Promise.all(probes)).map((o) => JSON.parse(o).at as number | null);
      if (ats.some((a) => a === null)) throw new Error(`Service ${ip} not forwarded on every node within 20 s`);
      times.push(Math.max(...(ats as number[])) - start);
    }
    console.log(`Service (2 ready endpoints) forwarded on all 3 nodes after kubectl apply, ${flags.services} Services ${flags.gapMs} ms apart:`);
    console.log(`  p50 ${quantile(times, 0.5)} ms, p99 ${quantile(times, 0.99)} ms (target p99 < 1000 ms); of which kubectl apply itself until it exits: p50 ${quantile(applies, 0.5)} ms`);
  } finally {
    await cleanup();
  }
}

if (process.argv[2] === 'peer') {
  peer(process.argv.slice(3)).catch((e) => { process.stderr.write(String(e) + '\n'); process.exit(1); });
} else {
  main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
}

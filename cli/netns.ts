// `skiff up --node-mode netns`: nodes that behave like VMs on one machine.
// A private LAN bridge in the root namespace holds the LAN's first address
// (where the control plane listens and advertises); each node is a network
// namespace with a veth into that bridge, its own LAN address, and its own
// Docker engine (own data root, exec root, socket, pidfile and cgroup
// parent), so a pod never shares an engine, a bridge or an address with
// another node's.
//
// dockerd is started with `nsenter --net=/run/netns/<ns>` and not `ip netns
// exec`, which remounts /sys and leaves dockerd with "Devices cgroup isn't
// mounted". Each dockerd starts its own containerd under its exec root.
//
// The network rule: nothing for the LAN range, the cluster CIDR or the service
// range may leave the machine. The LAN range is connected on the bridge; the
// cluster CIDR gets an unreachable route in the root namespace before any node
// starts (the root-mode network agent adds the per-node routes, which are more
// specific); the service range is local in the root namespace and in every
// node's.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { intToIp, ipToInt } from '../lib/ipv4.js';
import type { ComponentSpec } from './supervisor.js';

export type NodeMode = 'netns' | 'shared';

/** kube's default when `--node-mode` is not given: one engine suffices for one node. */
export function defaultNodeMode(nodes: number): NodeMode {
  return nodes > 1 ? 'netns' : 'shared';
}

export interface NetnsNode {
  name: string;
  /** The network namespace, /run/netns/<netns>. */
  netns: string;
  /** The veth end left in the root namespace, enslaved to the bridge. */
  hostVeth: string;
  ip: string;
  /** The node's own state: what `skiff join` would keep under a VM's $SKIFF_HOME. */
  home: string;
  engine: { socket: string; dataRoot: string; execRoot: string; pidfile: string; cgroupParent: string; configFile: string };
}

export interface NetnsLayout {
  bridge: string;
  /** The bridge's address: the control plane's on the LAN. */
  gateway: string;
  lanCidr: string;
  prefixLength: number;
  /** Every link of this cluster (bridge, veths) starts with one of these, for a sweep after a crash. */
  linkPrefixes: string[];
  /** Every namespace of this cluster starts with this. */
  netnsPrefix: string;
  nodes: NetnsNode[];
}

export function parseCidr(cidr: string): { base: number; bits: number } {
  const [ip, len] = cidr.split('/');
  const bits = Number(len);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const base = ipToInt(ip ?? '');
  if (Number.isNaN(base)) throw new Error(`not an IPv4 address: ${ip}`);
  const size = 2 ** (32 - bits);
  if (base % size !== 0) throw new Error(`${cidr} has host bits set`);
  return { base, bits };
}

/** RFC 1918 space: the LAN must never be an address someone else owns. */
function isPrivate(cidr: string): boolean {
  const { base, bits } = parseCidr(cidr);
  return [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16]].some(([b, l]) => {
    const size = 2 ** (32 - (l as number));
    return bits >= (l as number) && Math.floor(base / size) === Math.floor(ipToInt(b as string) / size);
  });
}

export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  const bits = Math.min(x.bits, y.bits);
  const size = 2 ** (32 - bits);
  return Math.floor(x.base / size) === Math.floor(y.base / size);
}

/** Short, stable per cluster: interface names are at most 15 bytes, cluster names are not. */
function clusterHash(cluster: string): string {
  return createHash('sha256').update(cluster).digest('hex').slice(0, 6);
}

/**
 * Names and addresses of a netns cluster, decided from its name and LAN range
 * alone so `skiff down` (and a sweep after a crash) finds the same ones.
 */
export function netnsLayout(o: { cluster: string; home: string; lanCidr: string; nodes: string[]; clusterCidr: string; serviceCidr: string }): NetnsLayout {
  const { base, bits } = parseCidr(o.lanCidr);
  if (!isPrivate(o.lanCidr)) throw new Error(`--lan-cidr ${o.lanCidr} is not private (RFC 1918) address space`);
  for (const [flag, other] of [['--cluster-cidr', o.clusterCidr], ['--service-cluster-ip-range', o.serviceCidr]]) {
    if (cidrsOverlap(o.lanCidr, other)) throw new Error(`--lan-cidr ${o.lanCidr} overlaps ${flag} ${other}`);
  }
  // Network and broadcast addresses excluded; the first host address is the bridge's.
  const hosts = 2 ** (32 - bits) - 2;
  if (o.nodes.length + 1 > hosts) throw new Error(`--lan-cidr ${o.lanCidr} has room for ${Math.max(0, hosts - 1)} nodes, not ${o.nodes.length}`);
  const h = clusterHash(o.cluster);
  // Short paths: a unix socket path has at most 107 bytes, and containerd's sockets live under the exec root.
  const runDir = path.join('/run/skiff', h);
  return {
    bridge: `skb${h}`,
    gateway: intToIp(base + 1),
    lanCidr: o.lanCidr,
    prefixLength: bits,
    linkPrefixes: [`skb${h}`, `skv${h}`],
    netnsPrefix: `skiff-${o.cluster}-`,
    nodes: o.nodes.map((name, i) => {
      const home = path.join(o.home, 'nodes', name);
      return {
        name,
        netns: `skiff-${name}`,
        hostVeth: `skv${h}n${i + 1}`,
        ip: intToIp(base + 2 + i),
        home,
        engine: {
          socket: path.join(runDir, `n${i + 1}`, 'docker.sock'),
          dataRoot: path.join(home, 'docker'),
          execRoot: path.join(runDir, `n${i + 1}`, 'exec'),
          pidfile: path.join(runDir, `n${i + 1}`, 'docker.pid'),
          cgroupParent: `skiff-${name}`,
          configFile: path.join(home, 'daemon.json'),
        },
      };
    }),
  };
}

type Log = (line: string) => void;

function run(cmd: string, args: string[], input?: Buffer | string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], input, timeout: 60_000 });
}

/** Run, and say why it failed instead of throwing: teardown goes on past what is already gone. */
function tryRun(cmd: string, args: string[]): string | undefined {
  try {
    return run(cmd, args);
  } catch (e) {
    return undefined;
  }
}

function inNetns(netns: string, cmd: string, args: string[]): string {
  return run('nsenter', [`--net=/run/netns/${netns}`, cmd, ...args]);
}

/** Our FORWARD rules in the root namespace, each marked with the cluster's comment so down removes only ours. */
function forwardRules(l: NetnsLayout, cluster: string): string[][] {
  const comment = ['-m', 'comment', '--comment', `skiff ${cluster} LAN`];
  return [
    // br_netfilter hands bridged frames to iptables and FORWARD's policy is DROP: node to node on the LAN passes.
    ['-i', l.bridge, '-o', l.bridge, ...comment, '-j', 'ACCEPT'],
    // Nothing from a node is routed on off the LAN (the network rule), whatever a node's routes say.
    ['-i', l.bridge, '!', '-o', l.bridge, ...comment, '-j', 'DROP'],
  ];
}

export interface LanOptions { cluster: string; clusterCidr: string; serviceCidr: string; log: Log }

/**
 * The LAN and every node's namespace, made before any component starts. The
 * unreachable route for the cluster CIDR comes first: from then on, nothing
 * for a pod address can leave by the default route.
 */
export function createLan(l: NetnsLayout, o: LanOptions): void {
  const { log } = o;
  log(`making the LAN ${l.lanCidr} on bridge ${l.bridge} (${l.gateway}) and ${l.nodes.length} node namespace(s)`);
  run('ip', ['route', 'replace', 'unreachable', o.clusterCidr]);
  if (!tryRun('ip', ['link', 'show', l.bridge])) run('ip', ['link', 'add', l.bridge, 'type', 'bridge']);
  run('ip', ['addr', 'replace', `${l.gateway}/${l.prefixLength}`, 'dev', l.bridge]);
  run('ip', ['link', 'set', l.bridge, 'up']);
  // Inserted at the top, so Docker's own FORWARD rules (DOCKER-USER, isolation) never see LAN frames first.
  for (const rule of forwardRules(l, o.cluster).reverse()) {
    if (!tryRun('iptables', ['-w', '-C', 'FORWARD', ...rule])) run('iptables', ['-w', '-I', 'FORWARD', '1', ...rule]);
  }
  const globalBridgeNf = l.nodes.map((n) => createNodeNetns(l, n, o)).some((perNs) => !perNs);
  if (globalBridgeNf) log('note: net.bridge.bridge-nf-call-iptables is not per namespace on this kernel; the global value applies in the nodes');
}

/** Returns whether bridge-nf-call-iptables could be set in the node's own namespace. */
function createNodeNetns(l: NetnsLayout, n: NetnsNode, o: LanOptions): boolean {
  if (!fs.existsSync(`/run/netns/${n.netns}`)) run('ip', ['netns', 'add', n.netns]);
  if (!tryRun('ip', ['link', 'show', n.hostVeth])) {
    // Named in the node's namespace from the start: eth0, as on a VM.
    run('ip', ['link', 'add', n.hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n.netns]);
  }
  run('ip', ['link', 'set', n.hostVeth, 'master', l.bridge, 'up']);
  inNetns(n.netns, 'ip', ['addr', 'replace', `${n.ip}/${l.prefixLength}`, 'dev', 'eth0']);
  inNetns(n.netns, 'ip', ['link', 'set', 'lo', 'up']);
  inNetns(n.netns, 'ip', ['link', 'set', 'eth0', 'up']);
  // No default route: a node reaches the LAN, its own pods and (through the agent's routes) other nodes' pods only.
  inNetns(n.netns, 'ip', ['route', 'replace', 'local', o.serviceCidr, 'dev', 'lo', 'table', 'local']);
  inNetns(n.netns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  // Per namespace on recent kernels; where it is global it is already 1 (see the facts).
  const perNs = tryRun('nsenter', [`--net=/run/netns/${n.netns}`, 'sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=1']) !== undefined;
  fs.mkdirSync(n.home, { recursive: true });
  fs.mkdirSync(path.dirname(n.engine.socket), { recursive: true });
  // dockerd reads /etc/docker/daemon.json unless told otherwise: a node's engine must not take the root engine's settings.
  fs.writeFileSync(n.engine.configFile, '{}\n');
  return perNs;
}

/** The node's Docker engine as a supervised component: dockerd in the node's namespace, everything of its own. */
export function engineComponent(n: NetnsNode, logDir: string): ComponentSpec {
  return {
    name: `docker-${n.name}`,
    cmd: 'nsenter',
    args: [
      `--net=/run/netns/${n.netns}`, 'dockerd',
      `--config-file=${n.engine.configFile}`,
      `--data-root=${n.engine.dataRoot}`, `--exec-root=${n.engine.execRoot}`, `--pidfile=${n.engine.pidfile}`,
      `--host=unix://${n.engine.socket}`, `--cgroup-parent=${n.engine.cgroupParent}`,
      // Containers of a killed engine are not kept: the kubelet's pods on it end as on a crashed VM.
      '--live-restore=false', '--log-level=warn',
    ],
    log: path.join(logDir, `docker-${n.name}.log`),
  };
}

export function engineEndpoint(n: NetnsNode): string {
  return `unix://${n.engine.socket}`;
}

function engineAnswers(n: NetnsNode): boolean {
  return spawnSync('docker', ['-H', engineEndpoint(n), 'version', '--format', '{{.Server.Version}}'], { stdio: 'ignore', timeout: 5000 }).status === 0;
}

/** Wait until the node's engine answers, then give it the root engine's images (no registry is reachable). */
export async function prepareEngine(n: NetnsNode, images: string[], timeoutMs: number, alive: () => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!engineAnswers(n)) {
    alive();
    if (Date.now() > deadline) throw new Error(`the Docker engine of ${n.name} did not answer on ${n.engine.socket} within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const missing = images.filter((img) => spawnSync('docker', ['-H', engineEndpoint(n), 'image', 'inspect', img], { stdio: 'ignore' }).status !== 0);
  if (missing.length === 0) return;
  const tar = execFileSync('docker', ['save', ...missing], { maxBuffer: 1024 ** 3, timeout: 120_000 });
  execFileSync('docker', ['-H', engineEndpoint(n), 'load', '-q'], { input: tar, stdio: ['pipe', 'ignore', 'pipe'], timeout: 120_000 });
}

const layoutFile = (home: string) => path.join(home, 'netns.json');

/** Kept under the cluster's home so `skiff down` finds the LAN even when the state file is gone. */
export function saveLayout(home: string, l: NetnsLayout, o: { cluster: string; clusterCidr: string }): void {
  fs.writeFileSync(layoutFile(home), JSON.stringify({ ...o, layout: l }, null, 2));
}

export function readLayout(home: string): { cluster: string; clusterCidr: string; layout: NetnsLayout } | undefined {
  try {
    return JSON.parse(fs.readFileSync(layoutFile(home), 'utf8'));
  } catch {
    return undefined;
  }
}

function pidsIn(netns: string): number[] {
  return (tryRun('ip', ['netns', 'pids', netns]) ?? '').split('\n').filter(Boolean).map(Number);
}

/** Every process in the node's containers' cgroups (a container outlives a SIGKILLed shim otherwise). */
function containerPids(n: NetnsNode): number[] {
  const dir = path.join('/sys/fs/cgroup/pids', n.engine.cgroupParent);
  const out: number[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[] = [];
    try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
    try { out.push(...fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number)); } catch { /* gone */ }
  };
  walk(dir);
  return out;
}

function removeCgroups(n: NetnsNode): void {
  for (const ctrl of fs.readdirSync('/sys/fs/cgroup')) {
    const dir = path.join('/sys/fs/cgroup', ctrl, n.engine.cgroupParent);
    if (!fs.existsSync(dir)) continue;
    // Deepest first: a cgroup directory goes only when it has no children.
    const dirs: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
      dirs.push(d);
    };
    try { walk(dir); } catch { /* raced */ }
    for (const d of dirs) try { fs.rmdirSync(d); } catch { /* busy or gone */ }
  }
}

function unmountUnder(dirs: string[]): void {
  const mounts = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter(Boolean)
    .map((m) => m.replace(/\\040/g, ' '))
    .filter((m) => dirs.some((d) => m === d || m.startsWith(d + '/')))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) tryRun('umount', ['-l', m]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function killAll(pids: () => number[], log: Log, what: string): Promise<void> {
  let left = pids();
  if (left.length === 0) return;
  log(`stopping ${left.length} process(es) of ${what}`);
  for (const p of left) try { process.kill(p, 'SIGTERM'); } catch { /* gone */ }
  const deadline = Date.now() + 15_000;
  while ((left = pids()).length && Date.now() < deadline) await sleep(200);
  for (const p of left) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
  const hard = Date.now() + 5000;
  while (pids().length && Date.now() < hard) await sleep(100);
}

/**
 * Remove a node completely: its pods' containers (through its engine while it
 * answers, else by their cgroups), every process in its namespace (engine,
 * containerd, shims, and node processes started in it), mounts under its
 * engine's roots, cgroups, and the namespace itself (which takes the veth).
 * Only what lives in the node's own namespace or cgroups is signalled: this
 * cluster made both.
 */
export async function destroyNode(n: NetnsNode, log: Log): Promise<void> {
  if (fs.existsSync(n.engine.socket) && engineAnswers(n)) {
    const ids = (tryRun('docker', ['-H', engineEndpoint(n), 'ps', '-aq']) ?? '').split('\n').filter(Boolean);
    if (ids.length) {
      log(`removing ${ids.length} container(s) of ${n.name}`);
      tryRun('docker', ['-H', engineEndpoint(n), 'rm', '-f', ...ids]);
    }
  }
  await killAll(() => pidsIn(n.netns), log, `namespace ${n.netns}`);
  await killAll(() => containerPids(n), log, `${n.name}'s containers`);
  unmountUnder([n.engine.dataRoot, n.engine.execRoot]);
  removeCgroups(n);
  if (fs.existsSync(`/run/netns/${n.netns}`)) tryRun('ip', ['netns', 'del', n.netns]);
  if (tryRun('ip', ['link', 'show', n.hostVeth])) tryRun('ip', ['link', 'del', n.hostVeth]);
  fs.rmSync(path.dirname(n.engine.socket), { recursive: true, force: true });
}

/** The whole LAN: nodes, then the bridge, our FORWARD rules and the cluster CIDR's route. */
export async function destroyLan(l: NetnsLayout, o: { cluster: string; clusterCidr: string; log: Log }): Promise<void> {
  for (const n of l.nodes) await destroyNode(n, o.log);
  if (tryRun('ip', ['link', 'show', l.bridge])) {
    o.log(`removing the LAN bridge ${l.bridge}`);
    tryRun('ip', ['link', 'del', l.bridge]);
  }
  for (const rule of forwardRules(l, o.cluster)) while (tryRun('iptables', ['-w', '-D', 'FORWARD', ...rule]) !== undefined);
  // Routes the root-mode agent left for node pod CIDRs go with the bridge (their device); this one has none.
  tryRun('ip', ['route', 'del', 'unreachable', o.clusterCidr]);
  const runDir = l.nodes[0] ? path.dirname(path.dirname(l.nodes[0].engine.socket)) : undefined;
  if (runDir) fs.rmSync(runDir, { recursive: true, force: true });
  // /run/skiff itself, once no cluster has anything under it.
  if (runDir) try { fs.rmdirSync(path.dirname(runDir)); } catch { /* another cluster's, or gone */ }
}

// A local cluster as background processes: etcd, the API server, the
// scheduler, the controller-manager, and a kubelet and kube-proxy per node,
// started and kept running by a supervisor process (supervisor.ts).
// Everything lives under one state directory ($SKIFF_HOME, default ~/.skiff):
// state.json (pids, start times, restarts), supervisor.json (what to run),
// logs/, etcd/, kubelet root dirs and the kubeconfig, so two clusters with
// different homes and ports run side by side.

import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadKubeconfig } from '../client/kubeconfig.js';
import { RestClient } from '../client/rest.js';
import { R } from '../api/resources.js';
import { ensureClusterPKI, ensureKubeconfig, ensureKubeletServing } from './pki.js';
import { chainPrefixForCluster } from '../kube-proxy/iptables/rules.js';
import { freePort, portInUse, reservePorts } from './ports.js';
import { apiServerNodeFlags } from '../apiserver/nodeflags.js';
import type { LogFormat } from '../lib/log.js';
import { alive, processIdentity } from './proc.js';
import { planPath, supervisorName, type ComponentSpec, type SupervisorPlan } from './supervisor.js';
import { prepareJoin } from './join.js';
import { createToken } from './token.js';
import { caCertHash } from '../lib/pki.js';
import { dnsGroups, dnsUser } from '../dns/identity.js';
import { ensureDnsService, nthAddress } from '../dns/service.js';
import { createLan, destroyLan, engineComponent, engineEndpoint, netnsLayout, prepareEngine, readLayout, saveLayout, type NetnsLayout, type NodeMode } from './netns.js';

export { alive };
export { defaultHome, healthy, readState, writeState, type ClusterState, type ProcessRecord } from './state.js';
import { healthy, readState, statePath, writeState, type ClusterState, type ProcessRecord } from './state.js';

export interface ClusterOptions {
  home: string;
  name: string;
  nodes: number;
  apiserverPort: number;
  etcdPort: number;
  serviceClusterIpRange: string;
  proxyMode: 'iptables' | 'userspace' | '';
  /** Per-node capacity override, so several simulated nodes share one host honestly. */
  nodeCpu?: string;
  nodeMemory?: string;
  /** --log-format of every component Skiff runs. */
  logFormat?: LogFormat;
  /** netns: each node in a network namespace with its own engine and LAN address (netns.ts); shared: one engine, 127.0.0.1. */
  nodeMode?: NodeMode;
  /** --advertise-address: where workers (skiff join) and pods reach the API server. */
  advertiseAddress?: string;
  lanCidr?: string;
  clusterCidr?: string;
  log: (line: string) => void;
}

const distRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class LocalCluster {
  private readonly components: ComponentSpec[] = [];
  private supervisorPid: number | undefined;
  /** --cluster-dns and --cluster-domain for every kubelet. */
  private dnsFlags: string[] = [];

  constructor(private readonly o: ClusterOptions) {}

  private add(name: string, cmd: string, args: string[], health?: string, waitHealthy = false): void {
    this.components.push({ name, cmd, args, log: path.join(this.o.home, 'logs', `${name}.log`), health, waitHealthy });
  }

  /** One of our components: its format on its command line, so a restart (by the supervisor or by hand) keeps it. */
  private node(component: string, args: string[], health: string, name: string, waitHealthy = false, netns?: string): void {
    const nodeFlags = component === 'apiserver' ? apiServerNodeFlags : [];
    const argv = [...nodeFlags, path.join(distRoot, component, 'main.js'), ...args, `--log-format=${this.o.logFormat ?? 'text'}`];
    // In a node's namespace, as on the node's own machine; nsenter execs it, so the recorded pid is the component's.
    if (netns) this.add(name, 'nsenter', [`--net=/run/netns/${netns}`, process.execPath, ...argv], health, waitHealthy);
    else this.add(name, process.execPath, argv, health, waitHealthy);
  }

  nodeNames(): string[] {
    return Array.from({ length: this.o.nodes }, (_, i) => `${this.o.name}-node-${i + 1}`);
  }

  private clusterCidr(): string {
    return this.o.clusterCidr ?? defaultClusterCidr;
  }

  /**
   * Per node in netns mode: its engine, then its kubelet and kube-proxy in its
   * namespace, on its LAN address with kube's default ports (each namespace
   * has its own), talking to the API server on the LAN as a VM's would.
   */
  /**
   * The node engines (supervised here, as a VM's engine is by its init) and the control-plane host's
   * network agent. Each node's kubelet, kube-proxy and agent come later from `skiff join`, run in the
   * node's namespace as on a worker VM (joinNetnsNodes).
   */
  private planNetnsNodes(lan: NetnsLayout, rootProxyConf: string): void {
    const logDir = path.join(this.o.home, 'logs');
    for (const n of lan.nodes) this.components.push(engineComponent(n, logDir));
    // The network agent lists every Node, which the Node authorizer refuses a kubelet: it runs as kube-proxy (netagent/main.ts).
    const agent = fs.existsSync(path.join(distRoot, 'netagent', 'main.js'));
    if (!agent) this.o.log('note: no network agent built (dist/netagent); pods reach only pods on their own node');
    // On the control-plane host, no node name: only a route to each node's pod CIDR via its LAN address.
    if (agent) this.node('netagent', [`--kubeconfig=${rootProxyConf}`, `--cluster-cidr=${this.clusterCidr()}`], '', 'netagent');
  }

  /** Each node joins as a worker VM does: `skiff join` with a bootstrap token and the CA's hash, inside its namespace. */
  private async joinNetnsNodes(lan: NetnsLayout, kubeconfig: string, server: string, caCert: string): Promise<void> {
    let token = '';
    await retrying('a bootstrap token for the nodes', kubeconfig, async (c) => {
      token = await createToken(c, { ttlSeconds: 3600, description: `skiff up: the netns nodes of ${this.o.name}` });
    });
    const cli = path.join(distRoot, 'cli', 'main.js');
    await Promise.all(lan.nodes.map((n) => new Promise<void>((resolve, reject) => {
      const args = [
        `--net=/run/netns/${n.netns}`, process.execPath, cli, 'join', server, `--token=${token}`, `--ca-cert-hash=${caCertHash(caCert)}`,
        `--node-name=${n.name}`, `--node-ip=${n.ip}`, `--container-runtime-endpoint=${engineEndpoint(n)}`, `--home=${n.home}`,
        `--name=${this.o.name}`, `--cluster-cidr=${this.clusterCidr()}`, `--service-cluster-ip-range=${this.o.serviceClusterIpRange}`,
        `--log-format=${this.o.logFormat ?? 'text'}`,
      ];
      execFile('nsenter', args, { timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`node ${n.name} could not join: ${err.message}\n${stdout}${stderr}`));
        else resolve();
      });
    })));
  }

  /** Plan every component, hand the plan to a new supervisor, and wait until the cluster is up. */
  async up(): Promise<ClusterState> {
    const { home, log } = this.o;
    fs.mkdirSync(home, { recursive: true });
    for (const [what, port] of [['API server', this.o.apiserverPort], ['etcd', this.o.etcdPort]] as const) {
      if (await portInUse(port)) throw new Error(`port ${port} for ${what} is in use; pick another with --${what === 'etcd' ? 'etcd-port' : 'apiserver-port'}`);
    }
    // Every port is chosen before the supervisor binds any: the two given ones must not be chosen again for another.
    reservePorts(this.o.apiserverPort, this.o.etcdPort);

    const etcdUrl = `http://127.0.0.1:${this.o.etcdPort}`;
    const peer = `http://127.0.0.1:${await freePort()}`;
    this.add('etcd', 'etcd', [
      '--name', this.o.name, '--data-dir', path.join(home, 'etcd'),
      '--listen-client-urls', etcdUrl, '--advertise-client-urls', etcdUrl,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `${this.o.name}=${peer}`,
      // kube-apiserver compacts every 5 minutes; etcd's own retention keeps the watch window similar.
      '--auto-compaction-mode', 'periodic', '--auto-compaction-retention', '5m',
      '--quota-backend-bytes', String(8 * 1024 ** 3), '--log-level', 'warn',
    ], `${etcdUrl}/health`, true);

    let lan: NetnsLayout | undefined;
    if (this.o.nodeMode === 'netns') {
      lan = netnsLayout({ cluster: this.o.name, home, lanCidr: this.o.lanCidr ?? defaultLanCidr, nodes: this.nodeNames(), clusterCidr: this.clusterCidr(), serviceCidr: this.o.serviceClusterIpRange });
      // Recorded before anything is made, so `skiff down` removes what a failed start left.
      saveLayout(home, lan, { cluster: this.o.name, clusterCidr: this.clusterCidr() });
      createLan(lan, { cluster: this.o.name, clusterCidr: this.clusterCidr(), serviceCidr: this.o.serviceClusterIpRange, log });
    }
    // Pods reach the API server through the `kubernetes` Service, whose endpoint is this address: the
    // engine's bridge, local to this machine and routed to from every pod on it; in netns mode the LAN's.
    const advertise = this.o.advertiseAddress ?? lan?.gateway ?? bridgeAddress() ?? '127.0.0.1';
    // The control plane of a cluster of machines (workers `skiff join` it): its own node is a node like
    // theirs, on its address, with pods on its pod CIDR and a network agent routing to the other nodes'.
    const vm = !lan && !!this.o.advertiseAddress && !this.o.advertiseAddress.startsWith('127.');
    if (vm && this.o.nodes > 1) throw new Error('--advertise-address: this machine runs one node and the others join it (skiff join); for several nodes on one machine use --node-mode netns');
    log('making the cluster certificates');
    const pki = await ensureClusterPKI(home, { advertise: [advertise], serviceIP: firstServiceIP(this.o.serviceClusterIpRange) });

    const server = `https://127.0.0.1:${this.o.apiserverPort}`;
    this.node('apiserver', [
      `--etcd-servers=${etcdUrl}`,
      // Every interface, as kube-apiserver, so pods reach it on the bridge; TLS and authentication guard it.
      '--bind-address=0.0.0.0', `--advertise-address=${advertise}`, `--secure-port=${this.o.apiserverPort}`,
      `--tls-cert-file=${pki.apiserver.certFile}`, `--tls-private-key-file=${pki.apiserver.keyFile}`, `--client-ca-file=${pki.caFile}`,
      '--authorization-mode=Node,RBAC',
      `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
      `--service-account-key-file=${pki.saPubFile}`, `--service-account-signing-key-file=${pki.saKeyFile}`,
      `--kubelet-client-certificate=${pki.kubeletClient.certFile}`, `--kubelet-client-key=${pki.kubeletClient.keyFile}`,
      `--kubelet-certificate-authority=${pki.caFile}`,
      `--service-cluster-ip-range=${this.o.serviceClusterIpRange}`,
    ], `${server}/readyz`, 'kube-apiserver', true);

    const kubeconfig = path.join(home, 'kubeconfig');
    const conf = (file: string, user: string, groups?: string[]) => ensureKubeconfig(pki, path.join(home, file), { server, name: this.o.name, user, groups });
    // The user's: the cluster's administrator (kubeadm's admin.conf).
    await ensureKubeconfig(pki, kubeconfig, { server, name: this.o.name, user: 'kubernetes-admin', groups: ['system:masters'] });
    makeServiceRangeLocal(this.o.serviceClusterIpRange, log);

    const schedPort = await freePort();
    this.node('scheduler', [`--kubeconfig=${await conf('scheduler.conf', 'system:kube-scheduler')}`, `--port=${schedPort}`], `http://127.0.0.1:${schedPort}/healthz`, 'kube-scheduler');
    const cmPort = await freePort();
    this.node('controllers', [`--kubeconfig=${await conf('controller-manager.conf', 'system:kube-controller-manager')}`, `--port=${cmPort}`, `--root-ca-file=${pki.caFile}`,
      // kubeadm's: the cluster CA signs what csrapproving approves (skiff join), and cluster-info is kept signed per token.
      `--cluster-signing-cert-file=${pki.caFile}`, `--cluster-signing-key-file=${path.join(pki.dir, 'ca.key')}`, '--controllers=*,bootstrapsigner,tokencleaner', ...(lan || vm ? ['--allocate-node-cidrs', `--cluster-cidr=${this.clusterCidr()}`] : [])], `http://127.0.0.1:${cmPort}/healthz`, 'kube-controller-manager');
    const proxyConf = await conf('kube-proxy.conf', 'system:kube-proxy');
    // The cluster DNS (kubeadm's CoreDNS) listens where pods reach the host, as the API server does; kube-proxy forwards kube-dns' ClusterIP (the 10th address) to it.
    const dns = { clusterIP: nthAddress(this.o.serviceClusterIpRange, 10), address: advertise, port: await freePort(), metricsPort: await freePort() };
    this.node('dns', [`--kubeconfig=${await conf('coredns.conf', dnsUser, dnsGroups)}`, '--cluster-domain=cluster.local', `--bind-address=${advertise}`, `--port=${dns.port}`, `--metrics-bind-address=${advertise}:${dns.metricsPort}`], `http://${advertise}:${dns.metricsPort}/healthz`, 'coredns');
    this.dnsFlags = [`--cluster-dns=${dns.clusterIP}`, '--cluster-domain=cluster.local'];

    if (lan) this.planNetnsNodes(lan, proxyConf);
    for (const nodeName of lan ? [] : this.nodeNames()) {
      const kubeletPort = await freePort();
      const healthzPort = await freePort();
      const nodeIP = vm ? advertise : '127.0.0.1';
      const serving = await ensureKubeletServing(pki, nodeName, vm ? ['127.0.0.1', advertise] : ['127.0.0.1']);
      const kubeletArgs = [
        `--kubeconfig=${await conf(`kubelet-${nodeName}.conf`, `system:node:${nodeName}`, ['system:nodes'])}`,
        `--hostname-override=${nodeName}`, `--node-ip=${nodeIP}`, `--port=${kubeletPort}`, `--healthz-port=${healthzPort}`,
        `--tls-cert-file=${serving.certFile}`, `--tls-private-key-file=${serving.keyFile}`, `--client-ca-file=${pki.caFile}`,
        `--root-dir=${path.join(home, 'kubelet', nodeName)}`, ...this.dnsFlags,
        // The API server reaches the kubelet on the node's InternalIP; pods on the pod CIDR, routed between machines.
        ...(vm ? [`--address=${advertise}`, '--pod-network=podcidr'] : []),
      ];
      if (this.o.nodeCpu) kubeletArgs.push(`--cpu=${this.o.nodeCpu}`);
      if (this.o.nodeMemory) kubeletArgs.push(`--memory=${this.o.nodeMemory}`);
      this.node('kubelet', kubeletArgs, `http://127.0.0.1:${healthzPort}/healthz`, `kubelet-${nodeName}`);
      const proxyPort = await freePort();
      const proxyArgs = [
        `--kubeconfig=${proxyConf}`, `--hostname-override=${nodeName}`,
        `--service-cluster-ip-range=${this.o.serviceClusterIpRange}`, `--metrics-bind-address=127.0.0.1:${proxyPort}`,
      ];
      if (this.o.proxyMode) proxyArgs.push(`--proxy-mode=${this.o.proxyMode}`);
      // Chains of their own, so another cluster's kube-proxies on this kernel neither rewrite nor clean up ours.
      proxyArgs.push(`--chain-prefix=${chainPrefixForCluster(this.o.name)}`);
      if (vm) proxyArgs.push(`--cluster-cidr=${this.clusterCidr()}`);
      // Every kube-proxy of one cluster writes the same node-agnostic rules, so several on one host agree; see README.
      this.node('kube-proxy', proxyArgs, `http://127.0.0.1:${proxyPort}/healthz`, `kube-proxy-${nodeName}`);
      // As on a joined node, the agent runs as kube-proxy: a kubelet may read only its own Node.
      if (vm && fs.existsSync(path.join(distRoot, 'netagent', 'main.js'))) {
        this.node('netagent', [`--kubeconfig=${proxyConf}`, `--hostname-override=${nodeName}`, `--cluster-cidr=${this.clusterCidr()}`], '', `netagent-${nodeName}`);
      }
    }

    const plan: SupervisorPlan = {
      cluster: { name: this.o.name, apiserver: server, kubeconfig, nodes: this.nodeNames() },
      caFile: pki.caFile,
      logFormat: this.o.logFormat ?? 'text',
      components: this.components,
    };
    try {
      fs.writeFileSync(planPath(home), JSON.stringify(plan, null, 2));
      this.startSupervisor();
      log('starting etcd');
      await this.waitHealthy('etcd', 'etcd', 60_000);
      log('starting the API server');
      await this.waitHealthy('kube-apiserver', 'the API server', 60_000, pki.ca.cert);
      await retrying('cluster-info for joining nodes', kubeconfig, (c) => prepareJoin(c, { server: `https://${advertise}:${this.o.apiserverPort}`, ca: pki.ca.cert }));
      await retrying('the kube-dns Service', kubeconfig, (c) => ensureDnsService(c, dns));
      log(`starting the scheduler, the controller-manager and, for ${this.o.nodes} node(s), a kubelet and kube-proxy`);
      if (lan) {
        log(`loading the images into ${lan.nodes.length} node engine(s)`);
        await Promise.all(lan.nodes.map((n) => prepareEngine(n, nodeImages, 60_000, () => this.checkRunning())));
        log(`joining ${lan.nodes.length} node(s) with skiff join, each in its namespace`);
        await this.joinNetnsNodes(lan, kubeconfig, `https://${advertise}:${this.o.apiserverPort}`, pki.ca.cert);
      }
      log(`waiting for ${this.o.nodes} node(s) to be Ready`);
      await this.waitNodesReady(kubeconfig, 120_000);
    } catch (e) {
      // Before its first state write nothing of the supervisor's is recorded for `skiff down`: stop it here.
      if (!readState(home) && this.supervisorPid && alive(this.supervisorPid)) process.kill(this.supervisorPid, 'SIGTERM');
      throw e;
    }
    return readState(home)!;
  }

  private startSupervisor(): void {
    const logDir = path.join(this.o.home, 'logs');
    fs.mkdirSync(logDir, { recursive: true });
    const fd = fs.openSync(path.join(logDir, `${supervisorName}.log`), 'a');
    // Detached so the cluster outlives `skiff up`.
    const child = spawn(process.execPath, [path.join(distRoot, 'cli', 'main.js'), 'supervise', `--home=${this.o.home}`], { detached: true, stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    child.unref();
    this.supervisorPid = child.pid;
  }

  /** Fail fast, with the log's tail, when the supervisor is gone or the component has already exited once. */
  private checkRunning(): void {
    const { home } = this.o;
    if (this.supervisorPid && !alive(this.supervisorPid)) {
      throw new Error(`the supervisor exited; see ${path.join(home, 'logs', `${supervisorName}.log`)}:\n${tail(path.join(home, 'logs', `${supervisorName}.log`))}`);
    }
    for (const p of readState(home)?.processes ?? []) {
      if (p.restarts > 0 || !alive(p.pid)) throw new Error(`${p.name} exited during start-up; see ${p.log}:\n${tail(p.log)}`);
    }
  }

  private async waitHealthy(name: string, what: string, timeoutMs: number, ca?: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      this.checkRunning();
      const rec = readState(this.o.home)?.processes.find((p) => p.name === name);
      if (rec?.health && (await healthy(rec.health, ca))) return;
      await sleep(200);
    }
    throw new Error(`${what} did not become healthy within ${timeoutMs / 1000}s; see ${path.join(this.o.home, 'logs', `${name}.log`)}`);
  }

  private async waitNodesReady(kubeconfig: string, timeoutMs: number): Promise<void> {
    const client = new RestClient(loadKubeconfig(kubeconfig), { component: 'skiff', timeoutMs: 5000 });
    try {
      await this.pollNodesReady(client, timeoutMs);
    } finally {
      client.close();
    }
  }

  private async pollNodesReady(client: RestClient, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const want = new Set(this.nodeNames());
    let last = '';
    while (Date.now() < deadline) {
      this.checkRunning();
      const list = await client.resource(R.nodes).list().catch(() => undefined) as { items?: any[] } | undefined;
      const ready = (list?.items ?? []).filter((n) => want.has(n.metadata.name) && n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
      const line = `${ready.length}/${want.size} nodes Ready`;
      if (line !== last) this.o.log(line);
      last = line;
      if (ready.length === want.size) return;
      await sleep(300);
    }
    throw new Error(`nodes did not become Ready within ${timeoutMs / 1000}s; see the kubelet logs under ${path.join(this.o.home, 'logs')}`);
  }
}

/** Run `fn` with an admin client until it succeeds (the API server may still be finishing its bootstrap), for 30 s. */
async function retrying(what: string, kubeconfig: string, fn: (c: RestClient) => Promise<void>): Promise<void> {
  const client = new RestClient(loadKubeconfig(kubeconfig), { component: 'skiff', timeoutMs: 10_000 });
  try {
    for (let deadline = Date.now() + 30_000; ; await sleep(500)) {
      try {
        return await fn(client);
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`could not make ${what}: ${(e as Error).message}`);
      }
    }
  } finally {
    client.close();
  }
}

/**
 * ClusterIPs must never leave the machine, even before kube-proxy's first
 * sync: a `local` route makes the kernel deliver them to this host.
 */
export function makeServiceRangeLocal(cidr: string, log: (l: string) => void): void {
  try {
    execFileSync('ip', ['route', 'replace', 'local', cidr, 'dev', 'lo', 'table', 'local'], { stdio: 'pipe' });
  } catch (e) {
    log(`warning: could not make ${cidr} local (${(e as Error).message.split('\n')[0]}); kube-proxy will retry`);
  }
}

/** SIGTERM a recorded process (its whole group), unless its pid now belongs to another process. */
function signalIfOurs(p: ProcessRecord, sig: NodeJS.Signals, log: (l: string) => void): boolean {
  const id = processIdentity(p);
  if (id === 'gone') return false;
  if (id === 'reused') {
    log(`pid ${p.pid} recorded for ${p.name} now belongs to another process; leaving it alone`);
    return false;
  }
  log(`${sig === 'SIGKILL' ? 'killing' : 'stopping'} ${p.name} (pid ${p.pid})`);
  try { process.kill(-p.pid, sig); } catch { try { process.kill(p.pid, sig); } catch { /* gone */ } }
  return true;
}

async function waitGone(ps: ProcessRecord[], timeoutMs: number): Promise<ProcessRecord[]> {
  const deadline = Date.now() + timeoutMs;
  let left = ps;
  while ((left = left.filter((p) => processIdentity(p) === 'same')).length && Date.now() < deadline) await sleep(100);
  return left;
}

/**
 * Stop the supervisor first, so nothing is restarted behind our back, then
 * every component (newest first), SIGTERM then SIGKILL, and remove its pods'
 * containers. A recorded pid is signalled only while it is still the process
 * Skiff started (proc.ts): after a crash or reboot it may be someone else's.
 */
export async function down(home: string, log: (l: string) => void): Promise<boolean> {
  let st = readState(home);
  const lan = readLayout(home);
  if (!st) {
    // A start that failed before the supervisor's first write still made the LAN.
    if (lan) await destroyLan(lan.layout, { ...lan, log });
    if (lan) fs.rmSync(path.join(home, 'netns.json'), { force: true });
    return !!lan;
  }
  if (st.supervisor && signalIfOurs(st.supervisor, 'SIGTERM', log)) {
    for (const p of await waitGone([st.supervisor], 5000)) signalIfOurs(p, 'SIGKILL', log);
    // Its last write holds the pids of anything it restarted since we read the file.
    st = readState(home) ?? st;
  }
  // Every node process (engine, kubelet, kube-proxy, agent) lives in its node's namespace: the node goes whole.
  if (lan) await destroyLan(lan.layout, { ...lan, log });
  const signalled = [...st.processes].reverse().filter((p) => signalIfOurs(p, 'SIGTERM', log));
  for (const p of await waitGone(signalled, 10_000)) signalIfOurs(p, 'SIGKILL', log);
  removeNodeContainers(st.nodes, log);
  // The pod CIDR network the control plane's node had its kubelet make (kubenet's cbr0), once its containers are gone.
  if (!lan && st.processes.some((p) => p.name.startsWith('netagent'))) {
    try { execFileSync('docker', ['network', 'rm', 'skiff-pods'], { stdio: 'pipe', timeout: 30_000 }); } catch { /* never made, or gone */ }
  }
  const agent = lan ? undefined : st.processes.find((p) => p.name.startsWith('netagent'));
  if (agent) {
    // The control plane's own node on a machine of a multi-machine cluster: its routes and rules go as on a worker's leave.
    try {
      const node = agent.args.filter((a) => a.startsWith('--hostname-override='));
      execFileSync(process.execPath, [path.join(distRoot, 'netagent', 'main.js'), '--cleanup', ...node], { stdio: 'pipe', timeout: 30_000 });
    } catch (e) {
      log(`warning: the network agent's cleanup failed: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const proxy = lan ? undefined : st.processes.find((p) => p.name.startsWith('kube-proxy'));
  if (proxy) {
    // kube-proxy --cleanup removes every rule this cluster's proxies ever made; run it once for all nodes.
    try {
      const prefix = proxy.args.filter((a) => a.startsWith('--chain-prefix='));
      execFileSync(process.execPath, [path.join(distRoot, 'kube-proxy', 'main.js'), '--cleanup', ...prefix], { stdio: 'pipe', timeout: 30_000 });
    } catch (e) {
      log(`warning: kube-proxy --cleanup failed: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  fs.rmSync(statePath(home), { force: true });
  fs.rmSync(planPath(home), { force: true });
  fs.rmSync(path.join(home, 'netns.json'), { force: true });
  return true;
}

function removeNodeContainers(nodes: string[], log: (l: string) => void): void {
  for (const node of nodes) {
    let ids: string[] = [];
    try {
      ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=skiff.node=${node}`], { encoding: 'utf8', timeout: 30_000 }).split('\n').filter(Boolean);
    } catch {
      return; // no Docker engine: nothing of ours can be running
    }
    if (ids.length === 0) continue;
    log(`removing ${ids.length} container(s) of ${node}`);
    try { execFileSync('docker', ['rm', '-f', ...ids], { stdio: 'pipe', timeout: 60_000 }); } catch { /* already gone */ }
  }
}

export interface ComponentStatus { name: string; pid: number; running: boolean; healthy: boolean | undefined; restarts: number; restarting: boolean }

export async function status(home: string): Promise<{ state: ClusterState; components: ComponentStatus[]; nodes: { name: string; ready: string }[] } | undefined> {
  const st = readState(home);
  if (!st) return undefined;
  const ca = fs.readFileSync(path.join(home, 'pki', 'ca.crt'), 'utf8');
  const supervised = !!st.supervisor && processIdentity(st.supervisor) === 'same';
  const components = await Promise.all([...(st.supervisor ? [st.supervisor] : []), ...st.processes].map(async (p) => {
    const running = processIdentity(p) === 'same';
    const ok = running && p.health ? await healthy(p.health, ca) : undefined;
    return { name: p.name, pid: p.pid, running, healthy: ok, restarts: p.restarts ?? 0, restarting: !running && supervised && p !== st.supervisor };
  }));
  const client = new RestClient(loadKubeconfig(st.kubeconfig), { component: 'skiff', timeoutMs: 5000 });
  const list = await client.resource(R.nodes).list().catch(() => undefined) as { items?: any[] } | undefined;
  client.close();
  const nodes = (list?.items ?? []).map((n) => ({
    name: n.metadata.name as string,
    ready: (n.status?.conditions ?? []).find((c: any) => c.type === 'Ready')?.status ?? 'Unknown',
  }));
  return { state: st, components, nodes };
}

/** A private range unlikely to be a real network's: the LAN of a netns cluster (--lan-cidr). */
export const defaultLanCidr = '10.250.0.0/24';
/** kube-controller-manager's --cluster-cidr default in kubeadm's guides (flannel's). */
export const defaultClusterCidr = '10.244.0.0/16';
/** What every node engine needs without a registry: hack/images.sh builds them in the root engine. */
const nodeImages = ['busybox:latest', 'skiff/pause:3.10'];

/** The Docker engine's bridge address (docker0), where pods on this machine reach the host. */
function bridgeAddress(): string | undefined {
  try {
    const out = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', 'docker0'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return /inet (\d+\.\d+\.\d+\.\d+)\//.exec(out)?.[1];
  } catch {
    return undefined;
  }
}

/** The first address of the service range: the `kubernetes` Service's ClusterIP. */
export function firstServiceIP(cidr: string): string {
  const [ip] = cidr.split('/');
  const n = ip.split('.').reduce((a, o) => a * 256 + Number(o), 0) + 1;
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

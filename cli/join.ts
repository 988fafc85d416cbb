// `skiff join` and `skiff leave`: how a machine becomes a node, in kubeadm's
// shape. Discovery: cluster-info (kube-public) is read anonymously without
// trusting the server, then trusted only if its CA matches the pinned hash
// (--ca-cert-hash, kubeadm's --discovery-token-ca-cert-hash) and its
// kubeconfig carries a valid JWS by the bootstrap token (the bootstrapsigner
// controller's jws-kubeconfig-<id>), so neither a wrong token nor a
// man-in-the-middle gets further. TLS bootstrap: with the token (group
// system:bootstrappers) a CertificateSigningRequest for the kubelet's client
// certificate (signer kube-apiserver-client-kubelet, CN system:node:<name>,
// O system:nodes), which csrapproving approves and csrsigning signs; then, as
// that node, one for the kubelet's serving certificate (kubelet-serving) and
// one for kube-proxy's client certificate (kube-apiserver-client, CN
// system:kube-proxy), both auto-approved for a node asking for itself (see
// controllers/certificates/approver.ts). Keys are made here and never leave
// the machine. The node's processes then run under a supervisor as
// `skiff up`'s do. `skiff leave` stops and cleans them and deletes nothing in
// the API.

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { nthAddress } from '../dns/service.js';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { isAlreadyExists, isStatusError } from '../api/errors.js';
import { R } from '../api/resources.js';
import type { CertificateSigningRequest, ConfigMap, KubeObject } from '../api/types.js';
import { writeKubeconfig, loadKubeconfig, type ConnectionConfig } from '../client/kubeconfig.js';
import { RestClient } from '../client/rest.js';
import type { Client } from '../client/interfaces.js';
import { bootstrapTokenPattern } from '../api/auth.js';
import { detachedSignatureValid } from '../controllers/bootstrap/jws.js';
import { clusterInfoName, clusterInfoNamespace, jwsKeyPrefix } from '../controllers/bootstrap/tokens.js';
import { parseFlags } from '../lib/flags.js';
import { caCertHash, createCSR, writePair } from '../lib/pki.js';
import { chainPrefixForCluster } from '../kube-proxy/iptables/rules.js';
import { down, readState } from './cluster.js';
import { freePort } from './ports.js';
import { planPath, supervisorName, type ComponentSpec, type SupervisorPlan } from './supervisor.js';
import { createToken } from './token.js';

const distRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/** A refusal the user can act on: printed as is, exit 1. */
export class JoinError extends Error {}

// ---- the control plane's side (skiff up) ----

/** kubeadm's cluster-info kubeconfig: the server and the CA, no credentials. */
export function clusterInfoKubeconfig(server: string, caPem: string): string {
  return yaml.dump({
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ cluster: { 'certificate-authority-data': b64(caPem), server }, name: '' }],
    contexts: null, 'current-context': '', preferences: {}, users: null,
  }, { lineWidth: -1 });
}

const rbacGroup = 'rbac.authorization.k8s.io';
const binding = (kind: 'ClusterRoleBinding' | 'RoleBinding', name: string, role: { kind: string; name: string }, subject: { kind: string; name: string }, namespace?: string): KubeObject => ({
  apiVersion: `${rbacGroup}/v1`, kind, metadata: { name, ...(namespace ? { namespace } : {}) },
  roleRef: { apiGroup: rbacGroup, ...role }, subjects: [{ apiGroup: rbacGroup, ...subject }],
});

/**
 * What kubeadm init leaves for joining nodes: cluster-info in kube-public,
 * readable by anyone (kubeadm:bootstrap-signer-clusterinfo), and the
 * bindings that let csrapproving approve a new node's client certificate
 * (kubeadm:node-autoapprove-bootstrap) and a node's own renewals
 * (kubeadm:node-autoapprove-certificate-rotation). kubeadm:kubelet-bootstrap
 * is in the API server's bootstrap policy already. Idempotent.
 */
export async function prepareJoin(client: Client, o: { server: string; ca: string }): Promise<void> {
  const kubeconfig = clusterInfoKubeconfig(o.server, o.ca);
  const cms = client.resource<ConfigMap>(R.configmaps, clusterInfoNamespace);
  try {
    await cms.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: clusterInfoName, namespace: clusterInfoNamespace }, data: { kubeconfig } });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    const cm = await cms.get(clusterInfoName);
    if (cm.data?.kubeconfig !== kubeconfig) {
      // A new address or CA: the bootstrap signer signs the new content again.
      cm.data = Object.fromEntries(Object.entries(cm.data ?? {}).filter(([k]) => !k.startsWith(jwsKeyPrefix)));
      cm.data.kubeconfig = kubeconfig;
      await cms.update(cm);
    }
  }
  const objects: [typeof R.roles, string | undefined, KubeObject][] = [
    [R.roles, clusterInfoNamespace, {
      apiVersion: `${rbacGroup}/v1`, kind: 'Role', metadata: { name: 'kubeadm:bootstrap-signer-clusterinfo', namespace: clusterInfoNamespace },
      rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: [clusterInfoName], verbs: ['get'] }],
    }],
    [R.rolebindings, clusterInfoNamespace, binding('RoleBinding', 'kubeadm:bootstrap-signer-clusterinfo', { kind: 'Role', name: 'kubeadm:bootstrap-signer-clusterinfo' }, { kind: 'User', name: 'system:anonymous' }, clusterInfoNamespace)],
    [R.clusterrolebindings, undefined, binding('ClusterRoleBinding', 'kubeadm:node-autoapprove-bootstrap',
      { kind: 'ClusterRole', name: 'system:certificates.k8s.io:certificatesigningrequests:nodeclient' }, { kind: 'Group', name: 'system:bootstrappers:kubeadm:default-node-token' })],
    [R.clusterrolebindings, undefined, binding('ClusterRoleBinding', 'kubeadm:node-autoapprove-certificate-rotation',
      { kind: 'ClusterRole', name: 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient' }, { kind: 'Group', name: 'system:nodes' })],
  ];
  for (const [r, ns, obj] of objects) {
    try {
      await client.resource(r, ns).create(obj);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }
}

/** A 24h token and the exact command a worker runs (kubeadm token create --print-join-command). */
export async function joinCommand(client: Client, server: string, caPem: string): Promise<string> {
  const token = await createToken(client, { ttlSeconds: 24 * 3600, description: 'skiff join' });
  return `skiff join ${server} --token ${token} --ca-cert-hash ${caCertHash(caPem)}`;
}

// ---- discovery ----

/** GET a path as anonymous over TLS: verified against `ca` when given, else not verified at all (the caller checks what it gets). */
function anonymousGet(server: string, p: string, ca?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(new URL(p, server), { ca, rejectUnauthorized: !!ca, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

const clusterInfoPath = `/api/v1/namespaces/${clusterInfoNamespace}/configmaps/${clusterInfoName}`;

async function fetchClusterInfo(server: string, ca?: string): Promise<ConfigMap> {
  let res: { status: number; body: string };
  try {
    res = await anonymousGet(server, clusterInfoPath, ca);
  } catch (e) {
    throw new JoinError(`cannot reach the API server at ${server}: ${(e as Error).message}`);
  }
  if (res.status !== 200) throw new JoinError(`cannot read the cluster-info ConfigMap from ${server} (HTTP ${res.status}); is it a Skiff control plane made by 'skiff up'?`);
  return JSON.parse(res.body) as ConfigMap;
}

export interface Discovered { server: string; ca: string }

/**
 * kubeadm's token discovery: the CA and server of cluster-info, trusted only
 * when the JWS for this token verifies and (unless skipped) the CA's public
 * key hash is one of the pinned ones; then read again over verified TLS.
 */
export async function discover(server: string, token: string, o: { caCertHashes: string[]; unsafeSkipCAVerification: boolean }): Promise<Discovered> {
  const m = bootstrapTokenPattern.exec(token);
  if (!m) throw new JoinError(`the token "${token.split('.')[0]}.…" does not match the pattern [a-z0-9]{6}.[a-z0-9]{16}`);
  const [, id, secret] = m;
  if (!o.caCertHashes.length && !o.unsafeSkipCAVerification) {
    throw new JoinError('refusing to trust the API server without --ca-cert-hash sha256:<hex> (printed by skiff up; or `openssl x509 -pubkey -in ca.crt | openssl pkey -pubin -outform der | sha256sum`); --discovery-token-unsafe-skip-ca-verification skips the check');
  }
  const cm = await fetchClusterInfo(server);
  const content = cm.data?.kubeconfig;
  if (!content) throw new JoinError('the cluster-info ConfigMap has no kubeconfig');
  const sig = cm.data?.[`${jwsKeyPrefix}${id}`];
  if (!sig) throw new JoinError(`there is no JWS signed token in the cluster-info ConfigMap. This token id "${id}" is invalid for this cluster (wrong, expired or deleted token), can't connect`);
  if (!(await detachedSignatureValid(sig, content, id, secret))) throw new JoinError("failed to verify JWS signature of received cluster info object, can't trust this API Server (wrong token secret)");
  const cfg = yaml.load(content) as { clusters?: { cluster?: { server?: string; 'certificate-authority-data'?: string } }[] };
  const cluster = cfg.clusters?.[0]?.cluster;
  if (!cluster?.['certificate-authority-data']) throw new JoinError('the cluster-info kubeconfig has no certificate-authority-data');
  const ca = unb64(cluster['certificate-authority-data']);
  if (o.caCertHashes.length) {
    const have = caCertHash(ca);
    if (!o.caCertHashes.map((h) => h.toLowerCase()).includes(have)) {
      throw new JoinError(`cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "${have}" are pinned (--ca-cert-hash ${o.caCertHashes.join(',')})`);
    }
  }
  // Now trusted: the same content read again with the server verified, as kubeadm does.
  const again = await fetchClusterInfo(server, ca);
  if (again.data?.kubeconfig !== content) throw new JoinError('cluster-info changed while joining; try again');
  return { server, ca };
}

// ---- TLS bootstrap ----

const csrClient = (conn: ConnectionConfig) => new RestClient(conn, { component: 'skiff-join', timeoutMs: 15_000 });

/** Create a CSR and wait for its certificate (csrapproving + csrsigning); refused or denied is a JoinError. */
export async function requestCertificate(client: Client, o: { prefix: string; cn: string; o?: string[]; sans?: string[]; signerName: string; usages: string[]; timeoutMs?: number }): Promise<{ cert: string; key: string }> {
  const { csr, key } = await createCSR({ cn: o.cn, o: o.o, sans: o.sans });
  const csrs = client.resource<CertificateSigningRequest>(R.certificatesigningrequests);
  let created: CertificateSigningRequest;
  try {
    created = await csrs.create({
      apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest',
      metadata: { generateName: `${o.prefix}-` },
      spec: { request: b64(csr), signerName: o.signerName, usages: o.usages },
    });
  } catch (e) {
    if (isStatusError(e) && e.code === 401) throw new JoinError('the API server refused the bootstrap token (401 Unauthorized): it is wrong, expired or deleted; make a new one on the control plane with `skiff token create`');
    if (isStatusError(e) && e.code === 403) throw new JoinError(`the API server refused the certificate signing request (403): ${e.message}`);
    throw e;
  }
  const name = created.metadata.name!;
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  while (Date.now() < deadline) {
    const cur = await csrs.get(name);
    const conds = cur.status?.conditions ?? [];
    const bad = conds.find((c) => (c.type === 'Denied' || c.type === 'Failed') && c.status === 'True');
    if (bad) throw new JoinError(`certificate signing request ${name} was ${bad.type.toLowerCase()}: ${bad.reason ?? ''} ${bad.message ?? ''}`.trim());
    if (cur.status?.certificate) return { cert: unb64(cur.status.certificate), key };
    await sleep(300);
  }
  throw new JoinError(`certificate signing request ${name} was not signed within ${Math.round((o.timeoutMs ?? 120_000) / 1000)}s: is the controller-manager running with --cluster-signing-cert-file/--cluster-signing-key-file, and may this token's group create certificatesigningrequests/nodeclient (kubeadm:node-autoapprove-bootstrap)? See \`kubectl get csr\``);
}

export interface JoinOptions {
  home: string;
  server: string;
  token: string;
  caCertHashes: string[];
  unsafeSkipCAVerification: boolean;
  nodeName: string;
  nodeIP: string;
  /** The engine the kubelet uses; empty: the default socket, or a Docker engine this node starts under its home. */
  containerRuntimeEndpoint: string;
  kubeletPort: number;
  kubeletHealthzPort: number;
  serviceClusterIpRange: string;
  clusterCidr: string;
  /** The kubelet's --cluster-dns: by default the 10th address of the service range, where skiff up puts kube-dns (kubeadm's GetDNSIP). */
  clusterDns?: string;
  clusterDomain?: string;
  /** Names kube-proxy's chains (chainPrefixForCluster), so another cluster's on this kernel is left alone. */
  clusterName: string;
  logFormat: 'text' | 'json';
  /** Stop after the credentials are written (nothing started). */
  credentialsOnly?: boolean;
  /** kubeadm's --skip-phases, with Skiff's phase names: kube-proxy, network-agent. */
  skipPhases?: string[];
  log: (line: string) => void;
}

/** What join leaves under the node's home for `skiff leave`. */
interface JoinRecord { node: string; server: string; containerRuntimeEndpoint: string; ownEngine: boolean; agent: boolean }
const joinRecordPath = (home: string) => path.join(home, 'join.json');

export function isWorkerHome(home: string): boolean {
  return fs.existsSync(joinRecordPath(home));
}

export interface JoinFiles { kubeletConf: string; proxyConf: string; caFile: string; serving: { certFile: string; keyFile: string } }

/** Discovery and the TLS bootstrap: every credential the node needs, written under its home (keys 0600). */
export async function bootstrapNode(o: JoinOptions): Promise<JoinFiles> {
  const { home, log } = o;
  log(`discovering the cluster at ${o.server}`);
  const d = await discover(o.server, o.token, { caCertHashes: o.caCertHashes, unsafeSkipCAVerification: o.unsafeSkipCAVerification });
  log(`the cluster's CA is ${caCertHash(d.ca)}${o.caCertHashes.length ? ' (pinned)' : ' (NOT pinned: --discovery-token-unsafe-skip-ca-verification)'}; token signature verified`);
  const pkiDir = path.join(home, 'pki');
  fs.mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
  const caFile = path.join(pkiDir, 'ca.crt');
  fs.writeFileSync(caFile, d.ca, { mode: 0o644 });

  const user = `system:node:${o.nodeName}`;
  const bootstrap = csrClient({ server: d.server, ca: d.ca, token: o.token });
  let node: RestClient | undefined;
  try {
    log(`requesting the kubelet's client certificate for ${user}`);
    const client = await requestCertificate(bootstrap, {
      prefix: 'node-csr', cn: user, o: ['system:nodes'], signerName: 'kubernetes.io/kube-apiserver-client-kubelet', usages: ['digital signature', 'client auth'],
    });
    const kubeletConf = path.join(home, 'kubelet.conf');
    writeKubeconfig(kubeletConf, { server: d.server, name: o.clusterName, ca: d.ca, cert: client.cert, key: client.key });
    node = csrClient({ server: d.server, ca: d.ca, cert: client.cert, key: client.key });
    log('requesting the kubelet\'s serving certificate');
    const serving = await requestCertificate(node, {
      prefix: 'csr', cn: user, o: ['system:nodes'], sans: [o.nodeName, o.nodeIP], signerName: 'kubernetes.io/kubelet-serving', usages: ['digital signature', 'server auth'],
    });
    const servingFiles = writePair(pkiDir, 'kubelet', serving);
    log('requesting kube-proxy\'s client certificate');
    const proxy = await requestCertificate(node, {
      prefix: 'csr', cn: 'system:kube-proxy', signerName: 'kubernetes.io/kube-apiserver-client', usages: ['digital signature', 'client auth'],
    });
    const proxyConf = path.join(home, 'kube-proxy.conf');
    writeKubeconfig(proxyConf, { server: d.server, name: o.clusterName, ca: d.ca, cert: proxy.cert, key: proxy.key });
    return { kubeletConf, proxyConf, caFile, serving: servingFiles };
  } finally {
    bootstrap.close();
    node?.close();
  }
}

const defaultEngineSocket = '/var/run/docker.sock';

function engineAnswers(endpoint: string): boolean {
  try {
    execFileSync('docker', ['-H', endpoint, 'version', '--format', '{{.Server.Version}}'], { stdio: 'pipe', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

function spawnSupervisor(home: string): number {
  const logDir = path.join(home, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const fd = fs.openSync(path.join(logDir, `${supervisorName}.log`), 'a');
  const child = spawn(process.execPath, [path.join(distRoot, 'cli', 'main.js'), 'supervise', `--home=${home}`], { detached: true, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  child.unref();
  return child.pid!;
}

/** `skiff join`: credentials, then the node's processes under a supervisor; resolves once the Node is registered. */
export async function join(o: JoinOptions): Promise<void> {
  const { home, log } = o;
  const running = readState(home);
  if (running) throw new JoinError(`${home} already holds a running cluster or node (${running.nodes.join(', ')}); 'skiff leave' first, or another --home`);
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  const files = await bootstrapNode(o);
  if (o.credentialsOnly) return;

  let endpoint = o.containerRuntimeEndpoint;
  const components: ComponentSpec[] = [];
  const logOf = (name: string) => path.join(home, 'logs', `${name}.log`);
  const ours = (component: string, name: string, args: string[], health?: string): ComponentSpec => ({
    name, cmd: process.execPath, args: [path.join(distRoot, component, 'main.js'), ...args, `--log-format=${o.logFormat}`], log: logOf(name), health,
  });
  let ownEngine = false;
  if (!endpoint) {
    if (engineAnswers(`unix://${defaultEngineSocket}`)) endpoint = `unix://${defaultEngineSocket}`;
    else {
      // No engine on this machine: one of the node's own, supervised, its state under the home.
      const sock = path.join(home, 'docker.sock');
      endpoint = `unix://${sock}`;
      ownEngine = true;
      components.push({
        name: 'dockerd', cmd: 'dockerd', log: logOf('dockerd'), waitHealthy: false,
        args: [`--host=${endpoint}`, `--data-root=${path.join(home, 'docker')}`, `--exec-root=${path.join(home, 'docker-exec')}`, `--pidfile=${path.join(home, 'docker.pid')}`],
      });
    }
  }
  components.push(ours('kubelet', `kubelet-${o.nodeName}`, [
    `--kubeconfig=${files.kubeletConf}`, `--hostname-override=${o.nodeName}`, `--node-ip=${o.nodeIP}`, `--address=${o.nodeIP}`,
    `--port=${o.kubeletPort}`, `--healthz-port=${o.kubeletHealthzPort}`, `--container-runtime-endpoint=${endpoint}`,
    `--tls-cert-file=${files.serving.certFile}`, `--tls-private-key-file=${files.serving.keyFile}`, `--client-ca-file=${files.caFile}`,
    `--root-dir=${path.join(home, 'kubelet')}`,
    // Pods take addresses from the Node's spec.podCIDR, which the network agents route between nodes.
    '--pod-network=podcidr',
    `--cluster-dns=${o.clusterDns || nthAddress(o.serviceClusterIpRange, 10)}`, `--cluster-domain=${o.clusterDomain || 'cluster.local'}`,
  ], `http://127.0.0.1:${o.kubeletHealthzPort}/healthz`));
  const skip = new Set(o.skipPhases ?? []);
  const proxyPort = await freePort();
  if (!skip.has('kube-proxy')) components.push(ours('kube-proxy', `kube-proxy-${o.nodeName}`, [
    `--kubeconfig=${files.proxyConf}`, `--hostname-override=${o.nodeName}`, `--service-cluster-ip-range=${o.serviceClusterIpRange}`,
    `--metrics-bind-address=127.0.0.1:${proxyPort}`, `--chain-prefix=${chainPrefixForCluster(o.clusterName)}`,
    `--cluster-cidr=${o.clusterCidr}`,
  ], `http://127.0.0.1:${proxyPort}/healthz`));
  const agent = !skip.has('network-agent') && fs.existsSync(path.join(distRoot, 'netagent', 'main.js'));
  if (skip.has('network-agent')) log('network agent skipped (--skip-phases)');
  else if (agent) {
    components.push(ours('netagent', `netagent-${o.nodeName}`, [
      // kube-proxy's identity: a kubelet may read only its own Node (the Node authorizer), system:node-proxier lists them all.
      `--kubeconfig=${files.proxyConf}`, `--hostname-override=${o.nodeName}`, `--cluster-cidr=${o.clusterCidr}`]));
  } else {
    log('no network agent (dist/netagent/main.js) in this build: pods on this node reach pods on others only if something else routes the pod CIDRs');
  }
  const record: JoinRecord = { node: o.nodeName, server: o.server, containerRuntimeEndpoint: endpoint, ownEngine, agent };
  fs.writeFileSync(joinRecordPath(home), JSON.stringify(record, null, 2));
  const plan: SupervisorPlan = {
    cluster: { name: o.clusterName, apiserver: o.server, kubeconfig: files.kubeletConf, nodes: [o.nodeName] },
    caFile: files.caFile,
    logFormat: o.logFormat,
    components,
  };
  fs.writeFileSync(planPath(home), JSON.stringify(plan, null, 2));
  const pid = spawnSupervisor(home);
  log(`started the node's processes (supervisor pid ${pid}); logs in ${path.join(home, 'logs')}`);
  await waitRegistered(files.kubeletConf, o.nodeName, pid, home, 120_000);
  log(`node ${o.nodeName} registered with ${o.server}`);
}

async function waitRegistered(kubeconfig: string, name: string, supervisorPid: number, home: string, timeoutMs: number): Promise<void> {
  const client = new RestClient(loadKubeconfig(kubeconfig), { component: 'skiff-join', timeoutMs: 5000 });
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        process.kill(supervisorPid, 0);
      } catch {
        throw new JoinError(`the supervisor exited; see ${path.join(home, 'logs', `${supervisorName}.log`)}`);
      }
      if (await client.resource(R.nodes).get(name).then(() => true, () => false)) return;
      await sleep(500);
    }
    throw new JoinError(`node ${name} did not register within ${timeoutMs / 1000}s; see ${path.join(home, 'logs', `kubelet-${name}.log`)}`);
  } finally {
    client.close();
  }
}

/**
 * `skiff leave` (and `skiff down` on a worker's home): stop the node's
 * processes, remove the containers its kubelet made (on its engine), undo
 * kube-proxy's and the agent's rules and routes, and forget the credentials.
 * Nothing in the API is deleted: the Node goes NotReady, and an administrator
 * deletes it (kubectl delete node) as after kubeadm reset.
 */
export async function leave(home: string, log: (l: string) => void): Promise<boolean> {
  let record: JoinRecord | undefined;
  try {
    record = JSON.parse(fs.readFileSync(joinRecordPath(home), 'utf8')) as JoinRecord;
  } catch {
    record = undefined;
  }
  const stopped = await down(home, log);
  if (record) {
    // down() cleans the default engine; a node's own or given engine is asked directly while it still answers.
    if (!record.ownEngine && engineAnswers(record.containerRuntimeEndpoint)) removeContainers(record.containerRuntimeEndpoint, record.node, log);
    const agent = path.join(distRoot, 'netagent', 'main.js');
    if (record.agent && fs.existsSync(agent)) {
      try {
        execFileSync(process.execPath, [agent, '--cleanup', `--hostname-override=${record.node}`], { stdio: 'pipe', timeout: 30_000 });
      } catch (e) {
        log(`warning: the network agent's cleanup failed: ${(e as Error).message.split('\n')[0]}`);
      }
    }
  }
  for (const f of ['kubelet.conf', 'kube-proxy.conf', 'join.json']) fs.rmSync(path.join(home, f), { force: true });
  fs.rmSync(path.join(home, 'pki'), { recursive: true, force: true });
  return stopped || !!record;
}

function removeContainers(endpoint: string, node: string, log: (l: string) => void): void {
  try {
    const ids = execFileSync('docker', ['-H', endpoint, 'ps', '-aq', '--filter', `label=skiff.node=${node}`], { encoding: 'utf8', timeout: 30_000 }).split('\n').filter(Boolean);
    if (!ids.length) return;
    log(`removing ${ids.length} container(s) of ${node}`);
    execFileSync('docker', ['-H', endpoint, 'rm', '-f', ...ids], { stdio: 'pipe', timeout: 60_000 });
  } catch {
    /* the engine went away: nothing of ours runs on it */
  }
}

// ---- the commands ----

const usage = `Usage:
  skiff join <server-url> --token <id.secret> [--ca-cert-hash sha256:<hex>] [--node-name N] [--node-ip IP]
      [--container-runtime-endpoint unix:///path] [--discovery-token-unsafe-skip-ca-verification] [--home DIR]
      [--kubelet-port 10250] [--kubelet-healthz-port 10248] [--cluster-cidr CIDR] [--service-cluster-ip-range CIDR]
      [--cluster-dns IP (default: the 10th address of the service range)] [--cluster-domain cluster.local]
      [--name CLUSTER] [--skip-phases kube-proxy,network-agent] [--credentials-only]
  skiff leave [--home DIR]`;

/** The node's address: the one the default route leaves by, as the kubelet picks when --node-ip is not given. */
function defaultNodeIP(): string {
  try {
    const out = execFileSync('ip', ['-4', 'route', 'get', '1.1.1.1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const src = /\bsrc (\d+\.\d+\.\d+\.\d+)/.exec(out)?.[1];
    if (src) return src;
  } catch { /* no default route */ }
  return '127.0.0.1';
}

export async function joinMain(argv: string[], defaultHome: string): Promise<number> {
  const flags = parseFlags({
    home: '', token: '', caCertHash: [] as string[], discoveryTokenUnsafeSkipCaVerification: false,
    nodeName: '', nodeIp: '', containerRuntimeEndpoint: '', kubeletPort: 10250, kubeletHealthzPort: 10248,
    serviceClusterIpRange: '10.96.0.0/12', clusterCidr: '10.244.0.0/16', clusterDns: '', clusterDomain: 'cluster.local', name: 'skiff', logFormat: 'text', credentialsOnly: false, skipPhases: [] as string[],
  }, argv, usage);
  const [command, server] = flags._;
  const home = flags.home || defaultHome;
  const log = (l: string) => process.stdout.write(`skiff: ${l}\n`);
  try {
    if (command === 'leave') {
      if (!(await leave(home, log))) log(`no node recorded in ${home}`);
      else log('left: the node\'s processes are stopped and its containers, rules and credentials removed; delete its Node with kubectl delete node if it is not coming back');
      return 0;
    }
    if (!server || !/^https:\/\//.test(server)) throw new JoinError(`join needs the API server's https:// URL\n${usage}`);
    if (!flags.token) throw new JoinError(`join needs --token <id.secret> (skiff token create, on the control plane)\n${usage}`);
    if (flags.logFormat !== 'text' && flags.logFormat !== 'json') throw new JoinError('--log-format must be text or json');
    const unknownPhase = flags.skipPhases.find((p) => p !== 'kube-proxy' && p !== 'network-agent');
    if (unknownPhase) throw new JoinError(`--skip-phases: unknown phase "${unknownPhase}" (kube-proxy, network-agent)`);
    const nodeName = (flags.nodeName || os.hostname()).toLowerCase();
    // A worker VM needs what `skiff up` makes sure of: a Docker engine and the locally built images (pause, busybox).
    // A given engine (netns nodes) is prepared by whoever gives it.
    if (!flags.containerRuntimeEndpoint && !flags.credentialsOnly) execFileSync('bash', [path.join(distRoot, '..', 'hack', 'images.sh')], { stdio: 'inherit' });
    await join({
      home, server, token: flags.token, caCertHashes: flags.caCertHash, unsafeSkipCAVerification: flags.discoveryTokenUnsafeSkipCaVerification,
      nodeName, nodeIP: flags.nodeIp || defaultNodeIP(), containerRuntimeEndpoint: flags.containerRuntimeEndpoint,
      kubeletPort: flags.kubeletPort, kubeletHealthzPort: flags.kubeletHealthzPort, serviceClusterIpRange: flags.serviceClusterIpRange,
      clusterCidr: flags.clusterCidr, clusterDns: flags.clusterDns, clusterDomain: flags.clusterDomain, clusterName: flags.name, logFormat: flags.logFormat, credentialsOnly: flags.credentialsOnly, skipPhases: flags.skipPhases, log,
    });
    if (!flags.credentialsOnly) log(`this node has joined; on the control plane: kubectl get nodes`);
    return 0;
  } catch (e) {
    if (e instanceof JoinError) {
      process.stderr.write(`skiff: join refused: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}


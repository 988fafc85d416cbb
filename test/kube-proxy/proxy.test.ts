// kube-proxy against a real API server (and etcd), real iptables and real
// Docker: three busybox httpd containers stand in for pods behind a Service
// whose Endpoints the test writes itself. Each mode runs on its own, the
// iptables one first, with --cleanup in between: iptables DNAT would
// otherwise take the userspace proxy's connections.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { Endpoints, Service } from '../../api/types.js';
import { RestClient } from '../../client/rest.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { waitFor } from '../util/ports.js';
import { serviceChain } from '../../kube-proxy/iptables/rules.js';
import { execFileSync } from 'node:child_process';
import { hit, kubeProxyMain, kubeRules, makeServiceRangeLocal, removeContainers, runCleanup, spread, startKubeProxy, startPods, type KubeProxyProcess } from './harness.js';

let api: ApiServerProcess;
let client: RestClient;
let pods: { name: string; id: string; ip: string }[] = [];

beforeAll(async () => {
  makeServiceRangeLocal();
  removeContainers();
  runCleanup();
  api = await startApiServer();
  client = new RestClient(api.admin, { component: 'kube-proxy-test' });
  pods = startPods(['pod-a', 'pod-b', 'pod-c']);
});

afterAll(async () => {
  try { removeContainers(); } finally {
    try { runCleanup(); } finally { await api?.stop(); }
  }
});

const svcs = () => client.resource<Service>(R.services, 'default');
const eps = () => client.resource<Endpoints>(R.endpoints, 'default');

async function createService(name: string, affinity = false): Promise<Service> {
  const svc = await svcs().create({
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' },
    spec: { type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], ...(affinity ? { sessionAffinity: 'ClientIP' } : {}) },
  });
  await setEndpoints(name, pods.map((p) => p.ip));
  return svc;
}

async function setEndpoints(name: string, ips: string[]): Promise<void> {
  const body: Endpoints = {
    apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: 'default' },
    subsets: ips.length ? [{ addresses: ips.map((ip) => ({ ip })), ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }] : [],
  };
  try {
    const cur = await eps().get(name);
    await eps().update({ ...body, metadata: { ...body.metadata, resourceVersion: cur.metadata.resourceVersion } });
  } catch (e) {
    if ((e as { status?: { code?: number } }).status?.code !== 404) throw e;
    await eps().create(body);
  }
}

const refused = (host: string, port: number) => hit(host, port, 2000).then(() => 'answered', (e: NodeJS.ErrnoException) => e.code ?? String(e));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(['iptables', 'userspace'] as const)('kube-proxy in %s mode', (mode) => {
  let kp: KubeProxyProcess;
  let svc: Service;
  const name = `web-${mode}`;
  const clusterIP = () => svc.spec.clusterIP!;
  const nodePort = () => svc.spec.ports![0].nodePort!;

  beforeAll(async () => {
    kp = await startKubeProxy(api.url, { mode });
    svc = await createService(name);
    await waitFor('service answers', () => hit(clusterIP(), 80, 1000).then(() => true, () => false), 15_000, 100);
  });
  afterAll(async () => {
    await kp?.stop();
    await svcs().delete(name).catch(() => {});
    await eps().delete(name).catch(() => {});
    runCleanup();
  });

  it('spreads 30 new connections to the ClusterIP exactly 10 per endpoint', async () => {
    expect(await spread(clusterIP(), 80, 30)).toEqual({ 'pod-a': 10, 'pod-b': 10, 'pod-c': 10 });
  });

  it('does the same through the NodePort on 127.0.0.1', async () => {
    expect(await spread('127.0.0.1', nodePort(), 30)).toEqual({ 'pod-a': 10, 'pod-b': 10, 'pod-c': 10 });
  });

  it('takes a removed address out of rotation within a second', async () => {
    await setEndpoints(name, [pods[0].ip, pods[2].ip]);
    await sleep(1000);
    expect(await spread(clusterIP(), 80, 20)).toEqual({ 'pod-a': 10, 'pod-c': 10 });
    await setEndpoints(name, pods.map((p) => p.ip));
    await sleep(1000);
    expect(await spread(clusterIP(), 80, 30)).toEqual({ 'pod-a': 10, 'pod-b': 10, 'pod-c': 10 });
  });

  it('refuses connections at once when no endpoint is ready', async () => {
    await setEndpoints(name, []);
    await sleep(1000);
    expect(await refused(clusterIP(), 80)).toBe('ECONNREFUSED');
    expect(await refused('127.0.0.1', nodePort())).toBe('ECONNREFUSED');
    if (mode === 'iptables') expect(kubeRules().some((l) => l.includes(`default/${name}:http has no endpoints`) && l.includes('-j REJECT'))).toBe(true);
    await setEndpoints(name, pods.map((p) => p.ip));
    await waitFor('service answers again', () => hit(clusterIP(), 80, 1000).then(() => true, () => false), 5_000, 100);
  });

  it.runIf(mode === 'iptables')('pins a client to one endpoint with sessionAffinity ClientIP', async () => {
    const sticky = await createService(`${name}-sticky`, true);
    try {
      await waitFor('sticky service answers', () => hit(sticky.spec.clusterIP!, 80, 1000).then(() => true, () => false), 5_000, 100);
      const counts = await spread(sticky.spec.clusterIP!, 80, 12);
      expect(Object.values(counts)).toEqual([12]);
      expect(kubeRules().some((l) => l.includes('--rcheck --seconds 10800 --reap'))).toBe(true);
    } finally {
      await svcs().delete(`${name}-sticky`);
      await eps().delete(`${name}-sticky`);
    }
  });

  it.runIf(mode === 'iptables')('writes an identical rule set after a restart, and forwards meanwhile', async () => {
    await sleep(1200);
    const before = kubeRules();
    expect(before.some((l) => l.includes(`default/${name}:http cluster IP`))).toBe(true);
    await kp.kill();
    expect(Object.keys(await spread(clusterIP(), 80, 6)).sort()).toEqual(['pod-a', 'pod-b', 'pod-c']);
    kp = await startKubeProxy(api.url, { mode });
    await sleep(1200);
    expect(kubeRules()).toEqual(before);
    expect(await spread(clusterIP(), 80, 30)).toEqual({ 'pod-a': 10, 'pod-b': 10, 'pod-c': 10 });
  });

  it.runIf(mode === 'iptables')('rewrites everything when another process removes its rules', async () => {
    runCleanup();
    expect(kubeRules()).toEqual([]);
    await waitFor('rules restored', () => kubeRules().some((l) => l.includes(`default/${name}:http cluster IP`)), 15_000, 200);
    await waitFor('jumps restored', () => kubeRules().some((l) => l.startsWith('-A PREROUTING') && l.includes('KUBE-SERVICES')), 5_000, 200);
    expect(Object.keys(await spread(clusterIP(), 80, 6)).sort()).toEqual(['pod-a', 'pod-b', 'pod-c']);
  });

  it.runIf(mode === 'iptables')('keeps its rules while another cluster\'s kube-proxy (its own --chain-prefix) syncs and cleans up on the same kernel', async () => {
    await sleep(1200);
    const before = kubeRules();
    const others = () => execFileSync('iptables-save', [], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('KTEST2-'));
    const other = await startKubeProxy(api.url, { mode, node: 'node-b', args: ['--chain-prefix=KTEST2'] });
    try {
      await waitFor('the other cluster\'s rules', () => others().some((l) => l.includes(`default/${name}:http cluster IP`)), 10_000, 200);
      expect(kubeRules()).toEqual(before);
    } finally {
      await other.stop();
      execFileSync(process.execPath, [kubeProxyMain, '--cleanup', '--chain-prefix=KTEST2'], { stdio: 'pipe', timeout: 60_000 });
    }
    expect(others()).toEqual([]);
    expect(kubeRules()).toEqual(before);
    expect(await spread(clusterIP(), 80, 30)).toEqual({ 'pod-a': 10, 'pod-b': 10, 'pod-c': 10 });
  });

  it('serves /metrics with the sync metrics', async () => {
    const text = await (await fetch(`${kp.metrics}/metrics`)).text();
    expect(text).toMatch(/kubeproxy_sync_proxy_rules_duration_seconds_count [1-9]/);
    expect(text).toMatch(/kubeproxy_sync_proxy_rules_last_timestamp_seconds \d/);
    expect(text).toMatch(/kubeproxy_sync_proxy_rules_endpoint_changes_total [1-9]/);
    expect(text).toMatch(/kubeproxy_sync_proxy_rules_service_changes_total [1-9]/);
    // Ours (3) plus the API server's own default/kubernetes endpoint.
    expect(Number(/^kubeproxy_sync_proxy_rules_endpoints (\d+)/m.exec(text)?.[1])).toBeGreaterThanOrEqual(3);
  });

  it('removes the forwarding when the Service is deleted', async () => {
    await svcs().delete(name);
    await waitFor('connection refused', async () => (await refused(clusterIP(), 80)) === 'ECONNREFUSED', 5_000, 100);
    expect(await refused('127.0.0.1', nodePort())).toBe('ECONNREFUSED');
    if (mode === 'iptables') {
      await waitFor('no rule mentions the service', () => !kubeRules().some((l) => l.includes(`default/${name}`)), 5_000, 100);
      const chain = serviceChain('KUBE-SVC-', `default/${name}:http`, 'TCP');
      expect(kubeRules().some((l) => l.includes(chain))).toBe(false);
    }
  });

  it.runIf(mode === 'iptables')('--cleanup leaves no KUBE- rule or chain', async () => {
    await kp.stop();
    expect(kubeRules().length).toBeGreaterThan(0);
    runCleanup();
    expect(kubeRules()).toEqual([]);
  });
});

// Services end to end: the example Deployment behind its Service, reached
// through the ClusterIP and the NodePort from the host and from another pod,
// in kube-proxy's iptables mode and in userspace mode.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chainPrefixForCluster } from '../../kube-proxy/iptables/rules.js';
import { skiffUp, type TestCluster } from '../util/cluster.js';
import { waitFor } from '../util/ports.js';

const manifests = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'manifests');

/** One request on a new TCP connection (no keep-alive), so each one is balanced anew. */
function hit(host: string, port: number, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => (res.statusCode === 200 ? resolve(body.trim()) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function spread(host: string, port: number, n: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const who = await hit(host, port);
    counts.set(who, (counts.get(who) ?? 0) + 1);
  }
  return counts;
}

/**
 * n GETs on new connections from inside a container, counted by answer. With
 * nc, not wget: busybox-static 1.35 (Debian's, which hack/images.sh builds the
 * image from) segfaults in wget, even for `wget --help` (exit 139).
 */
function fromContainer(id: string, host: string, port: number, n: number): Map<string, number> {
  const script = `for i in $(seq ${n}); do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${host} ${port} | tail -n 1; done`;
  const out = execFileSync('docker', ['exec', id, 'sh', '-c', script], { encoding: 'utf8', timeout: 60_000 });
  const counts = new Map<string, number>();
  for (const line of out.split('\n').map((l) => l.trim()).filter(Boolean)) counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

/** This cluster's kube-proxy rules (its own --chain-prefix: other clusters on this kernel have theirs), counters stripped, sorted. */
function kubeRules(c: TestCluster): string[] {
  const prefix = `${chainPrefixForCluster(c.nodes[0].replace(/-node-1$/, ''))}-`;
  return execFileSync('iptables-save', [], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(prefix) && !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/g, ''))
    .sort();
}

describe.each(['iptables', 'userspace'] as const)('Services through kube-proxy in %s mode', (mode) => {
  let c: TestCluster;
  let clusterIP = '';
  const pods = async () => ((await c.kubectl.json(['get', 'pods', '-l', 'app=web'])).items as any[]);
  const ready = (p: any) => p.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True');
  const readyEndpoints = async () => {
    const ep = await c.kubectl.json(['get', 'endpoints', 'web']);
    return (ep.subsets ?? []).flatMap((s: any) => s.addresses ?? []).length;
  };

  beforeAll(async () => {
    c = await skiffUp({ nodes: mode === 'iptables' ? 2 : 1, proxyMode: mode });
    await c.kubectl.ok(['apply', '-f', path.join(manifests, 'web.yaml')]);
    await waitFor('3 ready endpoints', async () => (await readyEndpoints()) === 3, 90_000, 250);
    clusterIP = (await c.kubectl.json(['get', 'svc', 'web'])).spec.clusterIP;
    // The first connection proves forwarding is programmed.
    await waitFor('service answers', () => hit(clusterIP, 80).then(() => true, () => false), 30_000, 200);
  });
  afterAll(async () => {
    await c?.down();
    if (c && mode === 'iptables') expect(kubeRules(c)).toEqual([]);
  });

  it('spreads 30 connections to the ClusterIP exactly 10 per pod', async () => {
    const counts = await spread(clusterIP, 80, 30);
    const names = (await pods()).map((p) => p.metadata.name).sort();
    expect([...counts.keys()].sort()).toEqual(names);
    expect([...counts.values()]).toEqual([10, 10, 10]);
  });

  it('does the same through the NodePort on 127.0.0.1', async () => {
    const counts = await spread('127.0.0.1', 30080, 30);
    expect([...counts.values()]).toEqual([10, 10, 10]);
  });

  it('does the same from inside another pod', async () => {
    await c.kubectl.ok(['run', 'client', '--image=busybox:latest', '--image-pull-policy=IfNotPresent', '--', 'sleep', '3600']);
    await waitFor('client running', async () => (await c.kubectl.json(['get', 'pod', 'client'])).status.phase === 'Running', 60_000, 250);
    const id = execFileSync('docker', ['ps', '-q', '--filter', 'label=io.kubernetes.pod.name=client', '--filter', 'label=io.kubernetes.container.name=client'], { encoding: 'utf8' }).trim();
    const counts = fromContainer(id, clusterIP, 80, 30);
    expect([...counts.keys()].sort()).toEqual((await pods()).map((p) => p.metadata.name).sort());
    expect([...counts.values()]).toEqual([10, 10, 10]);
    await c.kubectl.ok(['delete', 'pod', 'client', '--grace-period=0', '--force'], { timeoutMs: 60_000 });
  });

  it('lets a pod reach itself through its own Service (hairpin)', async () => {
    const self = (await pods())[0].metadata.name;
    const id = execFileSync('docker', ['ps', '-q', '--filter', `label=io.kubernetes.pod.name=${self}`, '--filter', 'label=io.kubernetes.container.name=httpd'], { encoding: 'utf8' }).trim();
    const counts = fromContainer(id, clusterIP, 80, 30);
    // Its own turn comes every third connection: answered only if the reply comes back through the Service.
    expect(counts.get(self)).toBe(10);
    expect([...counts.values()]).toEqual([10, 10, 10]);
  });

  it('follows scaling to 5 and takes an unready pod out of rotation', async () => {
    await c.kubectl.ok(['scale', 'deployment/web', '--replicas=5']);
    await waitFor('5 ready endpoints', async () => (await readyEndpoints()) === 5, 90_000, 100);
    await new Promise((r) => setTimeout(r, 500));
    const counts = await spread(clusterIP, 80, 50);
    expect([...counts.values()]).toEqual([10, 10, 10, 10, 10]);

    // Removing the page makes the readiness probe (GET /) fail.
    const victim = (await pods())[0].metadata.name;
    const id = execFileSync('docker', ['ps', '-q', '--filter', `label=io.kubernetes.pod.name=${victim}`, '--filter', 'label=io.kubernetes.container.name=httpd'], { encoding: 'utf8' }).trim();
    execFileSync('docker', ['exec', id, 'rm', '/www/index.html']);
    await waitFor('4 ready endpoints', async () => (await readyEndpoints()) === 4, 30_000, 100);
    await new Promise((r) => setTimeout(r, 500));
    const after = await spread(clusterIP, 80, 40);
    expect(after.has(victim)).toBe(false);
    expect([...after.values()]).toEqual([10, 10, 10, 10]);
  });

  it('serves without a failed request through a rolling update', async () => {
    await c.kubectl.ok(['scale', 'deployment/web', '--replicas=3']);
    await waitFor('3 ready pods', async () => { const ps = await pods(); return ps.length === 3 && ps.every(ready); }, 90_000, 250);
    await waitFor('3 ready endpoints', async () => (await readyEndpoints()) === 3, 30_000, 100);
    let ok = 0;
    const failures: string[] = [];
    let done = false;
    const deadline = Date.now() + 180_000;
    const load = (async () => {
      while (!done && Date.now() < deadline) {
        await hit(clusterIP, 80).then(() => { ok++; }, (e) => { failures.push(String(e)); });
      }
    })();
    await c.kubectl.ok(['set', 'env', 'deployment/web', 'ROLL=1']);
    await c.kubectl.ok(['rollout', 'status', 'deployment/web', '--timeout=150s'], { timeoutMs: 160_000 });
    // Old pods are still in their preStop sleep: keep sending until they are gone.
    await waitFor('old pods gone', async () => (await pods()).length === 3, 60_000, 250);
    done = true;
    await load;
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(50);
  });

  it.runIf(mode === 'iptables')('keeps forwarding while kube-proxy restarts, with an identical rule set', async () => {
    const before = kubeRules(c);
    // Under this cluster's own chain prefix.
    expect(before.some((l) => l.includes('default/web:http cluster IP'))).toBe(true);
    const stateFile = path.join(c.home, 'state.json');
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    const proxies = state.processes.filter((p: any) => p.name.startsWith('kube-proxy'));
    for (const p of proxies) process.kill(p.pid, 'SIGKILL');
    // No proxy runs until the supervisor's first restart (1 s backoff): the kernel rules keep serving.
    expect((await spread(clusterIP, 80, 6)).size).toBe(3);
    // skiff up's supervisor starts them again.
    await waitFor('proxies restarted', () => {
      const now = JSON.parse(fs.readFileSync(stateFile, 'utf8')).processes as any[];
      return proxies.every((p: any) => now.some((q) => q.name === p.name && q.pid !== p.pid && q.restarts >= 1));
    }, 30_000, 200);
    const health = proxies.map((p: any) => p.health as string);
    await waitFor('proxies healthy', async () => (await Promise.all(health.map((h: string) => fetch(h).then((r) => r.ok, () => false)))).every(Boolean), 30_000, 200);
    await new Promise((r) => setTimeout(r, 1500));
    expect(kubeRules(c)).toEqual(before);
    expect((await spread(clusterIP, 80, 6)).size).toBe(3);
  });

  it('removes the forwarding when the Service is deleted', async () => {
    await c.kubectl.ok(['delete', 'service', 'web']);
    await waitFor('connection refused', () => hit(clusterIP, 80, 1000).then(() => false, () => true), 30_000, 200);
    if (mode === 'iptables') {
      await waitFor('no rules mention default/web', () => !kubeRules(c).some((l) => l.includes('default/web')), 30_000, 200);
    }
  });
});

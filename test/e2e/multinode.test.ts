// Three VM-like nodes on one machine (`skiff up --nodes 3 --node-mode netns`):
// each in its own network namespace with its own Docker engine and LAN
// address, driven with the real kubectl as a user drives them.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { skiffUp, type TestCluster } from '../util/cluster.js';
import { freePort, waitFor } from '../util/ports.js';
import { cidrsOverlap, destroyLan, engineEndpoint, netnsLayout, type NetnsLayout } from '../../cli/netns.js';

// Ranges of this run's own, so a second netns cluster on the machine (another suite) never shares a bridge address or a route.
const name = `m${process.pid % 10000}`;
const lanCidr = `10.250.${100 + (process.pid % 100)}.0/24`;
const clusterCidr = `10.${150 + (process.pid % 50)}.0.0/16`;
const serviceCidr = '10.96.0.0/12';

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', timeout: 60_000 }).trim();
const isReady = (p: any) => p.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True');
const inCidr = (ip: string, cidr: string) => cidrsOverlap(`${ip}/32`, cidr);

/** busybox httpd's REMOTE_ADDR is "[::ffff:10.1.2.3]" (it listens on an IPv6 socket): the IPv4 address alone. */
const clientAddr = (line: string) => line.trim().replace(/\[?(::ffff:)?([\d.]+)\]?$/, '$2');

/**
 * One GET /cgi-bin/ip on a new connection from inside a pod, printing the body's line. With nc:
 * Debian's busybox-static 1.35 wget segfaults (exit 139), see test/e2e/services.test.ts.
 */
const get = (host: string, port: number) => `printf 'GET /cgi-bin/ip HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${host} ${port} | tail -n 1`;

/** busybox httpd answering GET /cgi-bin/ip with "<pod name> <client address>". */
function echoContainer(extra: Record<string, unknown> = {}) {
  return {
    name: 'echo', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent',
    command: ['sh', '-c', [
      "trap 'kill $pid; wait $pid; exit 0' TERM",
      'mkdir -p /www/cgi-bin',
      // CRLF after the header: the kubelet's probe (node's HTTP parser) refuses a bare LF.
      'cat > /www/cgi-bin/ip <<EOF',
      '#!/bin/sh',
      'printf \'Content-Type: text/plain\\r\\n\\r\\n\'',
      'echo $POD_NAME \\$REMOTE_ADDR',
      'EOF',
      'chmod +x /www/cgi-bin/ip',
      'echo "serving $POD_NAME on $NODE_NAME"',
      'httpd -f -p 8080 -h /www & pid=$!',
      'wait $pid',
    ].join('\n')],
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    ],
    ports: [{ name: 'http', containerPort: 8080 }],
    readinessProbe: { httpGet: { path: '/cgi-bin/ip', port: 'http' }, periodSeconds: 1 },
    ...extra,
  };
}

describe('a 3-node netns cluster from skiff up', () => {
  let c: TestCluster;
  let lan: NetnsLayout;
  const nodeIndex = (node: string) => lan.nodes.findIndex((n) => n.name === node);
  const pods = async (selector: string) => (await c.kubectl.json(['get', 'pods', '-l', selector])).items as any[];
  const engine = (i: number, args: string[]) => sh('docker', ['-H', engineEndpoint(lan.nodes[i]), ...args]);
  const clients: string[] = [];

  beforeAll(async () => {
    c = await skiffUp({ nodes: 3, name, nodeMode: 'netns', args: [`--lan-cidr=${lanCidr}`, `--cluster-cidr=${clusterCidr}`] });
    lan = netnsLayout({ cluster: name, home: c.home, lanCidr, nodes: c.nodes, clusterCidr, serviceCidr });
  }, 300_000);

  afterAll(async () => {
    await c?.down();
    // Best effort, also when skiff down failed: the same teardown down uses, from names alone.
    const sweep = netnsLayout({ cluster: name, home: '/nonexistent', lanCidr, nodes: c?.nodes ?? [1, 2, 3].map((i) => `${name}-node-${i}`), clusterCidr, serviceCidr });
    await destroyLan(sweep, { cluster: name, clusterCidr, log: () => {} });
  }, 180_000);

  it('gives the nodes distinct LAN addresses and pod CIDRs', async () => {
    const nodes = (await c.kubectl.json(['get', 'nodes'])).items as any[];
    expect(nodes.map((n) => n.metadata.name).sort()).toEqual(c.nodes);
    for (const n of nodes) {
      expect(isReady(n)).toBe(true);
      const ip = n.status.addresses.find((a: any) => a.type === 'InternalIP').address;
      expect(ip).toBe(lan.nodes[nodeIndex(n.metadata.name)].ip);
      expect(n.spec.podCIDR).toBeDefined();
      expect(inCidr(n.spec.podCIDR.split('/')[0], clusterCidr)).toBe(true);
    }
    expect(new Set(nodes.map((n) => n.spec.podCIDR)).size).toBe(3);
    // The control plane advertises the LAN bridge's address.
    const ep = await c.kubectl.json(['get', 'endpoints', 'kubernetes']);
    expect(ep.subsets[0].addresses[0].ip).toBe(lan.gateway);
  });

  it('spreads a 6-replica Deployment over all nodes, each engine holding only its own node\'s pods', async () => {
    const deploy = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'echo' },
      spec: {
        replicas: 6, selector: { matchLabels: { app: 'echo' } },
        template: {
          metadata: { labels: { app: 'echo' } },
          spec: {
            terminationGracePeriodSeconds: 2, containers: [echoContainer()],
            // As DefaultTolerationSeconds adds them, with 2 s instead of 300 s so the engine test below sees eviction soon.
            tolerations: ['not-ready', 'unreachable'].map((k) => ({ key: `node.kubernetes.io/${k}`, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 2 })),
          },
        },
      },
    };
    await c.kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify(deploy) });
    const ready = await waitFor('6 Ready echo pods', async () => {
      const ps = await pods('app=echo');
      return ps.length === 6 && ps.every(isReady) ? ps : undefined;
    }, 120_000, 500);
    expect(new Set(ready.map((p) => p.spec.nodeName))).toEqual(new Set(c.nodes));
    const nodes = (await c.kubectl.json(['get', 'nodes'])).items as any[];
    for (const p of ready) {
      const node = nodes.find((n) => n.metadata.name === p.spec.nodeName);
      expect(inCidr(p.status.podIP, node.spec.podCIDR)).toBe(true);
    }
    const rootEngine = sh('docker', ['ps', '--format', '{{.Label "io.kubernetes.pod.name"}}']).split('\n');
    for (let i = 0; i < 3; i++) {
      const listed = new Set(engine(i, ['ps', '--format', '{{.Label "io.kubernetes.pod.name"}}']).split('\n').filter((l) => l.startsWith('echo-')));
      expect(listed).toEqual(new Set(ready.filter((p) => p.spec.nodeName === c.nodes[i]).map((p) => p.metadata.name)));
    }
    expect(rootEngine.filter((l) => ready.some((p) => p.metadata.name === l))).toEqual([]);
  }, 180_000);

  it('a pod on node 1 fetches from a pod on node 3, which sees the client pod\'s address', async () => {
    for (const [i, node] of c.nodes.entries()) {
      const pod = {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: `client-${i + 1}`, labels: { app: 'client' } },
        spec: { nodeName: node, terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', "trap 'exit 0' TERM; echo client on $(hostname); while :; do sleep 1; done"] }] },
      };
      await c.kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify(pod) });
      clients.push(`client-${i + 1}`);
    }
    const ready = await waitFor('3 Ready clients', async () => {
      const ps = await pods('app=client');
      return ps.length === 3 && ps.every(isReady) ? ps : undefined;
    }, 90_000, 500);
    const client1 = ready.find((p) => p.metadata.name === 'client-1');
    const server = (await pods('app=echo')).find((p) => p.spec.nodeName === c.nodes[2]);
    const out = await c.kubectl.ok(['exec', 'client-1', '--', 'sh', '-c', get(server.status.podIP, 8080)]);
    expect(clientAddr(out)).toBe(`${server.metadata.name} ${client1.status.podIP}`);
  }, 120_000);

  it('from a pod on each node, 30 requests to a ClusterIP land 10 on each of 3 pods on 3 nodes', async () => {
    for (const [i, node] of c.nodes.entries()) {
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: `rr-${i + 1}`, labels: { app: 'rr' } }, spec: { nodeName: node, terminationGracePeriodSeconds: 1, containers: [echoContainer()] } };
      await c.kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify(pod) });
    }
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'rr' }, spec: { type: 'NodePort', selector: { app: 'rr' }, ports: [{ port: 80, targetPort: 'http' }] } };
    await c.kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify(svc) });
    await waitFor('3 Ready rr pods', async () => (await pods('app=rr')).filter(isReady).length === 3, 90_000, 500);
    const clusterIP = (await c.kubectl.json(['get', 'svc', 'rr'])).spec.clusterIP;
    for (const client of clients) {
      // Until this node's kube-proxy has all three endpoints, a round of 30 is not 10/10/10; then one more round must be.
      const round = async () => {
        const out = await c.kubectl.ok(['exec', client, '--', 'sh', '-c', `for i in $(seq 30); do ${get(clusterIP, 80)}; done`], { timeoutMs: 90_000 });
        const counts: Record<string, number> = {};
        for (const line of out.trim().split('\n')) counts[line.split(' ')[0]] = (counts[line.split(' ')[0]] ?? 0) + 1;
        return counts;
      };
      await waitFor(`${client} reaches all 3 endpoints`, async () => Object.keys(await round()).length === 3, 60_000, 1000);
      expect(await round()).toEqual({ 'rr-1': 10, 'rr-2': 10, 'rr-3': 10 });
    }
  }, 300_000);

  it('hairpin: a pod reaches itself through its own Service', async () => {
    const clusterIP = (await c.kubectl.json(['get', 'svc', 'rr'])).spec.clusterIP;
    // rr-1 is one of the Service's three endpoints: a third of its requests come back to it through the bridge port it left by.
    const out = await c.kubectl.ok(['exec', 'rr-1', '--', 'sh', '-c', `for i in $(seq 30); do ${get(clusterIP, 80)}; done`], { timeoutMs: 90_000 });
    const counts: Record<string, number> = {};
    for (const line of out.trim().split('\n')) counts[line.split(' ')[0]] = (counts[line.split(' ')[0]] ?? 0) + 1;
    expect(counts).toEqual({ 'rr-1': 10, 'rr-2': 10, 'rr-3': 10 });
  }, 120_000);

  it('answers a NodePort on every node\'s LAN address', async () => {
    const nodePort = (await c.kubectl.json(['get', 'svc', 'rr'])).spec.ports[0].nodePort;
    for (const n of lan.nodes) {
      const body = await waitFor(`NodePort on ${n.ip}`, async () => {
        const res = await fetch(`http://${n.ip}:${nodePort}/cgi-bin/ip`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
        return res?.ok ? res.text() : undefined;
      }, 30_000, 500);
      expect(body).toMatch(/^rr-[123] /);
    }
  }, 120_000);

  it('serves kubectl logs, exec, port-forward and top for a pod on every node', async () => {
    for (const [i, node] of c.nodes.entries()) {
      const pod = `rr-${i + 1}`;
      expect(await c.kubectl.ok(['logs', pod])).toContain(`serving ${pod} on ${node}`);
      expect((await c.kubectl.ok(['exec', pod, '--', 'hostname'])).trim()).toBe(pod);
      const port = await freePort();
      const pf = c.kubectl.background(['port-forward', `pod/${pod}`, `${port}:8080`]);
      try {
        const body = await waitFor(`port-forward to ${pod}`, async () => {
          const res = await fetch(`http://127.0.0.1:${port}/cgi-bin/ip`).catch(() => undefined);
          return res?.ok ? res.text() : undefined;
        }, 30_000, 300);
        expect(body).toMatch(new RegExp(`^${pod} `));
      } finally {
        pf.stop();
      }
      const top = await waitFor(`top for ${pod}`, async () => {
        const r = await c.kubectl.run(['top', 'pod', pod, '--no-headers']);
        return r.code === 0 ? r.stdout : undefined;
      }, 60_000, 1000);
      expect(top).toMatch(new RegExp(`^${pod}\\s+\\d+m\\s+\\d+Mi`));
    }
  }, 240_000);

  it('restarts a killed engine (visible in skiff status); while it is down its node goes NotReady and its pods are evicted and replaced', async () => {
    const victim = c.nodes[1];
    const engineName = `docker-${victim}`;
    const before = (await pods('app=echo')).filter((p) => p.spec.nodeName === victim).map((p) => p.metadata.name);
    expect(before.length).toBeGreaterThan(0);
    const stateFile = `${c.home}/state.json`;
    const record = () => JSON.parse(fs.readFileSync(stateFile, 'utf8')).processes.find((p: any) => p.name === engineName);
    let killed = 0;
    // A crash-looping engine: killed again each time the supervisor brings it back, until the node lifecycle has acted.
    const stopKilling = { done: false };
    const killer = (async () => {
      let last = 0;
      while (!stopKilling.done) {
        const r = record();
        if (r && r.pid !== last && fs.existsSync(`/proc/${r.pid}`)) {
          try { process.kill(r.pid, 'SIGKILL'); killed++; } catch { /* gone */ }
          last = r.pid;
        }
        await new Promise((res) => setTimeout(res, 200));
      }
    })();
    try {
      await waitFor(`${victim} NotReady`, async () => {
        const n = await c.kubectl.json(['get', 'node', victim]);
        return n.status.conditions.find((x: any) => x.type === 'Ready').status !== 'True';
      }, 90_000, 500);
      await waitFor('its pods evicted and replaced on the other nodes', async () => {
        const ps = await pods('app=echo');
        const live = ps.filter((p) => !p.metadata.deletionTimestamp);
        return before.every((b) => !live.some((p) => p.metadata.name === b)) && live.filter(isReady).length === 6 && live.every((p) => p.spec.nodeName !== victim);
      }, 120_000, 1000);
    } finally {
      stopKilling.done = true;
      await killer;
    }
    expect(killed).toBeGreaterThan(0);
    // The supervisor brings the engine back and the node returns.
    await waitFor(`${victim} Ready again`, async () => {
      const n = await c.kubectl.json(['get', 'node', victim]);
      return isReady({ status: n.status });
    }, 120_000, 1000);
    const st = await c.skiff(['status']);
    expect(st.stdout).toMatch(new RegExp(`${engineName}\\s+\\d+\\s+running\\s+[1-9]`));
  }, 400_000);

  it('skiff down leaves no namespace, link, route, rule, engine, process, mount or container', async () => {
    const down = await c.skiff(['down']);
    expect(down.code).toBe(0);
    expect(sh('ip', ['netns', 'list']).split('\n').filter((l) => l.startsWith(lan.netnsPrefix))).toEqual([]);
    expect(sh('ip', ['-o', 'link', 'show']).split('\n').filter((l) => lan.linkPrefixes.some((p) => l.includes(`: ${p}`)))).toEqual([]);
    const routes = sh('ip', ['route', 'show', 'table', 'all']).split('\n');
    expect(routes.filter((r) => [lanCidr, clusterCidr].some((cidr) => { const dst = r.split(' ').find((w) => /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(w)); return dst && cidrsOverlap(dst.includes('/') ? dst : `${dst}/32`, cidr); }))).toEqual([]);
    expect(sh('iptables-save', []).split('\n').filter((l) => l.includes(lan.bridge) || l.includes(`skiff ${name} LAN`))).toEqual([]);
    const ps = sh('ps', ['-eo', 'args']).split('\n');
    expect(ps.filter((a) => a.includes(c.home) || lan.nodes.some((n) => a.includes(n.engine.execRoot)))).toEqual([]);
    expect(fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((m) => m.includes(c.home))).toEqual([]);
    for (const n of lan.nodes) expect(fs.existsSync(n.engine.socket)).toBe(false);
  }, 180_000);
});

// The control plane of a cluster of machines (`skiff up --advertise-address`,
// which workers `skiff join`): its own node is a node like theirs, on the
// machine's address, with pods on its pod CIDR and a network agent. The
// machine's LAN address is stood in for by a private address on a portless
// bridge of this run's own, so everything sent to it stays on the machine.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { skiffUp, type TestCluster } from '../util/cluster.js';
import { waitFor } from '../util/ports.js';
import { cidrsOverlap } from '../../cli/netns.js';

const name = `v${process.pid % 10000}`;
const link = `skvm${process.pid % 10000}`;
const address = `10.253.${process.pid % 200}.1`;
const clusterCidr = `10.${200 + (process.pid % 40)}.0.0/16`;

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', timeout: 60_000 }).trim();
const isReady = (p: any) => p.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True');
/** busybox httpd's REMOTE_ADDR is "[::ffff:10.1.2.3]": the IPv4 address alone. */
const lastWord = (line: string) => line.trim().split(/\s+/).pop()!.replace(/\[?(::ffff:)?([\d.]+)\]?$/, '$2');

describe('skiff up --advertise-address: the control plane machine is a node like the joined ones', () => {
  let c: TestCluster;

  beforeAll(async () => {
    // A bridge with no ports is an interface that only holds the address (this kernel has no dummy links).
    sh('ip', ['link', 'add', link, 'type', 'bridge']);
    sh('ip', ['addr', 'add', `${address}/24`, 'dev', link]);
    sh('ip', ['link', 'set', link, 'up']);
    c = await skiffUp({ nodes: 1, name, args: [`--advertise-address=${address}`, `--cluster-cidr=${clusterCidr}`] });
  }, 300_000);

  afterAll(async () => {
    await c?.down();
    try { sh('ip', ['link', 'del', link]); } catch { /* gone */ }
  }, 180_000);

  it('reports the machine\'s address as InternalIP and gets a pod CIDR from --cluster-cidr', async () => {
    const node = (await c.kubectl.json(['get', 'node', c.nodes[0]]));
    expect(node.status.addresses.find((a: any) => a.type === 'InternalIP').address).toBe(address);
    expect(cidrsOverlap(node.spec.podCIDR, clusterCidr)).toBe(true);
  });

  it('runs pods on the pod CIDR, reachable by Service name from another pod, which they see by its pod IP', async () => {
    const server = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'srv', labels: { app: 'srv' } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{
          name: 'c', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent',
          command: ['sh', '-c', "mkdir -p /www/cgi-bin && printf '#!/bin/sh\\nprintf \"Content-Type: text/plain\\\\r\\\\n\\\\r\\\\n\"\\necho $REMOTE_ADDR\\n' > /www/cgi-bin/ip && chmod +x /www/cgi-bin/ip && exec httpd -f -p 8080 -h /www"],
          ports: [{ containerPort: 8080 }],
        }],
      },
    };
    const client = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'cli' }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }] } };
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'srv' }, spec: { selector: { app: 'srv' }, ports: [{ port: 80, targetPort: 8080 }] } };
    for (const o of [server, client, svc]) await c.kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify(o) });
    const podCIDR = (await c.kubectl.json(['get', 'node', c.nodes[0]])).spec.podCIDR;
    const pods = await waitFor('both pods Ready', async () => {
      const items = (await c.kubectl.json(['get', 'pods'])).items as any[];
      return items.length === 2 && items.every(isReady) ? items : undefined;
    }, 90_000, 500);
    for (const p of pods) expect(cidrsOverlap(`${p.status.podIP}/32`, podCIDR), p.metadata.name).toBe(true);
    const cli = pods.find((p) => p.metadata.name === 'cli');
    // By name through the cluster DNS (on the advertise address) and kube-proxy; no NAT between pods.
    const out = await waitFor('srv answers by name', async () => {
      const r = await c.kubectl.run(['exec', 'cli', '--', 'sh', '-c', "printf 'GET /cgi-bin/ip HTTP/1.0\\r\\n\\r\\n' | nc -w 5 srv 80 | tail -n 1"]);
      return r.code === 0 && r.stdout.trim() ? r.stdout : undefined;
    }, 60_000, 1000);
    expect(lastWord(out)).toBe(cli.status.podIP);
  }, 180_000);

  it('skiff down removes the agent\'s routes and rules and the pod network', async () => {
    const agentChains = () => sh('iptables-save', []).split('\n').filter((l) => l.includes('SKIFF-NETAGENT'));
    expect(agentChains().length).toBeGreaterThan(0);
    await c.down();
    c = undefined as unknown as TestCluster;
    const routes = sh('ip', ['route', 'show', 'table', 'all']).split('\n');
    expect(routes.filter((r) => { const dst = r.split(' ').find((w) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(w)); return dst && cidrsOverlap(dst, clusterCidr); })).toEqual([]);
    expect(agentChains()).toEqual([]);
    expect(sh('docker', ['network', 'ls', '--format', '{{.Name}}']).split('\n')).not.toContain('skiff-pods');
  }, 180_000);
});

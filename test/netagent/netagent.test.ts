// The network agent on real namespaces: two "nodes" (network namespaces
// joined by a veth pair on a private /30, FORWARD policy DROP and a
// Docker-like MASQUERADE of the pod subnet, as a node with Docker has) and a
// "pod" namespace behind each (a veth to its node, the node side the pod
// CIDR's gateway, as cbr0). The compiled agents program each node from the
// Node objects a real API server serves; a TCP connection from one pod to
// the other then crosses without NAT. Everything is created in namespaces
// named skiff-test-<pid>-*, and removed again, also when a test fails.
//
// The agents run in the root namespace with --netns (their commands run in
// the node's namespace): the test API server listens on the root
// namespace's loopback only, which a process inside a node namespace cannot
// reach. A real node runs the agent inside its namespace, without --netns.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { Node } from '../../api/types.js';
import { RestClient } from '../../client/rest.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { waitFor } from '../util/ports.js';

const run = promisify(execFile);
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}
const agentMain = path.join(repoRoot(), 'dist', 'netagent', 'main.js');

const id = String(process.pid % 100000);
const ns = { a: `skiff-test-${id}-a`, b: `skiff-test-${id}-b`, pa: `skiff-test-${id}-pa`, pb: `skiff-test-${id}-pb` };
const lan = { a: '172.31.251.1', b: '172.31.251.2' };
const clusterCIDR = '10.244.0.0/16';
const pods = { a: { cidr: '10.244.10.0/24', gw: '10.244.10.1', ip: '10.244.10.10' }, b: { cidr: '10.244.11.0/24', gw: '10.244.11.1', ip: '10.244.11.10' } };

const inNs = (n: string, ...cmd: string[]) => run('ip', ['netns', 'exec', n, ...cmd], { timeout: 30_000 }).then((r) => r.stdout);

async function makeNamespaces(): Promise<void> {
  for (const n of Object.values(ns)) await run('ip', ['netns', 'add', n]);
  for (const n of Object.values(ns)) await inNs(n, 'ip', 'link', 'set', 'lo', 'up');
  // The LAN: one veth pair between the two nodes.
  await run('ip', ['link', 'add', `nla${id}`, 'netns', ns.a, 'type', 'veth', 'peer', 'name', `nlb${id}`, 'netns', ns.b]);
  for (const k of ['a', 'b'] as const) {
    const dev = `nl${k}${id}`;
    await inNs(ns[k], 'ip', 'addr', 'add', `${lan[k]}/30`, 'dev', dev);
    await inNs(ns[k], 'ip', 'link', 'set', dev, 'up');
    // The pod: a veth from the node (the pod CIDR's gateway, as Docker's bridge) into the pod's namespace.
    const pns = k === 'a' ? ns.pa : ns.pb;
    await run('ip', ['link', 'add', `p${k}${id}`, 'netns', ns[k], 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pns]);
    await inNs(ns[k], 'ip', 'addr', 'add', `${pods[k].gw}/24`, 'dev', `p${k}${id}`);
    await inNs(ns[k], 'ip', 'link', 'set', `p${k}${id}`, 'up');
    await inNs(pns, 'ip', 'addr', 'add', `${pods[k].ip}/24`, 'dev', 'eth0');
    await inNs(pns, 'ip', 'link', 'set', 'eth0', 'up');
    await inNs(pns, 'ip', 'route', 'add', 'default', 'via', pods[k].gw);
    // What Docker leaves on a node: forwarding dropped by default, and its bridge subnet masqueraded when it leaves the bridge.
    await inNs(ns[k], 'iptables', '-w', '-P', 'FORWARD', 'DROP');
    await inNs(ns[k], 'iptables', '-w', '-t', 'nat', '-A', 'POSTROUTING', '-s', pods[k].cidr, '!', '-o', `p${k}${id}`, '-j', 'MASQUERADE');
  }
}

async function removeNamespaces(): Promise<void> {
  // Deleting a namespace deletes its interfaces, routes and rules with it.
  for (const n of Object.values(ns)) await run('ip', ['netns', 'del', n]).catch(() => {});
}

/** A TCP server in a namespace that answers each connection with the peer's address; stopped by kill(). */
function peerEchoServer(netns: string, host: string, port: number): { proc: ChildProcess; ready: Promise<void> } {
  const script = `require('net').createServer((s) => s.end(s.remoteAddress)).listen(${port}, '${host}', () => console.log('listening'))`;
  const proc = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const ready = new Promise<void>((resolve, reject) => {
    proc.stdout!.once('data', () => resolve());
    proc.once('exit', (c) => reject(new Error(`echo server in ${netns} exited ${c}`)));
  });
  return { proc, ready };
}

/** Connects from a namespace and returns what the server said (the address it saw), or the error. */
async function connectFrom(netns: string, host: string, port: number): Promise<string> {
  const script = `const s = require('net').connect({ host: '${host}', port: ${port}, timeout: 2000 }); let d = ''; s.on('data', (x) => d += x); s.on('end', () => { process.stdout.write(d); process.exit(0); }); s.on('timeout', () => { console.log('timeout'); process.exit(1); }); s.on('error', (e) => { console.log(e.code); process.exit(1); });`;
  try {
    return (await run('ip', ['netns', 'exec', netns, process.execPath, '-e', script], { timeout: 10_000 })).stdout.trim();
  } catch (e) {
    return `failed: ${String((e as { stdout?: string }).stdout ?? e).trim()}`;
  }
}

const node = (name: 'a' | 'b'): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: { podCIDR: pods[name].cidr, podCIDRs: [pods[name].cidr] } });

let api: ApiServerProcess;
let client: RestClient;
const procs: ChildProcess[] = [];
let agentLogs = '';

function startAgent(name: 'a' | 'b', kubeconfig: string): ChildProcess {
  const p = spawn(process.execPath, [agentMain, `--kubeconfig=${kubeconfig}`, `--hostname-override=${name}`, `--cluster-cidr=${clusterCIDR}`, `--netns=${ns[name]}`, '--sync-period=2s'], { stdio: ['ignore', 'ignore', 'pipe'] });
  p.stderr!.on('data', (d) => (agentLogs = (agentLogs + d).slice(-20_000)));
  procs.push(p);
  return p;
}

beforeAll(async () => {
  await removeNamespaces();
  try {
    await makeNamespaces();
    api = await startApiServer();
    client = new RestClient(api.admin);
  } catch (e) {
    await removeNamespaces();
    throw e;
  }
});

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  client?.close();
  await api?.stop();
  await removeNamespaces();
  const left = (await run('ip', ['netns', 'list'])).stdout;
  expect(left).not.toContain(`skiff-test-${id}-`);
});

describe('network agent (two network namespaces)', () => {
  it('routes each node\'s pod CIDR to the other: pod to pod crosses without NAT, out of the cluster CIDR is masqueraded; converges on delete; --cleanup removes it all', async () => {
    const server = peerEchoServer(ns.pb, pods.b.ip, 8080);
    procs.push(server.proc);
    await server.ready;
    // Before any agent: node a has no route to b's pods (and FORWARD drops), so nothing crosses.
    expect(await connectFrom(ns.pa, pods.b.ip, 8080)).toMatch(/^failed/);

    for (const k of ['a', 'b'] as const) {
      await client.resource<Node>(R.nodes).create(node(k));
      await client.resource<Node>(R.nodes).patch(k, 'merge', { status: { addresses: [{ type: 'InternalIP', address: lan[k] }, { type: 'Hostname', address: k }] } }, { subresource: 'status' });
    }
    // A kubelet's identity may read only its own Node (kube 1.32's Node authorizer): the agent runs as kube-proxy.
    const asKubelet = new RestClient(await api.connectionFor('system:node:a', ['system:nodes']));
    await expect(asKubelet.resource(R.nodes).list()).rejects.toMatchObject({ code: 403 });
    asKubelet.close();
    const kubeconfig = await api.kubeconfigFor('system:kube-proxy');
    startAgent('a', kubeconfig);
    startAgent('b', kubeconfig);

    const routes = (k: 'a' | 'b') => inNs(ns[k], 'ip', 'route', 'show', 'proto', '213');
    await waitFor('routes on both nodes', async () => (await routes('a')).includes(`${pods.b.cidr} via ${lan.b}`) && (await routes('b')).includes(`${pods.a.cidr} via ${lan.a}`), 30_000, 200)
      .catch((e) => { throw new Error(`${(e as Error).message}\n${agentLogs.slice(-3000)}`); });
    expect(await routes('a')).toContain(`unreachable ${clusterCIDR}`);

    // Pod a to pod b: the server sees pod a's own address, though Docker's MASQUERADE rule is there.
    await waitFor('pod a reaches pod b', async () => (await connectFrom(ns.pa, pods.b.ip, 8080)) === pods.a.ip, 20_000, 200)
      .catch(async (e) => { throw new Error(`${(e as Error).message}: ${await connectFrom(ns.pa, pods.b.ip, 8080)}\n${agentLogs.slice(-3000)}`); });
    // Docker makes its network (and inserts its MASQUERADE at the top of POSTROUTING) after the agent started: the agent's jump moves back ahead of it.
    await inNs(ns.b, 'iptables', '-w', '-t', 'nat', '-I', 'POSTROUTING', '1', '-s', pods.b.cidr, '!', '-o', `pb${id}`, '-j', 'MASQUERADE');
    await inNs(ns.a, 'iptables', '-w', '-t', 'nat', '-I', 'POSTROUTING', '1', '-s', pods.a.cidr, '!', '-o', `pa${id}`, '-j', 'MASQUERADE');
    await waitFor('jump ahead of the new MASQUERADE', async () => (await inNs(ns.a, 'iptables', '-w', '-t', 'nat', '-S', 'POSTROUTING')).split('\n').filter((l) => l.startsWith('-A'))[0]?.endsWith('-j SKIFF-NETAGENT-POSTROUTING'), 20_000, 200);
    expect(await connectFrom(ns.pa, pods.b.ip, 8080)).toBe(pods.a.ip);
    // A pod CIDR no node holds is refused on the node, not sent on.
    expect(await connectFrom(ns.pa, '10.244.99.9', 8080)).toMatch(/^failed: (EHOSTUNREACH|ENETUNREACH)/);

    // Out of the cluster CIDR (to node b's own address): masqueraded as node a's address.
    const nodeServer = peerEchoServer(ns.b, lan.b, 8081);
    procs.push(nodeServer.proc);
    await nodeServer.ready;
    expect(await connectFrom(ns.pa, lan.b, 8081)).toBe(lan.a);

    // Node b leaves: a's route to it goes (its CIDR falls to the unreachable route).
    await client.resource(R.nodes).delete('b');
    await waitFor('route to b removed', async () => !(await routes('a')).includes(pods.b.cidr), 30_000, 200);
    expect(await connectFrom(ns.pa, pods.b.ip, 8080)).toMatch(/^failed/);

    // --cleanup: no route, chain or jump of the agent's is left on node a.
    for (const p of procs.splice(0, procs.length)) p.kill('SIGKILL');
    await run(process.execPath, [agentMain, '--cleanup', `--netns=${ns.a}`], { timeout: 30_000 });
    expect(await routes('a')).toBe('');
    const rules = (await inNs(ns.a, 'iptables-save')).split('\n').filter((l) => l.includes('SKIFF-NETAGENT'));
    expect(rules).toEqual([]);
  });
});

// The node IPAM controller in the compiled controller-manager against a real
// API server: Nodes registering all at once get distinct pod CIDRs, a
// restarted controller-manager rebuilds its bitmap from the Nodes (never
// handing out a CIDR a Node holds), a full range is a CIDRNotAvailable event,
// and a deleted Node's CIDR goes to the Node that was waiting.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { KubeObject, Node } from '../../api/types.js';
import { RestClient } from '../../client/rest.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { waitFor } from '../util/ports.js';
import { startControllerManager, type ControllerManagerProcess } from './harness.js';

let api: ApiServerProcess;
let client: RestClient;
let cm: ControllerManagerProcess | undefined;
const args = ['--controllers=node-ipam-controller', '--allocate-node-cidrs', '--cluster-cidr=10.244.0.0/20', '--node-cidr-mask-size=24'];

beforeAll(async () => {
  api = await startApiServer();
  client = new RestClient(api.admin);
});
afterAll(async () => {
  await cm?.stop();
  client?.close();
  await api?.stop();
});

const nodes = () => client.resource<Node>(R.nodes);
const node = (name: string, podCIDR?: string): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {} });

async function cidrs(): Promise<Map<string, string | undefined>> {
  return new Map((await nodes().list()).items.map((n) => [n.metadata.name!, n.spec.podCIDRs?.[0]]));
}

describe('node IPAM controller (integration)', () => {
  it('gives nodes registering concurrently distinct CIDRs, also after a restart, and reports a full range', async () => {
    await nodes().create(node('existing', '10.244.0.0/24'));
    cm = await startControllerManager(api.url, args);
    await Promise.all(Array.from({ length: 12 }, (_, i) => nodes().create(node(`n${i}`))));
    await waitFor('12 CIDRs', async () => [...(await cidrs()).values()].filter(Boolean).length === 13, 30_000, 100);
    let all = await cidrs();
    expect(all.get('existing')).toBe('10.244.0.0/24');
    expect(new Set(all.values()).size).toBe(13);
    for (const [name, c] of all) expect(c, name).toMatch(/^10\.244\.([0-9]|1[0-5])\.0\/24$/);
    const n3 = await nodes().get('n3');
    expect(n3.spec.podCIDR).toBe(n3.spec.podCIDRs![0]);

    // A new controller-manager knows only what the Nodes say.
    await cm.kill();
    cm = await startControllerManager(api.url, args);
    await Promise.all(['m0', 'm1', 'm2'].map((n) => nodes().create(node(n))));
    await waitFor('16 CIDRs', async () => [...(await cidrs()).values()].filter(Boolean).length === 16, 30_000, 100);
    all = await cidrs();
    expect(new Set(all.values()).size).toBe(16);

    // The range is full: the next Node waits with an event, as kube's.
    await nodes().create(node('late'));
    const ev = await waitFor('CIDRNotAvailable', async () => (await client.resource<KubeObject & { reason?: string; message?: string; involvedObject?: { name?: string } }>(R.events).list()).items.find((e) => e.reason === 'CIDRNotAvailable' && e.involvedObject?.name === 'late'), 30_000, 200);
    expect(ev.message).toBe('Node late status is now: CIDRNotAvailable');
    expect((await nodes().get('late')).spec.podCIDRs).toBeUndefined();

    const freed = all.get('n5');
    await nodes().delete('n5');
    await waitFor('late gets the freed CIDR', async () => (await nodes().get('late')).spec.podCIDRs?.[0] === freed, 60_000, 200);
  }, 180_000);
});

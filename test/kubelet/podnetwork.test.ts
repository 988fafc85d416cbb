// The Docker runtime's pod network from the Node's pod CIDR (the kubelet's
// --pod-network=podcidr) on the real engine: sandboxes are refused until the
// CIDR is known, then run on a bridge network of it (gateway its first
// address, as kubenet's cbr0) with an address from it and hairpin mode on
// their bridge port; a changed CIDR replaces the network. The network and
// bridge carry this process's id and are removed, also on failure.

import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { cidrContainsIP } from '../../lib/ipv4.js';
import { DockerRuntime } from '../../kubelet/runtime/docker.js';

const id = String(process.pid % 100000);
const networkName = `skiff-test-pods-${id}`;
const bridgeName = `sktst${id}`;
const label = { 'skiff.test': `podnetwork-${id}` };
const rt = new DockerRuntime(undefined, { podNetwork: 'podcidr', networkName, bridgeName });

afterAll(async () => {
  for (const c of await rt.docker.listContainers({ all: true, filters: { label: [`skiff.test=podnetwork-${id}`] } })) await rt.docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
  await rt.docker.getNetwork(networkName).remove().catch(() => {});
});

async function sandbox(name: string) {
  const sid = await rt.createSandbox({ name: `${name}-${id}`, image: 'skiff/pause:3.10', hostname: name, labels: label });
  const sb = await rt.startSandbox(sid);
  await sb.network;
  return sb;
}

describe('DockerRuntime pod network from the pod CIDR', () => {
  it('waits for the CIDR, then gives sandboxes addresses from it on its own bridge, hairpin on; a new CIDR replaces the network', async () => {
    expect(rt.networkStatus()).toMatchObject({ ready: false, reason: 'NetworkPluginNotReady' });
    await expect(rt.createSandbox({ name: `early-${id}`, image: 'skiff/pause:3.10', hostname: 'early', labels: label })).rejects.toThrow(/^network is not ready: container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady/);

    await rt.updatePodCIDR('10.251.7.0/24');
    expect(rt.networkStatus()).toEqual({ ready: true });
    const net = await rt.docker.getNetwork(networkName).inspect();
    expect(net.IPAM?.Config).toEqual([{ Subnet: '10.251.7.0/24', Gateway: '10.251.7.1' }]);
    expect(net.Options?.['com.docker.network.bridge.name']).toBe(bridgeName);

    const sb = await sandbox('p1');
    expect(cidrContainsIP('10.251.7.0/24', sb.ip!)).toBe(true);
    expect(sb.ip).not.toBe('10.251.7.1');
    const ports = fs.readdirSync(`/sys/class/net/${bridgeName}/brif`);
    expect(ports).toHaveLength(1);
    expect(fs.readFileSync(`/sys/class/net/${bridgeName}/brif/${ports[0]}/hairpin_mode`, 'utf8').trim()).toBe('1');
    // The same CIDR again (every status update passes it) changes nothing.
    await rt.updatePodCIDR('10.251.7.0/24');
    expect((await rt.docker.getNetwork(networkName).inspect()).Id).toBe(net.Id);

    await rt.remove(sb.id);
    await rt.updatePodCIDR('10.251.8.0/24');
    const sb2 = await sandbox('p2');
    expect(cidrContainsIP('10.251.8.0/24', sb2.ip!)).toBe(true);
  });
});

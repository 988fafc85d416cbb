import { describe, expect, it } from 'vitest';
import { R } from '../api/resources.js';
import type { Lease, Node } from '../api/types.js';
import { FakeClient } from '../client/fake.js';
import { NodeAgent } from './node.js';
import { FakeRuntime } from './runtime/fake.js';

function agent(nodeIP = '192.168.77.2') {
  const client = new FakeClient();
  const runtime = new FakeRuntime();
  const a = new NodeAgent({ client, runtime, nodeName: 'n1', nodeIP, port: 10250, rootDir: '/tmp', maxPods: 110 });
  return { client, runtime, a };
}
const ready = async (client: FakeClient) => (await client.resource<Node>(R.nodes).get('n1')).status?.conditions?.find((c) => c.type === 'Ready');

describe('NodeAgent', () => {
  it('reports --node-ip as InternalIP and the name as Hostname', async () => {
    const { client, a } = agent();
    await a.register();
    expect((await client.resource<Node>(R.nodes).get('n1')).status?.addresses).toEqual([{ type: 'InternalIP', address: '192.168.77.2' }, { type: 'Hostname', address: 'n1' }]);
  });

  it('renews its lease with one update of the lease it last wrote, and reads it again only when that fails (kube\'s lease controller)', async () => {
    const { client, a } = agent();
    await a.register();
    await a.renewLease();
    const leases = client.resource<Lease>(R.leases, 'kube-node-lease');
    expect((await leases.get('n1')).spec).toMatchObject({ holderIdentity: 'n1', leaseDurationSeconds: 40 });
    client.actions.length = 0;
    await a.renewLease();
    await a.renewLease();
    expect(client.actions.filter((x) => x.resource === 'leases').map((x) => x.verb)).toEqual(['update', 'update']);

    // Someone else wrote it (an operator's kubectl edit): the stale update conflicts, then a read and an update.
    const cur = await leases.get('n1');
    await leases.update({ ...cur, metadata: { ...cur.metadata, labels: { edited: 'yes' } } });
    client.actions.length = 0;
    await a.renewLease();
    expect(client.actions.filter((x) => x.resource === 'leases').map((x) => x.verb)).toEqual(['update', 'get', 'update']);
    const after = await leases.get('n1');
    expect(after.metadata.labels).toEqual({ edited: 'yes' });
    expect(Date.parse(after.spec!.renewTime!)).toBeGreaterThanOrEqual(Date.parse(cur.spec!.renewTime!));
  });

  it('is NotReady with kube\'s network message until the Node has a pod CIDR, then hands it to the runtime and turns Ready', async () => {
    const { client, runtime, a } = agent();
    runtime.networkReady = false;
    await a.register();
    await a.updateStatus();
    const before = await ready(client);
    expect(before?.status).toBe('False');
    expect(before?.reason).toBe('KubeletNotReady');
    expect(before?.message).toBe('container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:fake: no pod CIDR');
    expect(runtime.ops('updatePodCIDR')).toEqual([]);

    await client.resource(R.nodes).patch('n1', 'merge', { spec: { podCIDR: '10.244.3.0/24', podCIDRs: ['10.244.3.0/24'] } });
    await a.updateStatus();
    expect(runtime.podCIDR).toBe('10.244.3.0/24');
    expect((await ready(client))?.status).toBe('True');
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { R } from '../api/resources.js';
import type { Node } from '../api/types.js';
import { FakeClient } from '../client/fake.js';
import { SharedInformerFactory } from '../client/informer.js';
import { desiredRoutes, NetAgent } from './agent.js';
import { FakeBackend } from './fake.js';
import { ruleText } from './linux.js';

const node = (name: string, ip?: string, podCIDR?: string): Node => ({
  apiVersion: 'v1', kind: 'Node', metadata: { name },
  spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {},
  status: ip ? { addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }] } : {},
});

const running: { a: NetAgent; f: SharedInformerFactory; done: Promise<void> }[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.a.stop();
    r.f.stop();
    await r.done;
  }
});

function start(fake: FakeClient, backend: FakeBackend, nodeName?: string) {
  const f = new SharedInformerFactory(fake);
  const a = new NetAgent({ informers: f, backend, clusterCIDR: '10.244.0.0/16', nodeName });
  const done = a.run();
  running.push({ a, f, done });
  return a;
}

const routes = (b: FakeBackend) => [...b.routes.values()].map((r) => `${r.type} ${r.dst}${r.via ? ' via ' + r.via : ''}`).sort();

describe('desiredRoutes', () => {
  it('routes each other node\'s pod CIDR via its InternalIP, and the rest of the cluster CIDR nowhere', () => {
    const nodes = [node('a', '192.168.77.2', '10.244.0.0/24'), node('b', '192.168.77.3', '10.244.1.0/24'), node('c', '192.168.77.4', '10.244.2.0/24')];
    expect(desiredRoutes(nodes, '10.244.0.0/16', 'a')).toEqual([
      { dst: '10.244.1.0/24', type: 'unicast', via: '192.168.77.3' },
      { dst: '10.244.2.0/24', type: 'unicast', via: '192.168.77.4' },
      { dst: '10.244.0.0/16', type: 'unreachable' },
    ]);
    // The control-plane host routes to every node.
    expect(desiredRoutes(nodes, '10.244.0.0/16').map((r) => r.dst)).toEqual(['10.244.0.0/24', '10.244.1.0/24', '10.244.2.0/24', '10.244.0.0/16']);
  });

  it('skips nodes without a pod CIDR or an address, a CIDR outside the cluster CIDR, its own CIDR claimed by another, and its own address', () => {
    const nodes = [
      node('a', '192.168.77.2', '10.244.0.0/24'),
      node('no-cidr', '192.168.77.5'),
      node('no-ip', undefined, '10.244.3.0/24'),
      node('outside', '192.168.77.6', '10.99.0.0/24'),
      node('dup', '192.168.77.7', '10.244.0.0/24'),
      node('same-ip', '192.168.77.2', '10.244.4.0/24'),
    ];
    expect(desiredRoutes(nodes, '10.244.0.0/16', 'a')).toEqual([{ dst: '10.244.0.0/16', type: 'unreachable' }]);
  });
});

describe('NetAgent', () => {
  it('converges as nodes join, change pod CIDR and leave, and puts back a route removed behind its back', async () => {
    const fake = new FakeClient([R.nodes, node('a', '192.168.77.2', '10.244.0.0/24')], [R.nodes, node('b', '192.168.77.3', '10.244.1.0/24')]);
    const backend = new FakeBackend();
    backend.routes.set('10.244.9.0/24', { dst: '10.244.9.0/24', type: 'unicast', via: '192.168.77.9' }); // left by a node that went while the agent was down
    const agent = start(fake, backend, 'a');
    await vi.waitFor(() => expect(routes(backend)).toEqual(['unicast 10.244.1.0/24 via 192.168.77.3', 'unreachable 10.244.0.0/16']));
    expect(backend.rules).toEqual({ clusterCIDR: '10.244.0.0/16' });
    expect(backend.forwarding).toBe(true);

    await fake.resource(R.nodes).create(node('c', '192.168.77.4', '10.244.2.0/24'));
    await vi.waitFor(() => expect(routes(backend)).toContain('unicast 10.244.2.0/24 via 192.168.77.4'));
    await fake.resource(R.nodes).patch('b', 'merge', { status: { addresses: [{ type: 'InternalIP', address: '192.168.77.13' }] } }, { subresource: 'status' });
    await vi.waitFor(() => expect(routes(backend)).toContain('unicast 10.244.1.0/24 via 192.168.77.13'));
    await fake.resource(R.nodes).delete('c');
    await vi.waitFor(() => expect(routes(backend)).toEqual(['unicast 10.244.1.0/24 via 192.168.77.13', 'unreachable 10.244.0.0/16']));

    backend.routes.delete('10.244.1.0/24');
    const calls = backend.calls.length;
    await agent.sync();
    expect(backend.calls.slice(calls)).toEqual(['list', 'replace unicast 10.244.1.0/24 via 192.168.77.13', 'rules 10.244.0.0/16']);
  });

  it('on the control-plane host: routes to every node, no rules, no forwarding change', async () => {
    const fake = new FakeClient([R.nodes, node('a', '192.168.77.2', '10.244.0.0/24')]);
    const backend = new FakeBackend();
    start(fake, backend);
    await vi.waitFor(() => expect(routes(backend)).toEqual(['unicast 10.244.0.0/24 via 192.168.77.2', 'unreachable 10.244.0.0/16']));
    expect(backend.rules).toBeUndefined();
    expect(backend.forwarding).toBe(false);
  });

  it('retries a failed sync', async () => {
    const fake = new FakeClient([R.nodes, node('b', '192.168.77.3', '10.244.1.0/24')]);
    const backend = new FakeBackend();
    let failures = 1;
    backend.fail = (call) => (call.startsWith('replace') && failures-- > 0 ? new Error('RTNETLINK answers: Network is unreachable') : undefined);
    start(fake, backend, 'a');
    await vi.waitFor(() => expect(routes(backend)).toContain('unicast 10.244.1.0/24 via 192.168.77.3'));
  });
});

describe('ruleText', () => {
  it('accepts cluster traffic in FORWARD, leaves pod-to-pod untranslated unless kube-proxy marked it, masquerades the rest', () => {
    expect(ruleText({ clusterCIDR: '10.244.0.0/16' }).split('\n')).toEqual([
      '*filter',
      ':SKIFF-NETAGENT-FORWARD - [0:0]',
      '-A SKIFF-NETAGENT-FORWARD -s 10.244.0.0/16 -m comment --comment "skiff network agent" -j ACCEPT',
      '-A SKIFF-NETAGENT-FORWARD -d 10.244.0.0/16 -m comment --comment "skiff network agent" -j ACCEPT',
      'COMMIT',
      '*nat',
      ':SKIFF-NETAGENT-POSTROUTING - [0:0]',
      '-A SKIFF-NETAGENT-POSTROUTING -m mark --mark 0x4000/0x4000 -m comment --comment "skiff network agent" -j RETURN',
      '-A SKIFF-NETAGENT-POSTROUTING -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "skiff network agent" -j ACCEPT',
      '-A SKIFF-NETAGENT-POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -m comment --comment "skiff network agent" -j MASQUERADE',
      'COMMIT',
      '',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import type { ServicePortInfo } from '../backend.js';
import { buildRules, buildRulesStepwise, chainPrefixForCluster, largeClusterEndpointsThreshold, endpointChain, jumpRules, jumpRulesFor, listFirstChains, missingJumps, renderRestore, restoreParts, serviceChain, validChainPrefix } from './rules.js';

function sp(over: Partial<ServicePortInfo> = {}): ServicePortInfo {
  return {
    name: 'ns1/svc1:p80', namespace: 'ns1', service: 'svc1', portName: 'p80', protocol: 'TCP', clusterIP: '10.96.0.41', port: 80,
    nodePort: 0, affinitySeconds: 0, endpoints: [{ ip: '172.17.0.2', port: 8080 }, { ip: '172.17.0.3', port: 8080 }, { ip: '172.17.0.4', port: 8080 }],
    ...over,
  };
}

const svc = serviceChain('KUBE-SVC-', 'ns1/svc1:p80', 'TCP');
const sep = (ip: string) => endpointChain('ns1/svc1:p80', 'TCP', `${ip}:8080`);

describe('chain names', () => {
  it('are kube\'s sha256/base32 hashes of port name and protocol', () => {
    // Values from pkg/proxy/iptables/proxier_test.go (TestOverallIPTablesRules, ns1/svc1:p80 -> 10.180.0.1:80).
    expect(serviceChain('KUBE-SVC-', 'ns1/svc1:p80', 'TCP')).toBe('KUBE-SVC-XPGD46QRK7WJZT7O');
    expect(endpointChain('ns1/svc1:p80', 'TCP', '10.180.0.1:80')).toBe('KUBE-SEP-SXIVWICOYRO3J4NJ');
    expect(serviceChain('KUBE-SVC-', 'ns1/svc1:p80', 'UDP')).not.toBe(serviceChain('KUBE-SVC-', 'ns1/svc1:p80', 'TCP'));
  });
});

describe('buildRules', () => {
  it('writes the full rule set for a ClusterIP service with round robin in nth mode', () => {
    const text = renderRestore(buildRules([sp()]));
    expect(text).toBe([
      '*nat',
      '-S', // a full sync lists first (listFirstChains)
      ':KUBE-SERVICES - [0:0]',
      ':KUBE-NODEPORTS - [0:0]',
      ':KUBE-POSTROUTING - [0:0]',
      ':KUBE-MARK-MASQ - [0:0]',
      ':KUBE-PROXY-CANARY - [0:0]',
      `:${svc} - [0:0]`,
      `:${sep('172.17.0.2')} - [0:0]`,
      `:${sep('172.17.0.3')} - [0:0]`,
      `:${sep('172.17.0.4')} - [0:0]`,
      `-A ${svc} -m comment --comment "ns1/svc1:p80 -> 172.17.0.2:8080" -m statistic --mode nth --every 3 --packet 0 -j ${sep('172.17.0.2')}`,
      `-A ${svc} -m comment --comment "ns1/svc1:p80 -> 172.17.0.3:8080" -m statistic --mode nth --every 2 --packet 0 -j ${sep('172.17.0.3')}`,
      `-A ${svc} -m comment --comment "ns1/svc1:p80 -> 172.17.0.4:8080" -j ${sep('172.17.0.4')}`,
      `-A ${sep('172.17.0.2')} -m comment --comment ns1/svc1:p80 -s 172.17.0.2 -j KUBE-MARK-MASQ`,
      `-A ${sep('172.17.0.2')} -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 172.17.0.2:8080`,
      `-A ${sep('172.17.0.3')} -m comment --comment ns1/svc1:p80 -s 172.17.0.3 -j KUBE-MARK-MASQ`,
      `-A ${sep('172.17.0.3')} -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 172.17.0.3:8080`,
      `-A ${sep('172.17.0.4')} -m comment --comment ns1/svc1:p80 -s 172.17.0.4 -j KUBE-MARK-MASQ`,
      `-A ${sep('172.17.0.4')} -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 172.17.0.4:8080`,
      // The top-level chains' rules last: KUBE-SERVICES jumps to service chains declared above.
      `-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 10.96.0.41 --dport 80 -j ${svc}`,
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
      '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
      '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
      '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
      '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
      'COMMIT',
      '*filter',
      ':KUBE-SERVICES - [0:0]',
      ':KUBE-EXTERNAL-SERVICES - [0:0]',
      ':KUBE-NODEPORTS - [0:0]',
      ':KUBE-FORWARD - [0:0]',
      ':KUBE-FIREWALL - [0:0]',
      '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
      '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
      'COMMIT',
      '',
    ].join('\n'));
  });

  it('rejects a service without endpoints in filter KUBE-SERVICES and KUBE-EXTERNAL-SERVICES and writes no DNAT', () => {
    const rs = buildRules([sp({ endpoints: [], nodePort: 30080, protocol: 'UDP', name: 'ns1/dns' })]);
    expect(rs.filter.get('KUBE-SERVICES')).toEqual(['-A KUBE-SERVICES -m comment --comment "ns1/dns has no endpoints" -m udp -p udp -d 10.96.0.41 --dport 80 -j REJECT']);
    expect(rs.filter.get('KUBE-EXTERNAL-SERVICES')).toEqual(['-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/dns has no endpoints" -m addrtype --dst-type LOCAL -m udp -p udp --dport 30080 -j REJECT']);
    expect([...rs.nat.keys()].some((c) => /KUBE-(SVC|SEP|EXT)-/.test(c))).toBe(false);
    expect(rs.nat.get('KUBE-NODEPORTS')).toEqual([]);
  });

  it('sends NodePorts through a KUBE-EXT chain that masquerades', () => {
    const rs = buildRules([sp({ nodePort: 30080, endpoints: [{ ip: '172.17.0.2', port: 8080 }] })]);
    const ext = serviceChain('KUBE-EXT-', 'ns1/svc1:p80', 'TCP');
    expect(rs.nat.get('KUBE-NODEPORTS')).toEqual([`-A KUBE-NODEPORTS -m comment --comment ns1/svc1:p80 -m tcp -p tcp --dport 30080 -j ${ext}`]);
    expect(rs.nat.get(ext)).toEqual([
      `-A ${ext} -m comment --comment "masquerade traffic for ns1/svc1:p80 external destinations" -j KUBE-MARK-MASQ`,
      `-A ${ext} -j ${svc}`,
    ]);
    // One endpoint: no statistic match at all.
    expect(rs.nat.get(svc)).toEqual([`-A ${svc} -m comment --comment "ns1/svc1:p80 -> 172.17.0.2:8080" -j ${sep('172.17.0.2')}`]);
  });

  it('pins clients with the recent match when sessionAffinity is ClientIP', () => {
    const rs = buildRules([sp({ affinitySeconds: 600, endpoints: [{ ip: '172.17.0.2', port: 8080 }, { ip: '172.17.0.3', port: 8080 }] })]);
    const [a, b] = [sep('172.17.0.2'), sep('172.17.0.3')];
    expect(rs.nat.get(svc)).toEqual([
      `-A ${svc} -m comment --comment "ns1/svc1:p80 -> 172.17.0.2:8080" -m recent --name ${a} --rcheck --seconds 600 --reap -j ${a}`,
      `-A ${svc} -m comment --comment "ns1/svc1:p80 -> 172.17.0.3:8080" -m recent --name ${b} --rcheck --seconds 600 --reap -j ${b}`,
      `-A ${svc} -m comment --comment "ns1/svc1:p80 -> 172.17.0.2:8080" -m statistic --mode nth --every 2 --packet 0 -j ${a}`,
      `-A ${svc} -m comment --comment "ns1/svc1:p80 -> 172.17.0.3:8080" -j ${b}`,
    ]);
    expect(rs.nat.get(a)![1]).toBe(`-A ${a} -m comment --comment ns1/svc1:p80 -m recent --name ${a} --set -m tcp -p tcp -j DNAT --to-destination 172.17.0.2:8080`);
  });

  it('masquerades ClusterIP traffic from outside --cluster-cidr, or all with --masquerade-all', () => {
    expect(buildRules([sp()], { clusterCIDR: '172.17.0.0/16' }).nat.get(svc)![0])
      .toBe(`-A ${svc} -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 10.96.0.41 --dport 80 ! -s 172.17.0.0/16 -j KUBE-MARK-MASQ`);
    expect(buildRules([sp()], { masqueradeAll: true }).nat.get(svc)![0])
      .toBe(`-A ${svc} -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 10.96.0.41 --dport 80 -j KUBE-MARK-MASQ`);
  });

  it('limits NodePorts to --nodeport-addresses', () => {
    const rs = buildRules([], { nodePortAddresses: ['127.0.0.0/8', '192.168.1.0/24'] });
    expect(rs.nat.get('KUBE-SERVICES')).toEqual([
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 127.0.0.0/8 -j KUBE-NODEPORTS',
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 192.168.1.0/24 -j KUBE-NODEPORTS',
    ]);
  });
});

describe('renderRestore', () => {
  it('rewrites only changed chains and deletes stale ones in the same transaction, after the rules that jumped there', () => {
    const before = buildRules([sp(), sp({ name: 'ns1/svc2', clusterIP: '10.96.0.42' })]);
    const after = buildRules([sp({ endpoints: [{ ip: '172.17.0.2', port: 8080 }, { ip: '172.17.0.4', port: 8080 }] })]);
    const text = renderRestore(after, { previous: before });
    const svc2 = serviceChain('KUBE-SVC-', 'ns1/svc2', 'TCP');
    const svc2Seps = ['172.17.0.2', '172.17.0.3', '172.17.0.4'].map((ip) => endpointChain('ns1/svc2', 'TCP', `${ip}:8080`));
    const stale = [sep('172.17.0.3'), svc2, ...svc2Seps].sort();
    expect(text).toBe([
      '*nat',
      ':KUBE-SERVICES - [0:0]',
      `:${svc} - [0:0]`,
      ...after.nat.get(svc)!,
      ...after.nat.get('KUBE-SERVICES')!,
      ...stale.map((c) => `:${c} - [0:0]`),
      ...stale.map((c) => `-X ${c}`),
      'COMMIT',
      '',
    ].join('\n'));
    // The unchanged endpoint chains keep their rules (and the service chain its nth counters, when unchanged).
    expect(text).not.toContain(`:${sep('172.17.0.2')} `);
    expect(renderRestore(after, { previous: after })).toBe('');
  });

  it('removes service chains the kernel holds from an earlier run on a full sync', () => {
    const text = renderRestore(buildRules([]), { existing: { filter: ['KUBE-SERVICES'], nat: ['KUBE-SERVICES', 'KUBE-SVC-OLDOLDOLDOLDOLD1', 'KUBE-MARK-MASQ'] } });
    expect(text).toContain(':KUBE-SVC-OLDOLDOLDOLDOLD1 - [0:0]\n');
    expect(text).toContain('\n-X KUBE-SVC-OLDOLDOLDOLDOLD1\nCOMMIT\n');
    expect(text).not.toContain('-X KUBE-MARK-MASQ');
  });

  it('starts a full sync\'s nat block and any block of many chains with a chainless -S (iptables-nft then skips its per-chain list), small partial ones without', () => {
    const many = Array.from({ length: Math.ceil(listFirstChains / 4) }, (_, i) => sp({ name: `ns1/svc${i}`, clusterIP: `10.96.1.${i % 250}` }));
    const full = renderRestore(buildRules(many)).split('\n');
    expect(full.slice(full.indexOf('*nat'), full.indexOf('*nat') + 3)).toEqual(['*nat', '-S', ':KUBE-SERVICES - [0:0]']);
    expect(full.filter((l) => l === '-S')).toHaveLength(1); // filter's five chains go without
    const lists = (text: string) => text.split('\n').includes('-S');
    // A full sync learns how many stale chains it deletes only after writing its rules: it lists whatever its size.
    expect(renderRestore(buildRules([sp()])).split('\n').slice(0, 2)).toEqual(['*nat', '-S']);
    const partialOfMany = renderRestore(buildRules([sp()]), { previous: buildRules(many) });
    expect(partialOfMany.split('\n').slice(0, 2)).toEqual(['*nat', '-S']); // deletes many stale chains
    expect(lists(renderRestore(buildRules(many), { listFirstChains: Infinity }))).toBe(false);
    // A partial sync after one endpoint change declares a handful of chains: no listing of the whole table.
    const fewer = many.map((x, i) => (i === 3 ? { ...x, endpoints: x.endpoints.slice(1) } : x));
    const partial = renderRestore(buildRules(fewer), { previous: buildRules(many) });
    expect(partial).toContain('*nat');
    expect(lists(partial)).toBe(false);
  });

  it('splits a full sync so that the head needs nothing from the kernel and head + tail is renderRestore\'s text', () => {
    const many = Array.from({ length: 300 }, (_, i) => sp({ name: `ns1/svc${i}`, clusterIP: `10.96.1.${i % 250}` }));
    const rs = buildRules(many);
    const late = { existing: { filter: [], nat: ['KUBE-SVC-OLDOLDOLDOLDOLD1', 'KUBE-SERVICES'] }, jumps: jumpRules };
    const parts = restoreParts(rs);
    const chunks = [...parts.head];
    expect(chunks.length).toBeGreaterThan(1); // streamed in pieces, not one string at the end
    const head = chunks.join('');
    expect(head).not.toContain('COMMIT');
    expect(head).not.toContain('OLDOLD');
    const tail = parts.tail(late);
    expect(tail.startsWith(':KUBE-SVC-OLDOLDOLDOLDOLD1 - [0:0]\n-X KUBE-SVC-OLDOLDOLDOLDOLD1\nCOMMIT\n*filter\n')).toBe(true);
    expect(head + tail).toBe(renderRestore(rs, late));
    // Each line whole within its chunk: iptables-restore reads lines, but a chunk boundary must not be what splits them.
    expect(chunks.every((c) => c.endsWith('\n'))).toBe(true);
  });

  it('streams a stepwise build: the first chunk comes before the last service is built, every jump follows its target\'s declaration', () => {
    const many = Array.from({ length: 1200 }, (_, i) => sp({ name: `ns1/svc${i}`, clusterIP: `10.96.${Math.floor(i / 250)}.${i % 250}`, nodePort: i % 3 ? 0 : 30000 + i }));
    const whole = buildRules(many);
    const b = buildRulesStepwise(many);
    const parts = restoreParts(b.rules, {}, b.steps);
    const it = parts.head[Symbol.iterator]();
    const first = it.next();
    expect(first.done).toBe(false);
    expect(b.rules.nat.size).toBeLessThan(whole.nat.size);
    let head = first.value as string;
    for (let r = it.next(); !r.done; r = it.next()) head += r.value;
    const text = head + parts.tail({ existing: { filter: [], nat: [] } });
    expect(b.rules).toEqual(whole);
    // The same lines as the one-piece rendering, in another order.
    expect(text.split('\n').sort()).toEqual(renderRestore(whole, { existing: { filter: [], nat: [] } }).split('\n').sort());
    const declared = new Set<string>();
    for (const line of text.split('\n')) {
      if (line.startsWith(':')) declared.add(line.slice(1).split(' ')[0]);
      const target = / -j (KUBE-\S+)/.exec(line)?.[1];
      if (target) expect(declared.has(target), line).toBe(true);
    }
  });

  it('inserts only the jumps an iptables-save lacks, in jumpRules order at the top, after our chains', () => {
    const save = [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
      // Same target, other comment: someone else's rule, not ours.
      '-A OUTPUT -m comment --comment "something else" -j KUBE-SERVICES',
      'COMMIT',
      '*filter',
      '-A INPUT -j KUBE-FIREWALL',
      'COMMIT',
    ].join('\n');
    const missing = missingJumps(save);
    expect(missing).toHaveLength(jumpRules.length - 2);
    expect(missing.some((j) => j.table === 'nat' && j.chain === 'PREROUTING')).toBe(false);
    expect(missing.some((j) => j.table === 'filter' && j.chain === 'INPUT' && j.args.join(' ') === '-j KUBE-FIREWALL')).toBe(false);
    expect(missing.some((j) => j.table === 'nat' && j.chain === 'OUTPUT')).toBe(true);
    const lines = renderRestore(buildRules([sp()]), { jumps: missing }).split('\n');
    // The chains' blocks first, then one block of jumps per table.
    expect(lines.filter((l) => l.startsWith('*'))).toEqual(['*nat', '*filter', '*filter', '*nat']);
    const nat = lines.slice(lines.lastIndexOf('*nat'));
    expect(nat.filter((l) => l.startsWith('-I '))).toEqual([
      '-I POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
      '-I OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    ]);
    const filter = lines.slice(lines.lastIndexOf('*filter'), lines.lastIndexOf('*nat'));
    expect(filter.filter((l) => l.startsWith('-I INPUT'))).toEqual([
      '-I INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
      '-I INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    ]);
    // Together, what was there and what was inserted are every jump, once.
    expect(missingJumps(save + '\n' + lines.join('\n').replace(/^-I (\S+) /gm, '-A $1 '))).toEqual([]);
  });
});

describe('chain prefix (clusters sharing one kernel)', () => {
  it('names every chain and jump with the prefix, keeping kube\'s hashes', () => {
    const rs = buildRules([sp({ nodePort: 30080 })], { chainPrefix: 'KT42' });
    const chains = [...rs.filter.keys(), ...rs.nat.keys()];
    expect(chains.every((c) => c.startsWith('KT42-'))).toBe(true);
    expect(chains).toContain('KT42-SVC-XPGD46QRK7WJZT7O');
    expect(chains).toContain('KT42-PROXY-CANARY');
    const text = renderRestore(rs);
    expect(text).not.toMatch(/KUBE-/);
    expect(jumpRulesFor('KT42').every((j) => j.args[j.args.length - 1].startsWith('KT42-'))).toBe(true);
    // Another cluster's jumps do not count as ours.
    expect(missingJumps(jumpRules.map((j) => `-A ${j.chain} ${j.args.join(' ')}`).join('\n'), jumpRulesFor('KT42'))).toHaveLength(jumpRules.length);
  });

  it('deletes only its own stale service chains on a full sync', () => {
    const text = renderRestore(buildRules([], { chainPrefix: 'KT42' }), { existing: { filter: [], nat: ['KT42-SVC-OLDOLDOLDOLDOLD1', 'KUBE-SVC-OTHERCLUSTER00001', 'KT7-SEP-OTHERCLUSTER00001'] } });
    expect(text).toContain('-X KT42-SVC-OLDOLDOLDOLDOLD1\n');
    expect(text).not.toContain('OTHERCLUSTER');
  });

  it('gives the default cluster kube\'s names and others a short distinct prefix within iptables\' 28 characters', () => {
    expect(chainPrefixForCluster('skiff')).toBe('KUBE');
    const a = chainPrefixForCluster('t1234');
    const b = chainPrefixForCluster('t1235');
    expect(a).not.toBe(b);
    for (const p of [a, b]) {
      expect(validChainPrefix(p)).toBe(true);
      const longest = [...buildRules([sp({ nodePort: 30080 })], { chainPrefix: p }).nat.keys(), ...buildRules([], { chainPrefix: p }).filter.keys()].reduce((m, c) => Math.max(m, c.length), 0);
      expect(longest).toBeLessThanOrEqual(28);
    }
    expect(validChainPrefix('KUBE')).toBe(true);
    expect(validChainPrefix('kube')).toBe(false);
    expect(validChainPrefix('KUBERNETES')).toBe(false);
    expect(validChainPrefix('')).toBe(false);
  });
});

describe('large cluster mode', () => {
  const many = (total: number) => Array.from({ length: total / 10 }, (_, i) => sp({
    name: `ns1/svc${i}`, clusterIP: `10.96.${Math.floor(i / 250)}.${i % 250}`,
    endpoints: Array.from({ length: 10 }, (_, e) => ({ ip: `172.18.${i % 250}.${e + 1}`, port: 8080 })),
  }));

  it('drops the comments of per-endpoint rules past 1,000 endpoints, as kube does, and keeps the others', () => {
    const big = buildRules(many(largeClusterEndpointsThreshold + 10));
    const svc0 = serviceChain('KUBE-SVC-', 'ns1/svc0', 'TCP');
    const sep0 = endpointChain('ns1/svc0', 'TCP', '172.18.0.1:8080');
    expect(big.nat.get(svc0)![0]).toBe(`-A ${svc0} -m statistic --mode nth --every 10 --packet 0 -j ${sep0}`);
    expect(big.nat.get(sep0)).toEqual([`-A ${sep0} -s 172.18.0.1 -j KUBE-MARK-MASQ`, `-A ${sep0} -m tcp -p tcp -j DNAT --to-destination 172.18.0.1:8080`]);
    expect(big.nat.get('KUBE-SERVICES')![0]).toContain('--comment "ns1/svc0 cluster IP"');

    const small = buildRules(many(largeClusterEndpointsThreshold));
    expect(small.nat.get(svc0)![0]).toContain('--comment "ns1/svc0 -> 172.18.0.1:8080"');
    expect(small.nat.get(sep0)![0]).toContain('--comment ns1/svc0');
  });
});

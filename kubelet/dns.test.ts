import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Pod } from '../api/types.js';
import { DnsConfigurer, formatResolvConf, parseResolvConf } from './dns.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });

function hostFile(text: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kubelet-dns-'));
  dirs.push(d);
  fs.writeFileSync(path.join(d, 'resolv.conf'), text);
  return path.join(d, 'resolv.conf');
}

const pod = (spec: Partial<Pod['spec']> & { dnsConfig?: unknown } = {}): Pod => ({ metadata: { name: 'p', namespace: 'ns1', uid: 'u1' }, spec: { containers: [{ name: 'c' }], ...spec } as Pod['spec'] });

function events() {
  const got: string[] = [];
  return { got, recorder: { event: (_o: unknown, type: string, reason: string, msg: string) => got.push(`${type} ${reason} ${msg}`) } as never };
}

describe('kubelet pod DNS (GetPodDNS)', () => {
  const host = () => hostFile('# host\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example lab.example\noptions rotate timeout:2\n');

  it('ClusterFirst: the cluster DNS only, kube\'s search list then the host\'s, ndots:5, in containerd\'s layout', () => {
    const d = new DnsConfigurer({ clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', resolvConf: host() });
    expect(formatResolvConf(d.podDNS(pod()))).toBe(
      'search ns1.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
  });

  it('Default, and ClusterFirst on the host network: the host\'s file; ClusterFirstWithHostNet: the cluster DNS', () => {
    const d = new DnsConfigurer({ clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', resolvConf: host() });
    const hostText = 'search corp.example lab.example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions rotate timeout:2\n';
    expect(formatResolvConf(d.podDNS(pod({ dnsPolicy: 'Default' })))).toBe(hostText);
    expect(formatResolvConf(d.podDNS(pod({ dnsPolicy: 'ClusterFirst', hostNetwork: true })))).toBe(hostText);
    expect(d.podDNS(pod({ dnsPolicy: 'ClusterFirstWithHostNet', hostNetwork: true })).servers).toEqual(['10.96.0.10']);
  });

  it('None: only the pod\'s dnsConfig; dnsConfig merges into the others, options replaced by name', () => {
    const d = new DnsConfigurer({ clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', resolvConf: host() });
    const none = d.podDNS(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.2.3.4'], searches: ['a.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } }));
    expect(formatResolvConf(none)).toBe('search a.example\nnameserver 1.2.3.4\noptions ndots:2 edns0\n');
    const merged = d.podDNS(pod({ dnsConfig: { nameservers: ['10.96.0.10', '1.2.3.4'], searches: ['ns1.svc.cluster.local', 'x.example'], options: [{ name: 'ndots', value: '1' }, { name: 'single-request' }] } }));
    expect(merged).toEqual({
      servers: ['10.96.0.10', '1.2.3.4'],
      searches: ['ns1.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example', 'lab.example', 'x.example'],
      options: ['ndots:1', 'single-request'],
    });
  });

  it('applies kube\'s limits: 3 nameservers, 32 search paths, none over 253 characters, the line within 2048, with DNSConfigForming events', () => {
    const ev = events();
    const d = new DnsConfigurer({ clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', resolvConf: '', recorder: ev.recorder });
    const many = Array.from({ length: 40 }, (_, i) => `s${i}.example`);
    const c = d.podDNS(pod({ dnsConfig: { nameservers: ['1.1.1.1', '2.2.2.2', '3.3.3.3'], searches: many } }));
    expect(c.servers).toEqual(['10.96.0.10', '1.1.1.1', '2.2.2.2']);
    expect(c.searches).toHaveLength(32);
    expect(ev.got.some((e) => e.startsWith('Warning DNSConfigForming Nameserver limits were exceeded'))).toBe(true);
    expect(ev.got.some((e) => e.startsWith('Warning DNSConfigForming Search Line limits were exceeded'))).toBe(true);

    const long = Array.from({ length: 20 }, (_, i) => `${String(i).padStart(2, '0')}${'x'.repeat(150)}.example`);
    const c2 = d.podDNS(pod({ dnsConfig: { searches: ['y'.repeat(254), ...long] } }));
    expect(c2.searches.includes('y'.repeat(254))).toBe(false);
    expect(c2.searches.join(' ').length).toBeLessThanOrEqual(2048);
    expect(c2.searches.slice(0, 3)).toEqual(['ns1.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
  });

  it('without --cluster-dns falls back to Default with a MissingClusterDNS event; without --resolv-conf Default is localhost with search "."', () => {
    const ev = events();
    const d = new DnsConfigurer({ clusterDNS: [], clusterDomain: 'cluster.local', resolvConf: '', nodeIPs: ['127.0.0.1'], recorder: ev.recorder });
    expect(formatResolvConf(d.podDNS(pod()))).toBe('search .\nnameserver 127.0.0.1\n');
    expect(ev.got[0]).toMatch(/^Warning MissingClusterDNS pod: "p_ns1\(u1\)"\. kubelet does not have ClusterDNS IP configured/);
  });

  it('writes the pod\'s file once and mounts it over /etc/resolv.conf', () => {
    const d = new DnsConfigurer({ clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', resolvConf: '' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubelet-pod-'));
    dirs.push(dir);
    const m = d.mount(pod(), path.join(dir, 'pods', 'u1'));
    expect(m).toEqual({ hostPath: path.join(dir, 'pods', 'u1', 'etc-resolv.conf'), containerPath: '/etc/resolv.conf' });
    expect(fs.readFileSync(m.hostPath, 'utf8')).toBe('search ns1.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');
    const ino = fs.statSync(m.hostPath).ino;
    d.mount(pod(), path.join(dir, 'pods', 'u1'));
    expect(fs.statSync(m.hostPath).ino).toBe(ino);
  });

  it('parses a resolv.conf as the resolver does: last search line wins, comments dropped', () => {
    expect(parseResolvConf('search a b\n; c\nsearch c.\nnameserver 10.0.0.1 # x\noptions ndots:1\noptions edns0\n')).toEqual({ servers: ['10.0.0.1'], searches: ['c'], options: ['ndots:1', 'edns0'] });
  });
});

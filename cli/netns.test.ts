import { describe, expect, it } from 'vitest';
import { cidrsOverlap, defaultNodeMode, engineComponent, netnsLayout } from './netns.js';

const base = { cluster: 'skiff', home: '/h', lanCidr: '10.250.0.0/24', nodes: ['skiff-node-1', 'skiff-node-2', 'skiff-node-3'], clusterCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' };

describe('netnsLayout', () => {
  it('gives the bridge the first address and each node the next, with names that fit an interface', () => {
    const l = netnsLayout(base);
    expect(l.gateway).toBe('10.250.0.1');
    expect(l.nodes.map((n) => n.ip)).toEqual(['10.250.0.2', '10.250.0.3', '10.250.0.4']);
    expect(l.nodes.map((n) => n.netns)).toEqual(['skiff-skiff-node-1', 'skiff-skiff-node-2', 'skiff-skiff-node-3']);
    for (const name of [l.bridge, ...l.nodes.map((n) => n.hostVeth)]) {
      expect(name.length).toBeLessThanOrEqual(15);
      expect(l.linkPrefixes.some((p) => name.startsWith(p))).toBe(true);
    }
    expect(new Set(l.nodes.map((n) => n.engine.socket)).size).toBe(3);
    // unix socket paths are at most 107 bytes; containerd's live under the exec root.
    for (const n of l.nodes) expect(`${n.engine.execRoot}/containerd/containerd.sock`.length).toBeLessThan(100);
  });

  it('keeps two clusters apart by name', () => {
    const a = netnsLayout(base);
    const b = netnsLayout({ ...base, cluster: 'other', nodes: ['other-node-1'] });
    expect(a.bridge).not.toBe(b.bridge);
    expect(a.nodes[0].hostVeth).not.toBe(b.nodes[0].hostVeth);
    expect(a.nodes[0].engine.execRoot).not.toBe(b.nodes[0].engine.execRoot);
  });

  it('refuses a LAN that is public, overlaps the pod or service range, or is too small', () => {
    expect(() => netnsLayout({ ...base, lanCidr: '8.8.8.0/24' })).toThrow(/not private/);
    expect(() => netnsLayout({ ...base, lanCidr: '10.244.5.0/24' })).toThrow(/overlaps --cluster-cidr/);
    expect(() => netnsLayout({ ...base, lanCidr: '10.96.0.0/24' })).toThrow(/overlaps --service-cluster-ip-range/);
    expect(() => netnsLayout({ ...base, lanCidr: '10.250.0.0/30' })).toThrow(/room for 1 nodes, not 3/);
    expect(() => netnsLayout({ ...base, lanCidr: '10.250.0.1/24' })).toThrow(/host bits/);
  });
});

describe('node mode and engine', () => {
  it('defaults to netns for more than one node', () => {
    expect(defaultNodeMode(1)).toBe('shared');
    expect(defaultNodeMode(3)).toBe('netns');
  });
  it('overlaps', () => {
    expect(cidrsOverlap('10.0.0.0/8', '10.250.0.0/24')).toBe(true);
    expect(cidrsOverlap('10.250.0.0/24', '10.250.1.0/24')).toBe(false);
  });
  it('starts dockerd in the node namespace with roots, socket, pidfile and cgroup parent of its own', () => {
    const [n] = netnsLayout(base).nodes;
    const c = engineComponent(n, '/h/logs');
    expect(c.cmd).toBe('nsenter');
    expect(c.args.slice(0, 2)).toEqual(['--net=/run/netns/skiff-skiff-node-1', 'dockerd']);
    for (const f of [`--data-root=${n.engine.dataRoot}`, `--exec-root=${n.engine.execRoot}`, `--pidfile=${n.engine.pidfile}`, `--host=unix://${n.engine.socket}`, `--cgroup-parent=skiff-skiff-node-1`, `--config-file=${n.engine.configFile}`]) {
      expect(c.args).toContain(f);
    }
  });
});

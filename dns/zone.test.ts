import { afterEach, describe, expect, it } from 'vitest';
import { R } from '../api/resources.js';
import type { EndpointSlice, KubeObject, Service } from '../api/types.js';
import { FakeClient } from '../client/fake.js';
import { SharedInformerFactory } from '../client/informer.js';
import { reverseName, zoneFromInformers } from './zone.js';

const factories: SharedInformerFactory[] = [];
afterEach(() => { for (const f of factories.splice(0)) f.stop(); });

const ns = (name: string): KubeObject => ({ metadata: { name } });
const svc = (name: string, spec: Service['spec'], namespace = 'default'): Service => ({ metadata: { name, namespace }, spec });
const slice = (name: string, service: string, endpoints: EndpointSlice['endpoints'], ports: EndpointSlice['ports'], namespace = 'default'): EndpointSlice => ({
  metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service } }, addressType: 'IPv4', endpoints, ports,
});

async function setup(): Promise<{ fake: FakeClient; zone: ReturnType<typeof zoneFromInformers>; f: SharedInformerFactory }> {
  const fake = new FakeClient(
    [R.namespaces, ns('default')], [R.namespaces, ns('db')],
    [R.services, svc('web', { clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] })],
    [R.services, svc('pg', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] }, 'db')],
    [R.services, svc('empty', { clusterIP: 'None', ports: [{ port: 80 }] })],
    [R.services, svc('ext', { type: 'ExternalName', externalName: 'db.example.org' })],
    [R.services, svc('v6', { clusterIP: 'fd00::a', clusterIPs: ['fd00::a'], ports: [{ port: 80 }] })],
    [R.endpointslices, slice('pg-abc', 'pg', [
      { addresses: ['10.1.0.5'], hostname: 'pg-0', conditions: { ready: true } },
      { addresses: ['10.1.0.6'], hostname: 'pg-1' },
      { addresses: ['10.1.0.7'], hostname: 'pg-2', conditions: { ready: false } },
      { addresses: ['10.1.0.8'] },
    ], [{ name: 'pg', port: 5432, protocol: 'TCP' }], 'db')],
    [R.endpointslices, slice('web-1', 'web', [{ addresses: ['10.1.0.9'] }], [{ name: 'http', port: 8080, protocol: 'TCP' }])],
  );
  const f = new SharedInformerFactory(fake);
  factories.push(f);
  const zone = zoneFromInformers(f, 'cluster.local');
  f.start();
  await f.waitForCacheSync();
  return { fake, zone, f };
}

const data = (r: { answers: { type: string; data?: unknown }[] }) => r.answers.map((a) => `${a.type} ${typeof a.data === 'object' ? JSON.stringify(a.data) : a.data}`);

describe('ClusterZone (CoreDNS kubernetes plugin semantics)', () => {
  it('answers a ClusterIP Service with its ClusterIP, TTL 5, in the case asked', async () => {
    const { zone } = await setup();
    const r = zone.lookup('Web.Default.svc.cluster.local.', 'A');
    expect(r.rcode).toBe('NOERROR');
    expect(r.answers).toEqual([{ name: 'Web.Default.svc.cluster.local', type: 'A', ttl: 5, class: 'IN', data: '10.96.0.20' }]);
    expect(data(zone.lookup('v6.default.svc.cluster.local', 'AAAA'))).toEqual(['AAAA fd00::a']);
  });

  it('is NODATA (NOERROR, no answer, the SOA) for a name that exists without the type, NXDOMAIN for one that does not', async () => {
    const { zone } = await setup();
    const nodata = zone.lookup('web.default.svc.cluster.local', 'AAAA');
    expect(nodata.rcode).toBe('NOERROR');
    expect(nodata.answers).toEqual([]);
    expect(nodata.authorities[0]).toMatchObject({ type: 'SOA', name: 'cluster.local', data: { mname: 'ns.dns.cluster.local', minimum: 5 } });
    for (const n of ['nope.default.svc.cluster.local', 'web.nons.svc.cluster.local', 'a.b.web.default.svc.cluster.local', 'x.cluster.local', 'nons.svc.cluster.local']) {
      const r = zone.lookup(n, 'A');
      expect(r.rcode, n).toBe('NXDOMAIN');
      expect(r.authorities[0].type).toBe('SOA');
    }
    // Empty non-terminals exist.
    expect(zone.lookup('default.svc.cluster.local', 'A').rcode).toBe('NOERROR');
    expect(zone.lookup('svc.cluster.local', 'A').rcode).toBe('NOERROR');
    expect(data(zone.lookup('cluster.local', 'SOA'))[0]).toMatch(/^SOA /);
  });

  it('answers a headless Service with its ready endpoints only, and NXDOMAIN with none', async () => {
    const { zone } = await setup();
    expect(data(zone.lookup('pg.db.svc.cluster.local', 'A')).sort()).toEqual(['A 10.1.0.5', 'A 10.1.0.6', 'A 10.1.0.8']);
    expect(zone.lookup('empty.default.svc.cluster.local', 'A').rcode).toBe('NXDOMAIN');
  });

  it('answers StatefulSet-shaped names <hostname>.<svc>.<ns>.svc and dashed-address endpoint names', async () => {
    const { zone } = await setup();
    expect(data(zone.lookup('pg-1.pg.db.svc.cluster.local', 'A'))).toEqual(['A 10.1.0.6']);
    expect(data(zone.lookup('10-1-0-8.pg.db.svc.cluster.local', 'A'))).toEqual(['A 10.1.0.8']);
    // Not ready: no name.
    expect(zone.lookup('pg-2.pg.db.svc.cluster.local', 'A').rcode).toBe('NXDOMAIN');
  });

  it('answers SRV for named ports: the Service name for a ClusterIP one, each endpoint for a headless one, with additionals', async () => {
    const { zone } = await setup();
    const r = zone.lookup('_http._tcp.web.default.svc.cluster.local', 'SRV');
    expect(data(r)).toEqual(['SRV {"priority":0,"weight":100,"port":80,"target":"web.default.svc.cluster.local"}']);
    expect(r.additionals).toMatchObject([{ name: 'web.default.svc.cluster.local', type: 'A', data: '10.96.0.20' }]);
    expect(data(zone.lookup('_dns._udp.web.default.svc.cluster.local', 'SRV'))).toEqual(['SRV {"priority":0,"weight":100,"port":53,"target":"web.default.svc.cluster.local"}']);
    const h = zone.lookup('_pg._tcp.pg.db.svc.cluster.local', 'SRV');
    expect(h.answers.map((a) => ((a as { data: unknown }).data as { target: string; port: number; weight: number }))).toEqual([
      { priority: 0, weight: 33, port: 5432, target: 'pg-0.pg.db.svc.cluster.local' },
      { priority: 0, weight: 33, port: 5432, target: 'pg-1.pg.db.svc.cluster.local' },
      { priority: 0, weight: 33, port: 5432, target: '10-1-0-8.pg.db.svc.cluster.local' },
    ]);
    expect(h.additionals.map((a) => `${a.name} ${(a as { data: unknown }).data}`)).toContain('pg-0.pg.db.svc.cluster.local 10.1.0.5');
    expect(zone.lookup('_nope._tcp.web.default.svc.cluster.local', 'SRV').rcode).toBe('NXDOMAIN');
    expect(zone.lookup('_http._udp.web.default.svc.cluster.local', 'SRV').rcode).toBe('NXDOMAIN');
    // The port exists: other types are NODATA.
    const a = zone.lookup('_http._tcp.web.default.svc.cluster.local', 'A');
    expect([a.rcode, a.answers.length]).toEqual(['NOERROR', 0]);
  });

  it('answers ExternalName with a CNAME', async () => {
    const { zone } = await setup();
    expect(zone.lookup('ext.default.svc.cluster.local', 'A').answers).toEqual([{ name: 'ext.default.svc.cluster.local', type: 'CNAME', ttl: 5, class: 'IN', data: 'db.example.org' }]);
  });

  it('answers pod names 1-2-3-4.<ns>.pod (pods insecure) in existing namespaces only', async () => {
    const { zone } = await setup();
    expect(data(zone.lookup('10-1-0-77.default.pod.cluster.local', 'A'))).toEqual(['A 10.1.0.77']);
    expect(zone.lookup('10-1-0-77.nons.pod.cluster.local', 'A').rcode).toBe('NXDOMAIN');
    expect(zone.lookup('not-an-ip.default.pod.cluster.local', 'A').rcode).toBe('NXDOMAIN');
  });

  it('answers PTR for ClusterIPs and endpoint addresses; other addresses are not ours', async () => {
    const { zone } = await setup();
    expect(reverseName('10.96.0.20')).toBe('20.0.96.10.in-addr.arpa');
    expect(data(zone.lookup('20.0.96.10.in-addr.arpa', 'PTR'))).toEqual(['PTR web.default.svc.cluster.local']);
    expect(data(zone.lookup(reverseName('10.1.0.5'), 'PTR'))).toEqual(['PTR pg-0.pg.db.svc.cluster.local']);
    expect(data(zone.lookup(reverseName('10.1.0.9'), 'PTR'))).toEqual(['PTR 10-1-0-9.web.default.svc.cluster.local']);
    expect(data(zone.lookup(reverseName('fd00::a'), 'PTR'))).toEqual(['PTR v6.default.svc.cluster.local']);
    expect(zone.lookup(reverseName('192.0.2.1'), 'PTR').outOfZone).toBe(true);
  });

  it('follows Services and EndpointSlices as they change; names outside the zone are refused', async () => {
    const { fake, zone } = await setup();
    await fake.resource<Service>(R.services, 'default').create(svc('late', { clusterIP: '10.96.0.30', ports: [{ port: 80 }] }));
    await expect.poll(() => data(zone.lookup('late.default.svc.cluster.local', 'A'))).toEqual(['A 10.96.0.30']);
    await expect.poll(() => data(zone.lookup(reverseName('10.96.0.30'), 'PTR'))).toEqual(['PTR late.default.svc.cluster.local']);
    await fake.resource(R.services, 'default').delete('late');
    await expect.poll(() => zone.lookup('late.default.svc.cluster.local', 'A').rcode).toBe('NXDOMAIN');
    await fake.resource(R.endpointslices, 'db').delete('pg-abc');
    await expect.poll(() => zone.lookup('pg.db.svc.cluster.local', 'A').rcode).toBe('NXDOMAIN');
    const out = zone.lookup('example.org', 'A');
    expect([out.rcode, out.outOfZone]).toEqual(['REFUSED', true]);
  });
});

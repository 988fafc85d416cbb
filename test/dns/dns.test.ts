// The cluster DNS process against a real API server, as its own identity
// (system:coredns through RBAC), queried over UDP and TCP on loopback.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { Endpoints, EndpointSlice, Service } from '../../api/types.js';
import { ensureDnsService } from '../../dns/service.js';
import { RestClient } from '../../client/rest.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { waitFor } from '../util/ports.js';
import { startDns, type DnsProcess } from './process.js';
import { tcpQuery, udpQuery } from './client.js';

let api: ApiServerProcess;
let dns: DnsProcess;
let client: RestClient;

beforeAll(async () => {
  api = await startApiServer();
  client = new RestClient(api.admin, { component: 'test' });
  dns = await startDns(api.url);
}, 60_000);

afterAll(async () => {
  await dns?.stop();
  client?.close();
  await api?.stop();
});

describe('cluster DNS process', () => {
  it('resolves a Service created after start over UDP and TCP, and NXDOMAIN once it is deleted', async () => {
    const name = 'web.default.svc.cluster.local';
    expect((await udpQuery(dns.port, name)).rcode).toBe('NXDOMAIN');
    const svc = await client.resource<Service>(R.services, 'default').create({ metadata: { name: 'web' }, spec: { ports: [{ name: 'http', port: 80 }], selector: { app: 'web' } } });
    const ip = svc.spec.clusterIP!;
    const got = await waitFor('web resolves', async () => {
      const r = await udpQuery(dns.port, name);
      return r.rcode === 'NOERROR' && r.answers?.length ? r : undefined;
    }, 10_000);
    expect(got.answers).toMatchObject([{ name, type: 'A', ttl: 5, data: ip }]);
    expect(got.flag_aa).toBe(true);
    expect((await tcpQuery(dns.port, name)).answers).toMatchObject([{ type: 'A', data: ip }]);
    expect((await udpQuery(dns.port, '_http._tcp.web.default.svc.cluster.local', 'SRV')).answers).toMatchObject([{ type: 'SRV', data: { port: 80, target: name } }]);
    const reverse = `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
    expect((await udpQuery(dns.port, reverse, 'PTR')).answers).toMatchObject([{ type: 'PTR', data: name }]);
    // NODATA: the name exists, without an AAAA.
    const aaaa = await udpQuery(dns.port, name, 'AAAA');
    expect([aaaa.rcode, aaaa.answers?.length, aaaa.authorities?.[0]?.type]).toEqual(['NOERROR', 0, 'SOA']);

    await client.resource(R.services, 'default').delete('web');
    await waitFor('web is NXDOMAIN', async () => (await udpQuery(dns.port, name)).rcode === 'NXDOMAIN', 10_000);
  });

  it('answers a headless Service with its ready EndpointSlice addresses and StatefulSet-style names', async () => {
    await client.resource<Service>(R.services, 'default').create({ metadata: { name: 'db' }, spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] } });
    await client.resource<EndpointSlice>(R.endpointslices, 'default').create({
      metadata: { name: 'db-x', labels: { 'kubernetes.io/service-name': 'db' } }, addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.0.5'], hostname: 'db-0', conditions: { ready: true } }, { addresses: ['10.244.0.6'], hostname: 'db-1', conditions: { ready: false } }],
      ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    });
    const r = await waitFor('db resolves', async () => {
      const q = await udpQuery(dns.port, 'db.default.svc.cluster.local');
      return q.answers?.length ? q : undefined;
    }, 10_000);
    expect(r.answers!.map((a) => (a as { data: unknown }).data)).toEqual(['10.244.0.5']);
    expect((await udpQuery(dns.port, 'db-0.db.default.svc.cluster.local')).answers).toMatchObject([{ data: '10.244.0.5' }]);
    expect((await udpQuery(dns.port, 'db-1.db.default.svc.cluster.local')).rcode).toBe('NXDOMAIN');
    expect((await udpQuery(dns.port, '_pg._tcp.db.default.svc.cluster.local', 'SRV')).answers).toMatchObject([{ data: { port: 5432, target: 'db-0.db.default.svc.cluster.local' } }]);
  });

  it('refuses names outside the cluster at once (no upstream: nothing leaves the machine)', async () => {
    const r = await udpQuery(dns.port, 'example.com');
    expect(r.rcode).toBe('REFUSED');
    const metrics = await (await fetch(`http://127.0.0.1:${dns.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/coredns_dns_requests_total\{[^}]*proto="udp"[^}]*\} [1-9]/);
  });

  it('skiff up\'s kube-dns Service: kube-system, the 10th address, ports 53/UDP, 53/TCP, 9153/TCP, Endpoints at the DNS process; a second up converges', async () => {
    await ensureDnsService(client, { clusterIP: '10.96.0.10', address: '127.0.0.1', port: dns.port, metricsPort: dns.metricsPort });
    await ensureDnsService(client, { clusterIP: '10.96.0.10', address: '127.0.0.1', port: dns.port + 1, metricsPort: dns.metricsPort });
    const svc = await client.resource<Service>(R.services, 'kube-system').get('kube-dns');
    expect(svc.spec.clusterIP).toBe('10.96.0.10');
    expect(svc.spec.ports!.map((p) => `${p.name} ${p.port}/${p.protocol}`)).toEqual(['dns 53/UDP', 'dns-tcp 53/TCP', 'metrics 9153/TCP']);
    const ep = await client.resource<Endpoints>(R.endpoints, 'kube-system').get('kube-dns');
    expect(ep.subsets).toMatchObject([{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'dns', port: dns.port + 1, protocol: 'UDP' }, { name: 'dns-tcp', port: dns.port + 1 }, { name: 'metrics', port: dns.metricsPort }] }]);
    // And the DNS answers for itself.
    await waitFor('kube-dns resolves', async () => (await udpQuery(dns.port, 'kube-dns.kube-system.svc.cluster.local')).answers?.length, 10_000);
  });
});

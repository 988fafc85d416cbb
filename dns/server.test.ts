import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { R } from '../api/resources.js';
import type { EndpointSlice, KubeObject, Service } from '../api/types.js';
import { FakeClient } from '../client/fake.js';
import { SharedInformerFactory } from '../client/informer.js';
import { registry } from '../lib/metrics.js';
import { DnsServer } from './server.js';
import { zoneFromInformers } from './zone.js';

type Reply = dnsPacket.DecodedPacket & { rcode: string };

const cleanups: (() => unknown)[] = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

async function start(upstream?: string): Promise<number> {
  const endpoints = Array.from({ length: 200 }, (_, i) => ({ addresses: [`10.2.${i >> 8}.${i & 255}`] }));
  const fake = new FakeClient(
    [R.namespaces, { metadata: { name: 'default' } } as KubeObject],
    [R.services, { metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.20', ports: [{ port: 80 }] } } as Service],
    [R.services, { metadata: { name: 'big', namespace: 'default' }, spec: { clusterIP: 'None' } } as Service],
    [R.endpointslices, { metadata: { name: 'big-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'big' } }, addressType: 'IPv4', endpoints, ports: [] } as EndpointSlice],
  );
  const f = new SharedInformerFactory(fake);
  cleanups.push(() => f.stop());
  const zone = zoneFromInformers(f, 'cluster.local');
  f.start();
  await f.waitForCacheSync();
  const server = new DnsServer({ zone, upstream, forwardTimeoutMs: 500 });
  const port = await server.listen('127.0.0.1', 0);
  cleanups.push(() => server.close());
  return port;
}

function queryBytes(name: string, type: dnsPacket.RecordType, edns?: number, id = 4242): Buffer {
  return dnsPacket.encode({
    type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }],
    additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
  });
}

function udp(port: number, msg: Buffer): Promise<{ bytes: number; p: Reply }> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => { s.close(); reject(new Error('no UDP answer')); }, 3000);
    s.on('message', (b) => { clearTimeout(t); s.close(); resolve({ bytes: b.length, p: dnsPacket.decode(b) as Reply }); });
    s.send(msg, port, '127.0.0.1');
  });
}

function tcp(port: number, msg: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    s.setTimeout(3000, () => { s.destroy(); reject(new Error('no TCP answer')); });
    s.on('error', reject);
    s.on('connect', () => { const l = Buffer.alloc(2); l.writeUInt16BE(msg.length); s.write(Buffer.concat([l, msg])); });
    s.on('data', (c) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) { s.destroy(); resolve(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))) as Reply); }
    });
  });
}

describe('DnsServer', () => {
  it('answers over UDP and TCP on one port, authoritative, with the query id and RD echoed', async () => {
    const port = await start();
    const { p } = await udp(port, queryBytes('web.default.svc.cluster.local', 'A'));
    expect(p).toMatchObject({ id: 4242, type: 'response', rcode: 'NOERROR', flag_aa: true, flag_rd: true, flag_tc: false });
    expect(p.answers).toMatchObject([{ type: 'A', data: '10.96.0.20', ttl: 5 }]);
    const t = await tcp(port, queryBytes('web.default.svc.cluster.local', 'A'));
    expect(t.answers).toMatchObject([{ type: 'A', data: '10.96.0.20' }]);
    const nx = await udp(port, queryBytes('nope.default.svc.cluster.local', 'A'));
    expect([nx.p.rcode, nx.p.authorities?.[0]?.type]).toEqual(['NXDOMAIN', 'SOA']);
  });

  it('truncates a big answer to the UDP size (512 bytes, or the EDNS0 size) with TC, and gives all of it over TCP', async () => {
    const port = await start();
    const plain = await udp(port, queryBytes('big.default.svc.cluster.local', 'A'));
    expect(plain.p.flag_tc).toBe(true);
    expect(plain.bytes).toBeLessThanOrEqual(512);
    expect(plain.p.answers!.length).toBeGreaterThan(0);
    expect(plain.p.answers!.length).toBeLessThan(200);
    const edns = await udp(port, queryBytes('big.default.svc.cluster.local', 'A', 1232));
    expect(edns.p.flag_tc).toBe(true);
    expect(edns.bytes).toBeLessThanOrEqual(1232);
    expect(edns.bytes).toBeGreaterThan(512);
    expect(edns.p.additionals?.some((a) => a.type === 'OPT')).toBe(true);
    const whole = await tcp(port, queryBytes('big.default.svc.cluster.local', 'A'));
    expect(whole.flag_tc).toBe(false);
    expect(whole.answers).toHaveLength(200);
  });

  it('refuses names outside the zone quickly when no upstream is configured; FORMERR for garbage with a header', async () => {
    const port = await start();
    const r = await udp(port, queryBytes('example.org', 'A'));
    expect([r.p.rcode, r.p.answers?.length]).toEqual(['REFUSED', 0]);
    const garbage = Buffer.concat([queryBytes('x', 'A').subarray(0, 12), Buffer.from([0xff, 0xff, 0xff])]);
    expect((await udp(port, garbage)).p.rcode).toBe('FORMERR');
  });

  it('forwards names outside the zone to the upstream as they came (a UDP responder on loopback), SERVFAIL when it is silent', async () => {
    const up = dgram.createSocket('udp4');
    let asked = '';
    let silent = false;
    up.on('message', (m, r) => {
      const q = dnsPacket.decode(m);
      asked = q.questions![0].name;
      if (silent) return;
      up.send(dnsPacket.encode({ id: q.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers: [{ type: 'A', name: q.questions![0].name, data: '192.0.2.7', ttl: 30 }] }), r.port, r.address);
    });
    await new Promise<void>((r) => up.bind(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => up.close(() => r())));
    const port = await start(`127.0.0.1:${up.address().port}`);
    const r = await udp(port, queryBytes('example.org', 'A', undefined, 77));
    expect(asked).toBe('example.org');
    expect(r.p).toMatchObject({ id: 77, rcode: 'NOERROR', answers: [{ data: '192.0.2.7' }] });
    // Cluster names never go upstream.
    asked = '';
    await udp(port, queryBytes('web.default.svc.cluster.local', 'A'));
    expect(asked).toBe('');
    silent = true;
    expect((await udp(port, queryBytes('example.net', 'A'))).p.rcode).toBe('SERVFAIL');
  });

  it('counts requests with CoreDNS metric names', async () => {
    const port = await start();
    await udp(port, queryBytes('web.default.svc.cluster.local', 'A'));
    const text = await registry.metrics();
    expect(text).toMatch(new RegExp(`coredns_dns_requests_total\\{server="dns://:${port}",zone="cluster.local.",view="",proto="udp",family="1",type="A"\\} [1-9]`));
    expect(text).toContain('coredns_dns_request_duration_seconds_bucket');
    expect(text).toMatch(/coredns_dns_responses_total\{[^}]*rcode="NOERROR",plugin="kubernetes"\} [1-9]/);
  });
});

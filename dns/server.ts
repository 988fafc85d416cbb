// The DNS wire side: UDP and TCP on one port, EDNS0 sizes, truncation (the
// client retries over TCP), forwarding of names outside the cluster zone to
// an upstream only when one is configured, and CoreDNS' metrics.

import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, OptAnswer, Packet } from 'dns-packet';
import { logger } from '../lib/log.js';
import { counter, histogram } from '../lib/metrics.js';
import type { ClusterZone, Rcode } from './zone.js';

const log = logger('dns');

const requests = counter({ name: 'coredns_dns_requests_total', help: 'Counter of DNS requests made per zone, protocol and family.', labelNames: ['server', 'zone', 'view', 'proto', 'family', 'type'] as const });
const responses = counter({ name: 'coredns_dns_responses_total', help: 'Counter of response status codes.', labelNames: ['server', 'zone', 'view', 'rcode', 'plugin'] as const });
const duration = histogram({
  name: 'coredns_dns_request_duration_seconds', help: 'Histogram of the time (in seconds) each request took per zone.',
  labelNames: ['server', 'zone', 'view', 'type'] as const,
  // CoreDNS' buckets: 0.25 ms doubling sixteen times.
  buckets: Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i),
});

const RCODES: Record<Rcode | 'FORMERR' | 'NOTIMP', number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
/** RFC 1035's UDP limit without EDNS0. */
const MIN_UDP = 512;
/** The largest EDNS0 size we accept from a client (CoreDNS' default bufsize ceiling). */
const MAX_UDP = 4096;
const TCP_IDLE_MS = 10_000;
/** Types CoreDNS counts by name; the rest are "other". */
const COUNTED = new Set(['A', 'AAAA', 'CNAME', 'HINFO', 'MX', 'NS', 'PTR', 'SOA', 'SRV', 'TXT', 'ANY', 'DS', 'DNSKEY', 'NAPTR', 'CAA', 'IXFR', 'AXFR']);

export interface DnsServerOptions {
  zone: ClusterZone;
  /** host:port (or host, port 53) of the resolver names outside the zone go to; none: REFUSED. */
  upstream?: string;
  forwardTimeoutMs?: number;
}

type Proto = 'udp' | 'tcp';

export class DnsServer {
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly upstream?: { host: string; port: number };
  private serverLabel = 'dns://:53';

  constructor(private readonly o: DnsServerOptions) {
    if (o.upstream) {
      const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(o.upstream);
      if (!m || !net.isIP(m[1])) throw new Error(`--upstream=${o.upstream}: an IP address, optionally with :port`);
      this.upstream = { host: m[1], port: m[2] ? Number(m[2]) : 53 };
    }
  }

  /** Bind UDP and TCP on one port (port 0: the one UDP got). Resolves with it. */
  async listen(host: string, port: number): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4' });
      await new Promise<void>((resolve, reject) => { udp.once('error', reject); udp.bind(port, host, () => { udp.off('error', reject); resolve(); }); });
      const bound = udp.address().port;
      const tcp = net.createServer((s) => this.serveTcp(s));
      try {
        await new Promise<void>((resolve, reject) => { tcp.once('error', reject); tcp.listen(bound, host, () => { tcp.off('error', reject); resolve(); }); });
      } catch (e) {
        udp.close();
        // Another process held the TCP side of the port UDP was given: take another pair.
        if (port === 0 && (e as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 20) continue;
        throw e;
      }
      udp.on('message', (msg, rinfo) => {
        const out = this.answer(msg, 'udp', rinfo.family === 'IPv6' ? '2' : '1');
        const send = (b: Buffer | undefined) => { if (b) udp.send(b, rinfo.port, rinfo.address); };
        if (out instanceof Promise) out.then(send, () => {}); else send(out);
      });
      udp.on('error', (e) => log.warn('udp socket error', { err: String(e) }));
      this.udp = udp;
      this.tcp = tcp;
      this.serverLabel = `dns://:${bound}`;
      return bound;
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all([
      new Promise<void>((r) => (this.udp ? this.udp.close(() => r()) : r())),
      new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r())),
    ]);
  }

  private serveTcp(s: net.Socket): void {
    this.sockets.add(s);
    s.setTimeout(TCP_IDLE_MS, () => s.destroy());
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => s.destroy());
    let buf = Buffer.alloc(0);
    const family = s.remoteFamily === 'IPv6' ? '2' : '1';
    s.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        const out = this.answer(msg, 'tcp', family);
        const send = (b: Buffer | undefined) => {
          if (!b || s.destroyed) return;
          const len2 = Buffer.alloc(2);
          len2.writeUInt16BE(b.length);
          s.write(Buffer.concat([len2, b]));
        };
        if (out instanceof Promise) out.then(send, () => {}); else send(out);
      }
    });
  }

  /**
   * One query's answer bytes (undefined: nothing to send, e.g. not a query).
   * Synchronous for names in the zone so a busy UDP loop pays no promise per query.
   */
  answer(msg: Buffer, proto: Proto, family = '1'): Buffer | undefined | Promise<Buffer | undefined> {
    const start = process.hrtime.bigint();
    let q: DecodedPacket;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      // A header we can read gets FORMERR with its id; anything shorter is dropped.
      if (msg.length < 12 || msg[2] & 0x80) return undefined;
      return this.finish(start, proto, family, '.', 'other', { id: msg.readUInt16BE(0), type: 'response', flags: RCODES.FORMERR }, 'FORMERR', MIN_UDP);
    }
    if (q.type !== 'query') return undefined;
    const question = q.questions?.[0];
    const opt = q.additionals?.find((a): a is OptAnswer => a.type === 'OPT');
    const limit = proto === 'tcp' ? 65535 : opt ? Math.min(MAX_UDP, Math.max(MIN_UDP, opt.udpPayloadSize)) : MIN_UDP;
    const rd = q.flags! & dnsPacket.RECURSION_DESIRED;
    const base: Packet = { id: q.id, type: 'response', questions: q.questions, answers: [], authorities: [], additionals: opt ? [ednsReply()] : [] };
    const opcode = ((q.flags ?? 0) >> 11) & 0xf;
    if (opcode !== 0) return this.finish(start, proto, family, '.', 'other', { ...base, flags: rd | RCODES.NOTIMP }, 'NOTIMP', limit);
    if (!question || (q.questions?.length ?? 0) !== 1) return this.finish(start, proto, family, '.', 'other', { ...base, flags: rd | RCODES.FORMERR }, 'FORMERR', limit);
    const type = COUNTED.has(question.type) ? question.type : 'other';

    const r = this.o.zone.lookup(question.name, question.type);
    if (r.outOfZone && this.upstream) {
      return this.forward(msg, proto).then(
        (reply) => { this.count(start, proto, family, '.', type, reply ? rcodeName(reply) : 'SERVFAIL', 'forward'); return reply ?? this.encode({ ...base, flags: rd | dnsPacket.RECURSION_AVAILABLE | RCODES.SERVFAIL }, limit); },
      );
    }
    const zone = r.outOfZone ? '.' : `${this.o.zone.domain}.`;
    const aa = r.outOfZone ? 0 : dnsPacket.AUTHORITATIVE_ANSWER;
    return this.finish(start, proto, family, zone, type, { ...base, flags: aa | rd | RCODES[r.rcode], answers: r.answers, authorities: r.authorities, additionals: [...r.additionals, ...base.additionals!] }, r.rcode, limit, r.outOfZone ? '' : 'kubernetes');
  }

  private finish(start: bigint, proto: Proto, family: string, zone: string, type: string, p: Packet, rcode: string, limit: number, plugin = ''): Buffer {
    this.count(start, proto, family, zone, type, rcode, plugin);
    return this.encode(p, limit);
  }

  private count(start: bigint, proto: Proto, family: string, zone: string, type: string, rcode: string, plugin: string): void {
    const server = this.serverLabel;
    requests.inc({ server, zone, view: '', proto, family, type });
    responses.inc({ server, zone, view: '', rcode, plugin });
    duration.observe({ server, zone, view: '', type }, Number(process.hrtime.bigint() - start) / 1e9);
  }

  /** Encoded, and when too big for the client's UDP size: as many records as fit, with TC set so it asks again over TCP. */
  private encode(p: Packet, limit: number): Buffer {
    let out = dnsPacket.encode(p);
    if (out.length <= limit) return out;
    const opt = (p.additionals ?? []).filter((a) => a.type === 'OPT');
    const answers = [...(p.answers ?? [])];
    const authorities: Answer[] = [];
    let lo = 0;
    let hi = answers.length;
    // The most answers that fit, found by halving (each try is one encode).
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (dnsPacket.encodingLength({ ...p, answers: answers.slice(0, mid), authorities, additionals: opt }) <= limit) lo = mid; else hi = mid - 1;
    }
    out = dnsPacket.encode({ ...p, flags: (p.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: answers.slice(0, lo), authorities, additionals: opt });
    return out;
  }

  /** The query as received, to the upstream; its reply as is (same id). Undefined on timeout or error. */
  private forward(msg: Buffer, proto: Proto): Promise<Buffer | undefined> {
    const up = this.upstream!;
    const timeout = this.o.forwardTimeoutMs ?? 2000;
    if (proto === 'tcp') {
      return new Promise((resolve) => {
        const s = net.connect(up.port, up.host);
        let buf = Buffer.alloc(0);
        const done = (b?: Buffer) => { s.destroy(); resolve(b); };
        s.setTimeout(timeout, () => done());
        s.on('error', () => done());
        s.on('connect', () => { const l = Buffer.alloc(2); l.writeUInt16BE(msg.length); s.write(Buffer.concat([l, msg])); });
        s.on('data', (c) => {
          buf = Buffer.concat([buf, c]);
          if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        });
      });
    }
    return new Promise((resolve) => {
      const s = dgram.createSocket(net.isIPv6(up.host) ? 'udp6' : 'udp4');
      const t = setTimeout(() => done(), timeout);
      const done = (b?: Buffer) => { clearTimeout(t); s.close(); resolve(b); };
      s.on('error', () => done());
      s.on('message', (b) => { if (b.length >= 2 && b.readUInt16BE(0) === msg.readUInt16BE(0)) done(b); });
      s.send(msg, up.port, up.host);
    });
  }
}

function ednsReply(): OptAnswer {
  return { name: '.', type: 'OPT', udpPayloadSize: MAX_UDP, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
}

function rcodeName(reply: Buffer): string {
  const code = reply.length >= 4 ? reply.readUInt16BE(2) & 0xf : 2;
  return (Object.entries(RCODES).find(([, v]) => v === code)?.[0]) ?? String(code);
}

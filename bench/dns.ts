// Cluster DNS throughput and freshness.
//   node dist/bench/dns.js [--services=1000] [--duration=6s] [--concurrency=32] [--rounds=3] [--fresh=100]
// 1. Queries/s and p99 latency for A queries of random Service names among
//    --services ClusterIP Services, over UDP on loopback with a fixed number
//    of queries in flight, against the limit measured in the same run: a
//    minimal UDP responder (its own node process, as the DNS server is)
//    answering the DNS server's own answer bytes with the query's id copied
//    in. Measured in alternating slices (limit, DNS, limit, DNS, ...).
// 2. The time from a Service's create request until its name resolves
//    (polled every 2 ms over UDP), for --fresh Services created 5 at a time.
// Everything is bounded by count and time; etcd, the API server, the DNS
// process and the responder are stopped at the end, also on failure.

import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { R } from '../api/resources.js';
import type { Service } from '../api/types.js';
import { RestClient } from '../client/rest.js';
import { parseDuration, parseFlags } from '../lib/flags.js';
import { startApiServer, type ApiServerProcess } from '../test/util/apiserver.js';
import { waitFor } from '../test/util/ports.js';
import { startDns, type DnsProcess } from '../test/dns/process.js';
import { queryPacket, udpQuery } from '../test/dns/client.js';

const flags = parseFlags({ services: 1000, duration: '6s', concurrency: 32, rounds: 3, fresh: 100 }, process.argv.slice(2), 'cluster DNS benchmark');
const sliceMs = parseDuration(flags.duration) / flags.rounds;
const ns = 'bench';
const nameOf = (i: number) => `svc-${i}.${ns}.svc.cluster.local`;

interface Load { qps: number; p50: number; p99: number; n: number; lost: number }

/** Fixed in-flight UDP queries for ms milliseconds; a query unanswered for 1 s counts as lost and is replaced. */
function load(port: number, ms: number, concurrency: number, names: Buffer[]): Promise<Load> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const inflight = new Map<number, bigint>();
    const lat: number[] = [];
    let id = 0;
    let lost = 0;
    let stop = false;
    const t0 = process.hrtime.bigint();
    const send = () => {
      if (stop) return;
      id = (id + 1) & 0xffff;
      const q = Buffer.from(names[Math.floor(Math.random() * names.length)]);
      q.writeUInt16BE(id, 0);
      inflight.set(id, process.hrtime.bigint());
      s.send(q, port, '127.0.0.1');
    };
    s.on('message', (m) => {
      const start = inflight.get(m.readUInt16BE(0));
      if (start === undefined) return;
      inflight.delete(m.readUInt16BE(0));
      lat.push(Number(process.hrtime.bigint() - start) / 1e6);
      send();
    });
    const reaper = setInterval(() => {
      const now = process.hrtime.bigint();
      for (const [k, t] of inflight) if (now - t > 1_000_000_000n) { inflight.delete(k); lost++; send(); }
    }, 200);
    s.bind(0, '127.0.0.1', () => { for (let i = 0; i < concurrency; i++) send(); });
    setTimeout(() => {
      stop = true;
      clearInterval(reaper);
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      s.close();
      lat.sort((a, b) => a - b);
      const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? NaN;
      resolve({ qps: lat.length / secs, p50: q(0.5), p99: q(0.99), n: lat.length, lost });
    }, ms);
  });
}

/** The limit: a node process that answers every datagram with fixed bytes, the query's id copied in. */
async function startResponder(answer: Buffer): Promise<{ proc: ChildProcess; port: number }> {
  const src = `const d=require('node:dgram');const f=Buffer.from(process.argv[1],'hex');const s=d.createSocket('udp4');` +
    `s.on('message',(m,r)=>{const b=Buffer.from(f);b[0]=m[0];b[1]=m[1];s.send(b,r.port,r.address)});s.bind(0,'127.0.0.1',()=>console.log(s.address().port));`;
  const proc = spawn(process.execPath, ['-e', src, answer.toString('hex')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.once('data', (d) => resolve(Number(String(d).trim())));
    proc.once('exit', () => reject(new Error('responder exited')));
  });
  return { proc, port };
}

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => { while (next < items.length) await fn(items[next++]); }));
}

const pct = (v: number[], p: number) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(v.length * p))];

async function main(): Promise<void> {
  let api: ApiServerProcess | undefined;
  let dns: DnsProcess | undefined;
  let responder: ChildProcess | undefined;
  const cleanup = async () => {
    responder?.kill('SIGKILL');
    await dns?.stop();
    await api?.stop();
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));
  try {
    api = await startApiServer();
    const client = new RestClient(api.admin, { component: 'bench', maxSockets: 16 });
    await client.resource(R.namespaces).create({ metadata: { name: ns } });
    const t = Date.now();
    await pool(Array.from({ length: flags.services }, (_, i) => i), 16, async (i) => {
      await client.resource<Service>(R.services, ns).create({ metadata: { name: `svc-${i}` }, spec: { ports: [{ name: 'http', port: 80 }] } });
    });
    console.log(`created ${flags.services} Services in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    dns = await startDns(api.url);
    const last = nameOf(flags.services - 1);
    await waitFor('the last Service resolves', async () => (await udpQuery(dns!.port, last)).answers?.length, 30_000);

    const names = Array.from({ length: flags.services }, (_, i) => queryPacket(nameOf(i), 'A', 0));
    const sample = await new Promise<Buffer>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.on('message', (m) => { s.close(); resolve(m); });
      s.send(names[0], dns!.port, '127.0.0.1');
    });
    const decoded = dnsPacket.decode(sample) as dnsPacket.DecodedPacket & { rcode: string };
    if (decoded.rcode !== 'NOERROR' || !decoded.answers?.length) throw new Error(`unexpected answer ${JSON.stringify(decoded)}`);
    const r = await startResponder(sample);
    responder = r.proc;

    // Warm both paths.
    await load(r.port, 500, flags.concurrency, names);
    await load(dns.port, 500, flags.concurrency, names);
    const raw: Load[] = [];
    const ours: Load[] = [];
    for (let i = 0; i < flags.rounds; i++) {
      raw.push(await load(r.port, sliceMs, flags.concurrency, names));
      ours.push(await load(dns.port, sliceMs, flags.concurrency, names));
    }
    const sum = (l: Load[]) => ({ qps: l.reduce((a, x) => a + x.n, 0) / ((sliceMs / 1000) * l.length), p99: Math.max(...l.map((x) => x.p99)), p50: pct(l.map((x) => x.p50), 0.5), lost: l.reduce((a, x) => a + x.lost, 0) });
    const R0 = sum(raw);
    const R1 = sum(ours);
    console.log(`raw UDP responder: ${R0.qps.toFixed(0)} q/s, p50 ${R0.p50.toFixed(2)} ms, p99 ${R0.p99.toFixed(2)} ms, lost ${R0.lost}`);
    console.log(`cluster DNS:       ${R1.qps.toFixed(0)} q/s, p50 ${R1.p50.toFixed(2)} ms, p99 ${R1.p99.toFixed(2)} ms, lost ${R1.lost} (${flags.services} Services, ${flags.concurrency} in flight)`);
    console.log(`per slice (raw / dns q/s): ${raw.map((x, i) => `${(x.n / (sliceMs / 1000)).toFixed(0)} / ${(ours[i].n / (sliceMs / 1000)).toFixed(0)}`).join(', ')}`);
    const ratio = R1.qps / R0.qps;
    console.log(`ratio: ${ratio.toFixed(2)} of the raw responder (target >= 0.5): ${ratio >= 0.5 ? 'met' : 'NOT met'}`);

    const fresh: number[] = [];
    await pool(Array.from({ length: flags.fresh }, (_, i) => i), 5, async (i) => {
      const start = performance.now();
      await client.resource<Service>(R.services, ns).create({ metadata: { name: `fresh-${i}` }, spec: { ports: [{ port: 80 }] } });
      const name = `fresh-${i}.${ns}.svc.cluster.local`;
      for (const deadline = start + 10_000; performance.now() < deadline; await new Promise((res) => setTimeout(res, 2))) {
        const a = await udpQuery(dns!.port, name, 'A', 1000).catch(() => undefined);
        if (a?.answers?.length) { fresh.push(performance.now() - start); return; }
      }
      fresh.push(Infinity);
    });
    const p99 = pct(fresh, 0.99);
    console.log(`Service created -> name resolves (${flags.fresh} Services, 5 at a time): p50 ${pct(fresh, 0.5).toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${Math.max(...fresh).toFixed(0)} ms (target p99 < 1000 ms): ${p99 < 1000 ? 'met' : 'NOT met'}`);
    client.close();
  } finally {
    await cleanup();
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});

import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServicePortInfo } from '../backend.js';
import { Balancer, UserspaceBackend } from './proxy.js';
import { freePort } from '../../test/util/ports.js';

/** A TCP server that writes its name and closes, on a kernel-chosen port. */
async function namedServer(name: string): Promise<{ port: number; server: net.Server }> {
  const server = net.createServer((s) => s.end(name));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, server };
}


function ask(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => { out += d; });
    s.on('end', () => resolve(out));
    s.on('error', (e: NodeJS.ErrnoException) => reject(e));
  });
}

async function spread(port: number, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const who = await ask(port);
    counts[who] = (counts[who] ?? 0) + 1;
  }
  return counts;
}

function sp(port: number, endpoints: { ip: string; port: number }[], over: Partial<ServicePortInfo> = {}): ServicePortInfo {
  return { name: 'default/web', namespace: 'default', service: 'web', portName: '', protocol: 'TCP', clusterIP: '127.0.0.1', port, nodePort: 0, affinitySeconds: 0, endpoints, ...over };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('Balancer', () => {
  it('rotates strictly and offers the others in order as fallbacks', () => {
    const b = new Balancer();
    const eps = [{ ip: '10.0.0.1', port: 80 }, { ip: '10.0.0.2', port: 80 }, { ip: '10.0.0.3', port: 80 }];
    b.update(eps, 0);
    expect(b.pick('c').map((e) => e.ip)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    expect(b.pick('c').map((e) => e.ip)).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.1']);
    expect(b.pick('c').map((e) => e.ip)).toEqual(['10.0.0.3', '10.0.0.1', '10.0.0.2']);
    expect(b.pick('c')[0].ip).toBe('10.0.0.1');
  });

  it('keeps a client on its endpoint for the affinity timeout', () => {
    const b = new Balancer();
    b.update([{ ip: '10.0.0.1', port: 80 }, { ip: '10.0.0.2', port: 80 }], 10);
    const first = b.pick('1.1.1.1', 0)[0];
    b.used('1.1.1.1', first, 0);
    expect(b.pick('1.1.1.1', 5_000)[0]).toEqual(first);
    expect(b.pick('2.2.2.2', 5_000)[0]).not.toEqual(first);
    expect(b.pick('1.1.1.1', 5_000 + 10_001)[0]).toBeDefined();
  });
});

describe('UserspaceBackend (TCP on 127.0.0.1)', () => {
  it('spreads 30 connections exactly 10 per endpoint, skips one that refuses, and refuses with no endpoints', async () => {
    const servers = await Promise.all(['a', 'b', 'c'].map(namedServer));
    cleanups.push(() => { for (const s of servers) s.server.close(); });
    const backend = new UserspaceBackend({ connectTimeoutMs: 1000 });
    cleanups.push(() => backend.stop());
    const port = await freePort();
    const eps = servers.map((s) => ({ ip: '127.0.0.1', port: s.port }));

    await backend.sync([sp(port, eps)]);
    expect(backend.listening()).toEqual([`127.0.0.1:${port}/TCP`]);
    expect(await spread(port, 30)).toEqual({ a: 10, b: 10, c: 10 });

    // b stops accepting but is still listed: its turns go to the next endpoint.
    await new Promise((r) => servers[1].server.close(r));
    const counts = await spread(port, 30);
    expect(counts.b).toBeUndefined();
    expect(counts.a + counts.c).toBe(30);

    await backend.sync([sp(port, [])]);
    expect(backend.listening()).toEqual([]);
    await expect(ask(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await backend.sync([]);
    expect(backend.listening()).toEqual([]);
  });

  it('follows endpoint changes without closing the listener', async () => {
    const servers = await Promise.all(['a', 'b'].map(namedServer));
    cleanups.push(() => { for (const s of servers) s.server.close(); });
    const backend = new UserspaceBackend();
    cleanups.push(() => backend.stop());
    const port = await freePort();
    await backend.sync([sp(port, [{ ip: '127.0.0.1', port: servers[0].port }])]);
    expect(await spread(port, 4)).toEqual({ a: 4 });
    await backend.sync([sp(port, servers.map((s) => ({ ip: '127.0.0.1', port: s.port })))]);
    expect(await spread(port, 4)).toEqual({ a: 2, b: 2 });
  });
});

/** A userspace proxy port relaying to one local TCP server with this connection handler. */
async function relayTo(handler: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true }, handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => { server.close(); });
  const backend = new UserspaceBackend();
  cleanups.push(() => backend.stop());
  const port = await freePort();
  await backend.sync([sp(port, [{ ip: '127.0.0.1', port: (server.address() as net.AddressInfo).port }])]);
  return port;
}

describe('UserspaceBackend half-close', () => {
  it('delivers the whole reply to a client that shut down its sending side first', async () => {
    const port = await relayTo((s) => {
      let req = '';
      s.on('data', (d) => { req += d; });
      s.on('end', () => setTimeout(() => s.end(`got ${req}`), 20));
    });
    const reply = await new Promise<string>((resolve, reject) => {
      const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      let out = '';
      c.on('data', (d) => { out += d; });
      c.on('end', () => resolve(out));
      c.on('error', reject);
      c.end('ping');
    });
    expect(reply).toBe('got ping');
  });
});

describe('UserspaceBackend relaying', () => {
  it('delivers a large reply whole, in order, to a client that reads slowly (backpressure both ways)', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 255;
    let received = 0;
    const port = await relayTo((s) => {
      s.on('data', (d) => { received += d.length; });
      s.on('end', () => s.end(big));
    });
    const got = await new Promise<Buffer>((resolve, reject) => {
      const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      const parts: Buffer[] = [];
      c.on('data', (d) => {
        parts.push(d);
        // Stalls now and then, so the proxy's buffers toward the client fill and it must stop reading upstream.
        if (parts.length % 16 === 0) { c.pause(); setTimeout(() => c.resume(), 5); }
      });
      c.on('end', () => resolve(Buffer.concat(parts)));
      c.on('error', reject);
      c.end(big.subarray(0, 3 * 1024 * 1024));
    });
    expect(received).toBe(3 * 1024 * 1024);
    expect(got.equals(big)).toBe(true);
  });

  it('closes the other side when one side resets', async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((r) => { upstreamClosed = r; });
    const port = await relayTo((s) => {
      s.on('error', () => {});
      s.on('end', () => s.end());
      s.on('close', () => upstreamClosed());
      s.write('hello');
    });
    await new Promise<void>((resolve, reject) => {
      const c = net.connect({ port, host: '127.0.0.1' });
      c.once('data', () => { c.resetAndDestroy(); resolve(); });
      c.on('error', reject);
    });
    await closed;
  });
});

describe('UserspaceBackend (UDP on 127.0.0.1)', () => {
  it('relays datagrams and replies, one endpoint per client in round robin', async () => {
    const echo = await Promise.all(['u1', 'u2'].map(async (name) => {
      const s = dgram.createSocket('udp4');
      s.on('message', (m, r) => s.send(`${name}:${m}`, r.port, r.address));
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      return { name, s, port: s.address().port };
    }));
    cleanups.push(() => { for (const e of echo) e.s.close(); });
    const backend = new UserspaceBackend();
    cleanups.push(() => backend.stop());
    const port = await freePort();
    await backend.sync([sp(port, echo.map((e) => ({ ip: '127.0.0.1', port: e.port })), { protocol: 'UDP' })]);
    const replies: string[] = [];
    for (let i = 0; i < 4; i++) {
      const c = dgram.createSocket('udp4');
      const got = new Promise<string>((resolve) => c.once('message', (m) => resolve(String(m))));
      c.send(`hi${i}`, port, '127.0.0.1');
      replies.push(await got);
      c.close();
    }
    expect(replies).toEqual(['u1:hi0', 'u2:hi1', 'u1:hi2', 'u2:hi3']);
  });
});

// The userspace backend: the process itself accepts on every service port
// and relays to an endpoint, for hosts where kube-proxy may not change
// iptables. Listeners bind the ClusterIP:port directly (the service range is
// a local route, so the kernel treats every address in it as the host's) and
// the NodePort on 127.0.0.1 and the node's addresses. New connections go to
// endpoints in round robin; one that refuses (or does not answer in time) is
// skipped for the next. A port with no ready endpoints has no listener, so
// the kernel refuses connections at once, as kube's REJECT rule does.

import dgram from 'node:dgram';
import net from 'node:net';
import { logger } from '../../lib/log.js';
import type { Backend, Endpoint, ServicePortInfo } from '../backend.js';

const log = logger('kube-proxy');

export interface UserspaceOptions {
  /** Addresses NodePorts listen on besides 127.0.0.1 (the node's own). */
  nodeAddresses?: () => string[];
  /** How long to wait for an endpoint's accept before trying the next. */
  connectTimeoutMs?: number;
  /** UDP "connections" end after this much silence. */
  udpIdleMs?: number;
}

/** Round robin with ClientIP affinity; pure, so the order is testable. */
export class Balancer {
  private next = 0;
  private affinity = new Map<string, { ep: Endpoint; until: number }>();
  endpoints: Endpoint[] = [];
  affinitySeconds = 0;

  /** The endpoints to try for one new connection, preferred first. */
  pick(clientIP: string, now = Date.now()): Endpoint[] {
    const eps = this.endpoints;
    if (eps.length === 0) return [];
    if (this.affinitySeconds > 0) {
      const a = this.affinity.get(clientIP);
      if (a && a.until > now && eps.some((e) => e.ip === a.ep.ip && e.port === a.ep.port)) {
        a.until = now + this.affinitySeconds * 1000;
        return [a.ep, ...eps.filter((e) => e !== a.ep && !(e.ip === a.ep.ip && e.port === a.ep.port))];
      }
    }
    const start = this.next % eps.length;
    this.next = (start + 1) % eps.length;
    return [...eps.slice(start), ...eps.slice(0, start)];
  }

  /** The endpoint that took the connection: it is where the client sticks. */
  used(clientIP: string, ep: Endpoint, now = Date.now()): void {
    if (this.affinitySeconds > 0) this.affinity.set(clientIP, { ep, until: now + this.affinitySeconds * 1000 });
  }

  update(endpoints: Endpoint[], affinitySeconds: number): void {
    const same = endpoints.length === this.endpoints.length && endpoints.every((e, i) => e.ip === this.endpoints[i].ip && e.port === this.endpoints[i].port);
    if (!same) this.next = 0;
    this.endpoints = endpoints;
    this.affinitySeconds = affinitySeconds;
    if (!affinitySeconds) this.affinity.clear();
    for (const [k, v] of this.affinity) if (v.until <= Date.now()) this.affinity.delete(k);
  }
}

function clientIPOf(addr: string | undefined): string {
  return (addr ?? '').replace(/^::ffff:/, '');
}

/**
 * Bytes both ways, each direction with backpressure, FINs passed on one
 * direction at a time (half-close), and either side's reset or error ends
 * both. What two socket.pipe() calls do, without their bookkeeping: a
 * relayed connection costs the proxy twice the kernel's work of a direct
 * one already, so the per-connection JavaScript is kept to a few listeners.
 */
function relay(client: net.Socket, up: net.Socket): void {
  client.on('data', (d) => { if (!up.write(d)) client.pause(); });
  up.on('data', (d) => { if (!client.write(d)) up.pause(); });
  up.on('drain', () => client.resume());
  client.on('drain', () => up.resume());
  client.on('end', () => up.end());
  up.on('end', () => client.end());
  up.on('error', () => client.destroy());
  client.on('error', () => up.destroy());
  // A reset upstream still lets the client read what came before it, then its FIN.
  up.on('close', () => { if (!client.writableEnded) client.end(); });
  client.on('close', () => up.destroy());
  client.resume();
}

/** Connects to the picked endpoints in turn until one accepts (or the client is gone); resets the client if none does. */
function forward(client: net.Socket, sp: ServicePortInfo, lb: Balancer, connectTimeoutMs: number): void {
  // The client's address costs a getpeername: only affinity needs it.
  const ip = lb.affinitySeconds > 0 ? clientIPOf(client.remoteAddress) : '';
  const eps = lb.pick(ip);
  let i = 0;
  const next = (): void => {
    if (client.destroyed) return;
    if (i >= eps.length) {
      client.resetAndDestroy();
      return;
    }
    const ep = eps[i++];
    const up = net.connect({ host: ep.ip, port: ep.port, allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(() => up.destroy(new Error(`connect ${ep.ip}:${ep.port} timed out`)), connectTimeoutMs);
    const failed = (e: Error): void => {
      clearTimeout(timer);
      log.debug('endpoint failed; trying the next', { service: sp.name, endpoint: `${ep.ip}:${ep.port}`, err: String(e) });
      next();
    };
    up.once('error', failed);
    up.once('connect', () => {
      clearTimeout(timer);
      up.off('error', failed);
      if (client.destroyed) {
        up.destroy();
        return;
      }
      lb.used(ip, ep);
      relay(client, up);
    });
  };
  next();
}

interface Listener {
  host: string;
  port: number;
  close(): Promise<void>;
}

/** One listening address of one service port, for TCP or UDP. */
async function listen(sp: ServicePortInfo, host: string, port: number, lb: Balancer, o: Required<UserspaceOptions>): Promise<Listener> {
  if (sp.protocol === 'TCP') {
    // Half-open both ways: a client that shuts down its sending side (nc, HTTP/1.0 clients) still gets the whole reply.
    // Paused until an endpoint has accepted: nothing is read that could not be passed on.
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (client) => {
      client.on('error', () => { /* destroyed with it; relay() passes it on once connected */ });
      forward(client, sp, lb, o.connectTimeoutMs);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => { server.off('error', reject); resolve(); });
    });
    return {
      host,
      port,
      // The listening socket goes at once; connections in flight are left to finish (close's callback would wait for them).
      close: async () => { server.close(); },
    };
  }
  const sock = dgram.createSocket({ type: 'udp4' });
  const sessions = new Map<string, { up: dgram.Socket; timer: ReturnType<typeof setTimeout> }>();
  const touch = (key: string) => {
    const s = sessions.get(key)!;
    clearTimeout(s.timer);
    s.timer = setTimeout(() => { s.up.close(); sessions.delete(key); }, o.udpIdleMs);
  };
  sock.on('message', (msg, rinfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    let s = sessions.get(key);
    if (!s) {
      const ep = lb.pick(rinfo.address)[0];
      if (!ep) return;
      lb.used(rinfo.address, ep);
      const up = dgram.createSocket('udp4');
      up.on('message', (reply) => { sock.send(reply, rinfo.port, rinfo.address); touch(key); });
      up.on('error', () => { /* the endpoint went away: the session times out */ });
      up.connect(ep.port, ep.ip);
      s = { up, timer: setTimeout(() => {}, 0) };
      sessions.set(key, s);
      const first = s;
      up.once('connect', () => first.up.send(msg));
      touch(key);
      return;
    }
    touch(key);
    try { s.up.send(msg); } catch { /* not connected yet: dropped, as a lossy path would */ }
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address: host, port, exclusive: true }, () => { sock.off('error', reject); resolve(); });
  });
  return {
    host,
    port,
    close: async () => {
      for (const s of sessions.values()) { clearTimeout(s.timer); s.up.close(); }
      sessions.clear();
      await new Promise<void>((r) => sock.close(() => r()));
    },
  };
}

interface PortState {
  sp: ServicePortInfo;
  lb: Balancer;
  listeners: Map<string, Listener>;
}

export class UserspaceBackend implements Backend {
  readonly mode = 'userspace' as const;
  private ports = new Map<string, PortState>();
  private readonly o: Required<UserspaceOptions>;

  constructor(opts: UserspaceOptions = {}) {
    this.o = { nodeAddresses: opts.nodeAddresses ?? (() => []), connectTimeoutMs: opts.connectTimeoutMs ?? 3000, udpIdleMs: opts.udpIdleMs ?? 60_000 };
  }

  private wanted(sp: ServicePortInfo): { host: string; port: number }[] {
    if (sp.endpoints.length === 0) return [];
    const out = [{ host: sp.clusterIP, port: sp.port }];
    if (sp.nodePort) for (const a of new Set(['127.0.0.1', ...this.o.nodeAddresses()])) out.push({ host: a, port: sp.nodePort });
    return out;
  }

  async sync(map: ServicePortInfo[]): Promise<void> {
    const seen = new Set<string>();
    const failures: string[] = [];
    for (const sp of map) {
      const key = `${sp.name}/${sp.protocol}`;
      seen.add(key);
      let st = this.ports.get(key);
      if (st && (st.sp.clusterIP !== sp.clusterIP || st.sp.port !== sp.port || st.sp.nodePort !== sp.nodePort)) {
        await this.closePort(st);
        st = undefined;
      }
      if (!st) {
        st = { sp, lb: new Balancer(), listeners: new Map() };
        this.ports.set(key, st);
      }
      st.sp = sp;
      st.lb.update(sp.endpoints, sp.affinitySeconds);
      const want = new Map(this.wanted(sp).map((w) => [`${w.host}:${w.port}`, w]));
      for (const [k, l] of st.listeners) {
        if (!want.has(k)) {
          st.listeners.delete(k);
          await l.close();
        }
      }
      for (const [k, w] of want) {
        if (st.listeners.has(k)) continue;
        try {
          st.listeners.set(k, await listen(sp, w.host, w.port, st.lb, this.o));
        } catch (e) {
          // Another userspace kube-proxy on this host may hold it; it forwards the same way. Retried every sync.
          failures.push(`${sp.name} ${sp.protocol} ${k}: ${(e as Error).message}`);
        }
      }
    }
    for (const [key, st] of this.ports) {
      if (seen.has(key)) continue;
      this.ports.delete(key);
      await this.closePort(st);
    }
    if (failures.length) log.warn('could not listen on some service ports', { failures: failures.slice(0, 20) });
  }

  private async closePort(st: PortState): Promise<void> {
    for (const l of st.listeners.values()) await l.close();
    st.listeners.clear();
  }

  /** The addresses currently listened on, "host:port/PROTO", for tests and status. */
  listening(): string[] {
    const out: string[] = [];
    for (const st of this.ports.values()) for (const k of st.listeners.keys()) out.push(`${k}/${st.sp.protocol}`);
    return out.sort();
  }

  async stop(): Promise<void> {
    for (const st of this.ports.values()) await this.closePort(st);
    this.ports.clear();
  }
}

// The kubelet's API on --port, HTTPS only: /healthz, /metrics, /containerLogs
// (what the API server relays for pods/log), /stats/summary (what
// metrics.k8s.io reads), /pods, and /exec and /attach over WebSocket with
// Kubernetes' channel protocol (v5.channel.k8s.io, v4.channel.k8s.io: binary
// frames whose first byte is the stream: 0 stdin, 1 stdout, 2 stderr, 3
// error/status, 4 resize, and in v5 255 to close a stream), and /portForward
// over SPDY/3.1 (portforward.ts). Every request, upgrades included, is
// authenticated and authorized first (auth.ts), and an upgrade from a foreign
// browser Origin is refused (lib/origin.ts). Health checks without credentials
// go to the plain-HTTP loopback port (createHealthServer), as kube's
// --healthz-port.

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { Transform, type Readable } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { errors, StatusError } from '../api/errors.js';
import type { Pod } from '../api/types.js';
import { logger } from '../lib/log.js';
import { registry } from '../lib/metrics.js';
import { checkUpgradeOrigin } from '../lib/origin.js';
import { createCA, issue, readPair, writePair, type KeyPair } from '../lib/pki.js';
import type { KubeletAuth } from './auth.js';
import type { Kubelet } from './kubelet.js';
import { L, SANDBOX_NAME, type Runtime, type RuntimeContainer, type TerminalSize } from './runtime/interface.js';
import { restartCountOf } from './status.js';
import { sandboxOf, servePortForward } from './portforward.js';
import { serveRemoteCommandSpdy, type ChannelSocket } from './remotecommand.js';
import { queryBool } from '../api/params.js';

const log = logger('kubelet-server');

export interface ServerOptions {
  kubelet: Kubelet;
  runtime: Runtime;
  nodeName: string;
  healthy?: () => boolean;
  /** The serving certificate and key (--tls-cert-file, --tls-private-key-file), and the CA bundle client certificates must chain to (--client-ca-file). */
  tls: { cert: string | Buffer; key: string | Buffer; clientCA?: string | Buffer };
  auth: KubeletAuth;
}

/** Answer on a socket that has not been upgraded: a plain-text body as the kubelet's auth filter writes, or a Status. */
function endSocket(socket: net.Socket, code: number, body: string, contentType: string): void {
  if (socket.destroyed) return;
  socket.end(`HTTP/1.1 ${code} ${http.STATUS_CODES[code]}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/**
 * Without --tls-cert-file the kubelet serves with a certificate of its own
 * making, kept in --cert-dir as kubelet.crt/kubelet.key (the leaf, then the
 * self-signed CA that issued it), as kube's kubelet does. Nothing verifies
 * it (the API server's --kubelet-certificate-authority does not know its CA):
 * `skiff up` passes a certificate from the cluster CA instead.
 */
export async function servingCertificate(certDir: string, nodeName: string, nodeIP: string): Promise<KeyPair> {
  const have = readPair(certDir, 'kubelet');
  if (have) return have;
  const ca = await createCA(`${nodeName}-ca@${Math.floor(Date.now() / 1000)}`);
  const leaf = await issue(ca, { cn: `${nodeName}@${Math.floor(Date.now() / 1000)}`, sans: [...new Set([nodeName, 'localhost', nodeIP, '127.0.0.1'])], usage: 'server' });
  const pair = { cert: leaf.cert + ca.cert, key: leaf.key };
  writePair(certDir, 'kubelet', pair);
  return pair;
}

/** The kubelet's /healthz on --healthz-bind-address:--healthz-port (127.0.0.1:10248): plain HTTP, no credentials, nothing else served. */
export function createHealthServer(healthy: () => boolean = () => true): http.Server {
  return http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://kubelet').pathname;
    if (p !== '/healthz' && p !== '/healthz/ping' && p !== '/healthz/syncloop') {
      res.statusCode = 404;
      res.end('404 page not found\n');
      return;
    }
    const ok = healthy();
    res.statusCode = ok ? 200 : 500;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(ok ? 'ok' : 'not healthy');
  });
}

function sendStatus(res: http.ServerResponse, e: unknown): void {
  const st = e instanceof StatusError ? e.status : errors.internal((e as Error).message).status;
  if (res.headersSent) {
    res.end();
    return;
  }
  res.statusCode = st.code;
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(st));
}

/** The pod's instances of one container, newest first. */
async function instancesOf(runtime: Runtime, pod: Pod, container: string): Promise<RuntimeContainer[]> {
  const all = await runtime.list({ [L.podUid]: pod.metadata.uid!, [L.containerName]: container });
  return all.sort((a, b) => restartCountOf(b) - restartCountOf(a) || Date.parse(b.createdAt) - Date.parse(a.createdAt));
}

function podOf(kubelet: Kubelet, ns: string, name: string): Pod {
  const pod = kubelet.podByName(ns, name);
  if (!pod) throw errors.notFound('pods', name);
  return pod;
}

/** Truncates a stream after limit bytes. */
function limitBytes(limit: number): Transform {
  let left = limit;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (left <= 0) return cb();
      const part = chunk.subarray(0, left);
      left -= part.length;
      cb(null, part);
      if (left <= 0) this.push(null);
    },
  });
}

async function containerLogs(o: ServerOptions, req: http.IncomingMessage, res: http.ServerResponse, ns: string, name: string, container: string, q: URLSearchParams): Promise<void> {
  const pod = podOf(o.kubelet, ns, name);
  if (![...pod.spec.containers, ...pod.spec.initContainers ?? [], ...pod.spec.ephemeralContainers ?? []].some((c) => c.name === container)) {
    throw errors.badRequest(`container ${container} is not valid for pod ${name}`);
  }
  const inst = await instancesOf(o.runtime, pod, container);
  const previous = queryBool(q.get('previous'));
  const target = previous ? inst[1] ?? (inst[0]?.state === 'exited' && pod.status?.containerStatuses?.find((s) => s.name === container)?.state?.waiting ? inst[0] : undefined) : inst[0];
  if (!target) {
    if (previous) throw errors.badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
    const reason = pod.status?.containerStatuses?.find((s) => s.name === container)?.state?.waiting?.reason ?? 'ContainerCreating';
    throw errors.badRequest(`container "${container}" in pod "${name}" is waiting to start: ${reason}`);
  }
  const follow = queryBool(q.get('follow'));
  const tail = q.get('tailLines');
  const since = q.get('sinceSeconds');
  let stream: Readable = await o.runtime.logs(target.id, {
    follow: follow && target.state === 'running',
    tailLines: tail !== null ? Number(tail) : undefined,
    timestamps: queryBool(q.get('timestamps')),
    sinceSeconds: since !== null ? Number(since) : undefined,
  });
  const limit = q.get('limitBytes');
  if (limit !== null && Number(limit) > 0) stream = stream.pipe(limitBytes(Number(limit)));
  res.statusCode = 200;
  res.setHeader('Content-Type', 'text/plain');
  res.flushHeaders();
  stream.pipe(res);
  req.on('close', () => stream.destroy());
  res.on('close', () => stream.destroy());
}

let lastNodeCpu: { total: number; idle: number; at: number } | undefined;
let nodeNanoCores = 0;

function sampleNodeCpu(): void {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  const idle = line[3] + (line[4] ?? 0);
  const total = line.reduce((a, b) => a + b, 0);
  const at = Date.now();
  if (lastNodeCpu && at > lastNodeCpu.at) {
    const busyTicks = total - lastNodeCpu.total - (idle - lastNodeCpu.idle);
    // /proc/stat counts USER_HZ (100) ticks: 1 tick is 10 ms of CPU.
    nodeNanoCores = Math.max(0, (busyTicks * 1e7) / ((at - lastNodeCpu.at) / 1000));
  }
  lastNodeCpu = { total, idle, at };
}

function meminfo(): { total: number; available: number } {
  const text = fs.readFileSync('/proc/meminfo', 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { total: kb('MemTotal'), available: kb('MemAvailable') };
}

async function summary(o: ServerOptions): Promise<unknown> {
  const now = new Date().toISOString();
  sampleNodeCpu();
  const mem = meminfo();
  const pods = await Promise.all(o.kubelet.pods().map(async (pod) => {
    const containers = (await o.runtime.list({ [L.podUid]: pod.metadata.uid! })).filter((c) => c.state === 'running' && c.labels[L.containerName] !== SANDBOX_NAME);
    const stats = await Promise.all(containers.map(async (c) => ({ c, s: await o.runtime.stats(c.id).catch(() => undefined) })));
    const cs = stats.filter((x) => x.s).map(({ c, s }) => ({
      name: c.labels[L.containerName],
      startTime: c.startedAt,
      cpu: { time: s!.timestamp, usageNanoCores: Math.round(s!.usageNanoCores ?? 0), usageCoreNanoSeconds: s!.cpuUsageNanos },
      memory: { time: s!.timestamp, workingSetBytes: s!.memoryWorkingSetBytes, usageBytes: s!.memoryUsageBytes },
    }));
    const sum = (f: (x: (typeof cs)[number]) => number) => cs.reduce((a, x) => a + f(x), 0);
    return {
      podRef: { name: pod.metadata.name, namespace: pod.metadata.namespace, uid: pod.metadata.uid },
      startTime: pod.status?.startTime,
      containers: cs,
      cpu: { time: now, usageNanoCores: sum((x) => x.cpu.usageNanoCores), usageCoreNanoSeconds: sum((x) => x.cpu.usageCoreNanoSeconds) },
      memory: { time: now, workingSetBytes: sum((x) => x.memory.workingSetBytes), usageBytes: sum((x) => x.memory.usageBytes) },
    };
  }));
  return {
    node: {
      nodeName: o.nodeName,
      cpu: { time: now, usageNanoCores: Math.round(nodeNanoCores) },
      memory: { time: now, workingSetBytes: mem.total - mem.available, availableBytes: mem.available, usageBytes: mem.total - mem.available },
    },
    pods,
  };
}

const protocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'channel.k8s.io'];

/** How long a tty exec waits for the client's first resize before starting without it. */
const FIRST_RESIZE_WAIT_MS = 1000;

/** A resize frame's size (channel 4: {"Width":..,"Height":..}), if the frame is one and well formed. */
export function parseResize(frame: Buffer): TerminalSize | undefined {
  if (frame[0] !== 4) return undefined;
  try {
    const r = JSON.parse(frame.subarray(1).toString()) as { Width?: unknown; Height?: unknown };
    if (typeof r.Width !== 'number' || typeof r.Height !== 'number' || r.Width < 0 || r.Height < 0) return undefined;
    return { width: r.Width, height: r.Height };
  } catch {
    return undefined;
  }
}

/** The newest size among frames held before the exec began. */
export function lastResize(frames: Buffer[]): TerminalSize | undefined {
  let size: TerminalSize | undefined;
  for (const f of frames) size = parseResize(f) ?? size;
  return size;
}

/** exec runs a command in the container; attach joins the container's own stdio (tty and stdin as its spec says). */
async function stream(kind: 'exec' | 'attach', o: ServerOptions, ws: ChannelSocket, ns: string, name: string, container: string, q: URLSearchParams): Promise<void> {
  const v5 = ws.protocol === 'v5.channel.k8s.io';
  const send = (ch: number, data: Buffer | string) => {
    if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([ch]), Buffer.isBuffer(data) ? data : Buffer.from(data)]));
  };
  const finish = (status: Record<string, unknown>) => {
    send(3, JSON.stringify({ metadata: {}, ...status }));
    ws.close(1000);
  };
  // The client may send stdin before the runtime's exec exists: hold frames until it does.
  const early: Buffer[] = [];
  let onFrame: ((data: Buffer) => void) | undefined;
  let closed = false;
  let sawResize: () => void = () => {};
  const resized = new Promise<void>((r) => { sawResize = r; });
  ws.on('message', (raw: Buffer) => {
    const data = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as ArrayBuffer);
    if (onFrame) onFrame(data);
    else {
      early.push(data);
      if (data[0] === 4) sawResize();
    }
  });
  ws.on('close', () => { closed = true; sawResize(); });
  try {
    const pod = podOf(o.kubelet, ns, name);
    const inst = (await instancesOf(o.runtime, pod, container)).find((c) => c.state === 'running');
    if (!inst) throw errors.badRequest(`container ${container} is not running in pod ${name}`);
    const cmd = q.getAll('command');
    const spec = pod.spec.containers.find((c) => c.name === container) ?? pod.spec.initContainers?.find((c) => c.name === container)
      ?? pod.spec.ephemeralContainers?.find((c) => c.name === container);
    // A running process's terminal cannot change: attach takes tty from the spec, as the kubelet's GetAttach does.
    const tty = kind === 'attach' ? !!spec?.tty : queryBool(q.get('tty'));
    const wantStdin = queryBool(q.get('stdin')) && (kind === 'exec' || !!spec?.stdin);
    const opts = {
      stdin: wantStdin, tty,
      stdout: q.get('stdout') === null || queryBool(q.get('stdout')),
      stderr: !tty && (q.get('stderr') === null || queryBool(q.get('stderr'))),
      size: undefined as TerminalSize | undefined,
    };
    if (kind === 'exec' && tty && ws.protocol !== 'channel.k8s.io') {
      // kubectl sends its terminal's size as soon as the stream is up, but
      // usually after the exec would already have started: a command that
      // reads its size at once (stty size, tput cols) then sees 0x0. Waiting
      // briefly for it lets the runtime size the terminal from the start.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([resized, new Promise((r) => { timer = setTimeout(r, FIRST_RESIZE_WAIT_MS); })]);
      clearTimeout(timer);
      opts.size = lastResize(early);
    }
    const session = kind === 'exec' ? await o.runtime.execStream(inst.id, cmd, opts) : await o.runtime.attach(inst.id, opts);
    session.stdout.on('data', (d: Buffer) => send(1, d));
    session.stderr?.on('data', (d: Buffer) => send(2, d));
    onFrame = (data: Buffer) => {
      if (!data.length) return;
      const ch = data[0];
      if (ch === 0) session.stdin?.write(data.subarray(1));
      else if (ch === 4) {
        const r = parseResize(data);
        if (r) void session.resize(r.width, r.height);
      } else if (ch === 255 && v5 && data[1] === 0) session.stdin?.end();
    };
    for (const d of early.splice(0)) onFrame(d);
    if (closed) session.stdin?.end();
    ws.on('close', () => {
      session.stdin?.end();
      // Detaching leaves the container running.
      session.close?.();
    });
    const code = await session.exitCode;
    await new Promise((r) => setImmediate(r));
    if (code === 0 || kind === 'attach') finish({ status: 'Success' });
    else finish({ status: 'Failure', message: `command terminated with non-zero exit code: error executing command [${cmd.join(' ')}], exit code ${code}`, reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(code) }] } });
  } catch (e) {
    // kube's remotecommand server: an exec that fails other than by an exit code is an InternalError Status.
    const st = e instanceof StatusError ? e.status : errors.internal(`${kind === 'exec' ? 'error executing command in container: ' : ''}${(e as Error).message}`).status;
    finish({ status: 'Failure', message: st.message, reason: st.reason, ...(st.details ? { details: st.details } : {}), code: st.code });
  }
}

export function createServer(o: ServerOptions): https.Server {
  if (!o.tls?.cert || !o.tls.key) throw new Error('kubelet server: a serving certificate and key are required (HTTPS only)');
  // ws is loaded by the first WebSocket exec or attach: a kubelet that serves none does not hold it (1 to 3 MiB of
  // every node's resident memory in bench:idle, issue #16).
  let wss: Promise<WebSocketServer> | undefined;
  const webSockets = () => (wss ??= import('ws').then(({ WebSocketServer }) => new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => protocols.find((p) => offered.has(p)) ?? false,
  })));
  const server = https.createServer({
    cert: o.tls.cert, key: o.tls.key, minVersion: 'TLSv1.2',
    // Certificates are asked for, and verified against the client CA, but a
    // request without one may still carry a bearer token: auth.ts decides.
    ...(o.tls.clientCA ? { ca: o.tls.clientCA, requestCert: true, rejectUnauthorized: false } : {}),
  }, (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'https://kubelet');
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      try {
        const allowed = await o.auth.check(req);
        if (!allowed.ok) {
          res.statusCode = allowed.code;
          res.setHeader('Content-Type', 'text/plain; charset=utf-8');
          res.end(allowed.message);
          return;
        }
        if (url.pathname === '/healthz' || url.pathname === '/livez' || url.pathname === '/readyz') {
          const ok = o.healthy ? o.healthy() : true;
          res.statusCode = ok ? 200 : 500;
          res.end(ok ? 'ok' : 'not healthy');
        } else if (url.pathname === '/metrics') {
          res.setHeader('Content-Type', registry.contentType);
          res.end(await registry.metrics());
        } else if (parts[0] === 'containerLogs' && parts.length === 4) {
          await containerLogs(o, req, res, parts[1], parts[2], parts[3], url.searchParams);
        } else if (url.pathname === '/stats/summary') {
          res.setHeader('Content-Type', 'application/json');
          res.end(JSON.stringify(await summary(o)));
        } else if (url.pathname === '/pods') {
          res.setHeader('Content-Type', 'application/json');
          res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: o.kubelet.pods() }));
        } else {
          throw errors.notFoundPath();
        }
      } catch (e) {
        if (!(e instanceof StatusError)) log.warn('request failed', { path: url.pathname, error: (e as Error).message });
        sendStatus(res, e);
      }
    })();
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    void (async () => {
      const allowed = await o.auth.check(req, true).catch((e: Error) => ({ ok: false as const, code: 500 as const, message: e.message }));
      if (!allowed.ok) return endSocket(socket, allowed.code, allowed.message, 'text/plain; charset=utf-8');
      const foreign = checkUpgradeOrigin(req);
      if (foreign) return endSocket(socket, 403, JSON.stringify(foreign.status), 'application/json');
      upgrade(req, socket, head);
    })();
  });
  const upgrade = (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if ((parts[0] === 'exec' || parts[0] === 'attach') && parts.length === 4 && (req.headers.upgrade ?? '').toLowerCase() === 'websocket') {
      const kind = parts[0];
      void webSockets().then((w) => w.handleUpgrade(req, socket, head, (ws) => void stream(kind, o, ws as unknown as ChannelSocket, parts[1], parts[2], parts[3], url.searchParams)));
      return;
    }
    // kubectl before 1.30 (and 1.30+ as its fallback) runs exec and attach over SPDY/3.1.
    if ((parts[0] === 'exec' || parts[0] === 'attach') && parts.length === 4) {
      const kind = parts[0];
      serveRemoteCommandSpdy(req, socket, head, url.searchParams, (ch) => void stream(kind, o, ch, parts[1], parts[2], parts[3], url.searchParams));
      return;
    }
    if (parts[0] === 'portForward' && parts.length === 3) {
      const pod = o.kubelet.podByName(parts[1], parts[2]);
      servePortForward(req, socket, head, pod && { pod, sandbox: sandboxOf(o.runtime, pod) }, errors.notFound('pods', parts[2]));
      return;
    }
    const st = errors.badRequest(`unsupported upgrade for ${url.pathname}: only WebSocket exec and attach, and SPDY portForward, are served (${protocols.join(', ')})`).status;
    endSocket(socket, 400, JSON.stringify(st), 'application/json');
  };
  setInterval(sampleNodeCpu, 10_000).unref();
  sampleNodeCpu();
  return server;
}

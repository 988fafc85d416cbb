// The kubelet's /portForward/{namespace}/{pod} over SPDY/3.1, as
// pkg/kubelet/cri/streaming/portforward/httpstream.go serves it: the client
// opens two streams per forwarded connection, an "error" stream and a "data"
// stream, tied by a requestid header and naming the pod port; the kubelet
// dials that port in the pod's network namespace and copies bytes both ways,
// writing a message on the error stream if it cannot. Both the SPDY upgrade
// and kubectl's WebSocket tunnel (which the API server turns into the same
// SPDY upgrade) end here.

import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { errors, StatusError } from '../api/errors.js';
import type { Pod } from '../api/types.js';
import { logger } from '../lib/log.js';
import { counter } from '../lib/metrics.js';
import { L, SANDBOX_NAME, type Runtime } from './runtime/interface.js';
import { SpdyConnection, type SpdyStream } from './spdy.js';

const log = logger('kubelet-portforward');

export const PORT_FORWARD_PROTOCOL_V1 = 'portforward.k8s.io';
/** The kubelet's default streamCreationTimeout: both streams of a pair must arrive within it. */
const STREAM_CREATION_TIMEOUT_MS = 30_000;

const forwards = counter({ name: 'kubelet_port_forward_connections_total', help: 'Port-forwarded connections, by result', labelNames: ['result'] as const });

export interface PortForwardTarget {
  pod: Pod;
  /** The pod's sandbox: its IP reaches the pod's network namespace from the node. */
  sandbox(): Promise<{ id: string; ip?: string } | undefined>;
}

function reject(socket: Duplex, e: unknown): void {
  const st = e instanceof StatusError ? e.status : errors.internal((e as Error).message).status;
  const body = JSON.stringify(st);
  socket.end(`HTTP/1.1 ${st.code} ${http.STATUS_CODES[st.code] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** The protocols a client offers in X-Stream-Protocol-Version (repeated or comma-joined). */
function offered(req: http.IncomingMessage): string[] {
  const out: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() === 'x-stream-protocol-version') out.push(...req.rawHeaders[i + 1].split(',').map((s) => s.trim()).filter(Boolean));
  }
  return out;
}

export function sandboxOf(runtime: Runtime, pod: Pod): PortForwardTarget['sandbox'] {
  return async () => {
    const all = await runtime.list({ [L.podUid]: pod.metadata.uid!, [L.containerName]: SANDBOX_NAME });
    const c = all.find((x) => x.state === 'running');
    return c && { id: c.id, ip: c.ip };
  };
}

/** Answer the upgrade and serve the SPDY session; the socket is the client's (or the API server's). */
export function servePortForward(req: http.IncomingMessage, socket: Duplex, head: Buffer, target: PortForwardTarget | undefined, notFound: StatusError): void {
  log.debug('port-forward upgrade', { url: req.url, headers: req.rawHeaders });
  if (!(req.headers.upgrade ?? '').toLowerCase().split(',').map((s) => s.trim()).includes('spdy/3.1')) {
    reject(socket, errors.badRequest('unable to upgrade: missing upgrade headers in request'));
    return;
  }
  const protocols = offered(req);
  // httpstream.Handshake: no header means a legacy client, which gets v1 anyway.
  if (protocols.length && !protocols.includes(PORT_FORWARD_PROTOCOL_V1)) {
    reject(socket, errors.forbidden(`unable to upgrade: unable to negotiate protocol: client supports ${JSON.stringify(protocols)}, server accepts ${JSON.stringify([PORT_FORWARD_PROTOCOL_V1])}`));
    return;
  }
  if (!target) {
    reject(socket, notFound);
    return;
  }
  socket.write([
    'HTTP/1.1 101 Switching Protocols', 'Connection: Upgrade', 'Upgrade: SPDY/3.1',
    ...(protocols.length ? [`X-Stream-Protocol-Version: ${PORT_FORWARD_PROTOCOL_V1}`] : []), '', '',
  ].join('\r\n'));
  const conn = new SpdyConnection(socket, head);
  const pairs = new Map<string, { data?: SpdyStream; error?: SpdyStream; timer: NodeJS.Timeout }>();
  conn.on('stream', (s) => {
    const portHeader = s.header('port');
    const type = s.header('streamtype');
    const port = Number(portHeader);
    // Streams the kubelet refuses are reset, as httpStreamReceived's error does.
    if (!portHeader || !/^\d+$/.test(portHeader) || port < 1 || port > 65535 || (type !== 'data' && type !== 'error')) {
      s.reset();
      return;
    }
    s.reply();
    // Older clients send no requestid: consecutive stream IDs (error, data) share floor(id/4).
    const id = s.header('requestid') ?? String(Math.floor(s.id / 4));
    let pair = pairs.get(id);
    if (!pair) {
      const timer = setTimeout(() => {
        const p = pairs.get(id);
        pairs.delete(id);
        if (p?.error) p.error.end(`timed out waiting for streams`);
        p?.data?.reset();
      }, STREAM_CREATION_TIMEOUT_MS);
      timer.unref();
      pairs.set(id, (pair = { timer }));
    }
    if (type === 'data') pair.data = s;
    else pair.error = s;
    if (pair.data && pair.error) {
      clearTimeout(pair.timer);
      pairs.delete(id);
      void forward(target, port, pair.data, pair.error);
    }
  });
  conn.on('close', () => {
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
  });
}

/** Copy between the data stream and the pod's port until one side is done, as containerd's PortForward does. */
async function forward(target: PortForwardTarget, port: number, data: SpdyStream, error: SpdyStream): Promise<void> {
  // The client half-closes the error stream at once; its reads must not stall it.
  error.resume();
  data.on('error', () => {});
  error.on('error', () => {});
  const fail = (msg: string) => {
    forwards.inc({ result: 'error' });
    const sandbox = target.pod.metadata.name;
    error.end(`error forwarding port ${port} to pod ${sandbox}, uid : ${msg}`);
    data.end();
  };
  let sandbox: { id: string; ip?: string } | undefined;
  try {
    sandbox = await target.sandbox();
  } catch (e) {
    return fail((e as Error).message);
  }
  if (!sandbox?.ip) return fail(`pod sandbox of ${target.pod.metadata.namespace}/${target.pod.metadata.name} is not running`);
  const sock = net.connect({ host: sandbox.ip, port, allowHalfOpen: true });
  const connected = await new Promise<Error | undefined>((resolve) => {
    sock.once('connect', () => resolve(undefined));
    sock.once('error', (e) => resolve(e));
  });
  if (connected) {
    sock.destroy();
    const code = (connected as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'connect: connection refused' : connected.message;
    return fail(`failed to connect to localhost:${port} inside namespace of sandbox ${sandbox.id.slice(0, 12)}: dial tcp4 ${sandbox.ip}:${port}: ${code}`);
  }
  forwards.inc({ result: 'success' });
  let timer: NodeJS.Timeout | undefined;
  const finish = (why = 'done') => {
    log.debug('port-forward finishing', { why });
    clearTimeout(timer);
    sock.destroy();
    if (!data.destroyed) data.end();
    if (!error.destroyed) error.end();
  };
  // After one direction ends the other gets a second to drain, then everything closes.
  const oneDone = () => {
    if (!timer) timer = setTimeout(() => finish('timeout after one side ended'), 1000);
  };
  let up = 0;
  let down = 0;
  data.on('data', (d: Buffer) => { up += d.length; });
  sock.on('data', (d: Buffer) => { down += d.length; });
  sock.on('close', () => log.debug('port-forward connection closed', { pod: target.pod.metadata.name, port, bytesToPod: up, bytesFromPod: down }));
  sock.on('error', (e) => {
    log.debug('port-forward connection failed', { pod: target.pod.metadata.name, port, error: e.message });
    finish();
  });
  // Reset by the client or its connection gone: what was written still reaches the pod, then the timer ends it.
  data.on('close', () => {
    sock.end();
    oneDone();
  });
  data.pipe(sock);
  sock.pipe(data, { end: false });
  data.on('end', () => { log.debug('port-forward client finished sending', { bytesToPod: up }); oneDone(); });
  sock.on('end', () => {
    // The pod closed its side: FIN the data stream now so the client's copy ends.
    data.end();
    error.end();
    oneDone();
  });
}

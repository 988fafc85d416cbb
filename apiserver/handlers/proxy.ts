// The API server's connections to kubelets: pods/log relayed over HTTPS,
// exec/attach/portforward as upgraded connections (WebSocket or SPDY,
// whichever the client negotiated) piped byte for byte, as kube-apiserver's
// UpgradeAwareHandler does, and /stats/summary for metrics.k8s.io. Every
// connection is TLS: the kubelet's serving certificate is verified against
// --kubelet-certificate-authority (for the node's address), and the API
// server presents its own client certificate (--kubelet-client-certificate,
// --kubelet-client-key; kube-apiserver-kubelet-client, which the bootstrap
// policy binds to system:kubelet-api-admin). The user's own credentials are
// never forwarded: the kubelet sees the API server, which has already
// authorized the user for the pod's subresource.

import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Request, Response } from 'express';
import { WebSocketServer } from 'ws';
import { errors, fieldCause } from '../../api/errors.js';
import type { KubeObject, Node, StatusCause } from '../../api/types.js';
import type { Store } from '../registry/store.js';
import { query } from './request.js';

/** How the API server reaches kubelets: PEM contents of --kubelet-client-certificate, --kubelet-client-key and --kubelet-certificate-authority. */
export interface KubeletClientConfig {
  cert?: string;
  key?: string;
  /** The CA bundle kubelets' serving certificates must chain to; without it none verifies (there is no unverified mode). */
  ca?: string;
  /** --kubelet-timeout: how long a dial (TCP and TLS) may take (kube: 5s). */
  timeoutMs?: number;
}

export interface KubeletTarget { host: string; port: number }

/** The kubelet endpoint a node advertises: its InternalIP and daemonEndpoints port. */
export function kubeletTargetOf(node: Node | KubeObject): KubeletTarget | undefined {
  const host = node.status?.addresses?.find((a: { type: string }) => a.type === 'InternalIP')?.address;
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  return host && port ? { host, port } : undefined;
}

/** The container a request means: the named one, or the only one. */
function containerOf(pod: KubeObject, requested: string | undefined): string {
  const names: string[] = (pod.spec?.containers ?? []).map((c: { name: string }) => c.name);
  if (requested) {
    const all = [...names, ...[...(pod.spec?.initContainers ?? []), ...(pod.spec?.ephemeralContainers ?? [])].map((c: { name: string }) => c.name)];
    if (!all.includes(requested)) throw errors.badRequest(`container ${requested} is not valid for pod ${pod.metadata.name}`);
    return requested;
  }
  if (names.length === 1) return names[0];
  throw errors.badRequest(`a container name must be specified for pod ${pod.metadata.name}, choose one of: [${names.join(' ')}]`);
}

// kubectl 1.31+ port-forwards over a WebSocket whose binary messages carry
// SPDY/3.1 frames (subprotocol "SPDY/3.1+portforward.k8s.io"). The kubelet
// speaks plain SPDY, so kube-apiserver's TunnelingHandler
// (apiserver/pkg/util/proxy/streamtunnel.go) asks the kubelet for a SPDY
// upgrade first and only then accepts the WebSocket, relaying bytes between
// the two. Without this every port-forward took the fallback SPDY path.
const tunnelPrefix = 'SPDY/3.1+';
// "/" is not an RFC 6455 token character, so ws refuses these subprotocols
// (gorilla/websocket, on both ends in Kubernetes, does not check). The
// header is taken off the request before ws sees it and the chosen protocol
// added to the 101 response here.
const tunnelWss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
const tunnelAnswer = new WeakMap<http.IncomingMessage, string>();
tunnelWss.on('headers', (headers: string[], req: http.IncomingMessage) => {
  const p = tunnelAnswer.get(req);
  if (p) headers.push(`Sec-WebSocket-Protocol: ${p}`);
});

/** The SPDY protocols a WebSocket upgrade asks to tunnel ("SPDY/3.1+portforward.k8s.io" -> "portforward.k8s.io"). */
export function tunneledProtocols(req: http.IncomingMessage): string[] {
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return [];
  return String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim())
    .filter((p) => p.startsWith(tunnelPrefix) && p.endsWith('.k8s.io')).map((p) => p.slice(tunnelPrefix.length));
}

const hopByHop = new Set(['connection', 'upgrade', 'sec-websocket-protocol', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'x-stream-protocol-version', 'host', 'content-length', 'transfer-encoding']);

/**
 * Request headers that stay with the API server: the user's credentials
 * (a kubelet, which may be compromised, must not collect users' tokens),
 * impersonation, and Origin (checked here already; the kubelet would compare
 * it with its own address and refuse).
 */
function keptBack(name: string): boolean {
  return name === 'authorization' || name === 'proxy-authorization' || name === 'cookie' || name === 'origin' || name.startsWith('impersonate-');
}

/** The client's headers as they go on to the kubelet, one "name: value" line each. */
export function forwardedHeaders(req: http.IncomingMessage, drop: (name: string) => boolean = () => false): string[] {
  return Object.entries(req.headers).filter(([k]) => k !== 'host' && !keptBack(k) && !drop(k))
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}: ${x}`));
}

export class KubeletClient {
  private readonly agent: https.Agent;
  private readonly timeoutMs: number;

  constructor(private readonly cfg: KubeletClientConfig = {}) {
    if (!!cfg.cert !== !!cfg.key) throw new Error('kubelet client: --kubelet-client-certificate and --kubelet-client-key go together');
    this.timeoutMs = cfg.timeoutMs ?? 5000;
    // Certificates are checked for every connection; ca unset means Node's default roots, which no kubelet chains to.
    this.agent = new https.Agent({ keepAlive: true, ca: cfg.ca, cert: cfg.cert, key: cfg.key, rejectUnauthorized: true });
  }

  close(): void {
    this.agent.destroy();
  }

  private dialError(e: Error): Error {
    return errors.serviceUnavailable(`error dialing backend: ${e.message}`);
  }

  /** A request to the kubelet as its client (nodes/proxy); the caller streams the body and the response. */
  request(target: KubeletTarget, options: { method: string; path: string; headers: http.OutgoingHttpHeaders }): http.ClientRequest {
    return https.request({ host: target.host, port: target.port, ...options, agent: this.agent, timeout: this.timeoutMs });
  }

  /** A verified TLS connection to the kubelet, ready for bytes. */
  dial(target: KubeletTarget): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
      const sock = tls.connect({
        host: target.host, port: target.port, ca: this.cfg.ca, cert: this.cfg.cert, key: this.cfg.key,
        rejectUnauthorized: true, ALPNProtocols: ['http/1.1'],
        // No SNI for an address (RFC 6066); the certificate is still checked against it.
        servername: net.isIP(target.host) ? undefined : target.host,
      });
      const timer = setTimeout(() => sock.destroy(new Error(`dial tcp ${target.host}:${target.port}: i/o timeout`)), this.timeoutMs);
      sock.once('secureConnect', () => {
        clearTimeout(timer);
        resolve(sock);
      });
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(this.dialError(e));
      });
    });
  }

  /** A GET to the kubelet; the response streams. */
  private get(target: KubeletTarget, path: string, onClose?: (abort: () => void) => void): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = https.get({ host: target.host, port: target.port, path, agent: this.agent, timeout: this.timeoutMs }, resolve);
      req.on('timeout', () => req.destroy(new Error(`dial tcp ${target.host}:${target.port}: i/o timeout`)));
      // Once the response has begun, the timeout no longer applies (follow streams idle as long as the container is quiet).
      req.on('response', () => req.setTimeout(0));
      req.on('error', (e) => reject(this.dialError(e)));
      onClose?.(() => req.destroy());
    });
  }

  private async targetOf(pods: Store, nodes: Store, namespace: string, name: string): Promise<{ pod: KubeObject; target: KubeletTarget }> {
    const pod = await pods.get(namespace, name);
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) throw errors.badRequest(`pod ${name} does not have a host assigned`);
    const target = kubeletTargetOf(await nodes.get(undefined, nodeName));
    if (!target) throw errors.serviceUnavailable(`no kubelet endpoint known for node "${nodeName}"`);
    return { pod, target };
  }

  /** pods/log: the kubelet's /containerLogs, relayed. */
  async podLog(pods: Store, nodes: Store, req: Request, res: Response, namespace: string, name: string): Promise<void> {
    checkLogOptions(req, name);
    const { pod, target } = await this.targetOf(pods, nodes, namespace, name);
    const container = containerOf(pod, query(req, 'container'));
    const params = new URLSearchParams();
    for (const p of ['follow', 'tailLines', 'previous', 'timestamps', 'sinceSeconds', 'limitBytes']) {
      const v = query(req, p);
      if (v !== undefined) params.set(p, v);
    }
    const path = `/containerLogs/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}?${params}`;
    const up = await this.get(target, path, (abort) => req.on('close', abort));
    await new Promise<void>((resolve) => {
      res.status(up.statusCode ?? 502);
      res.setHeader('Content-Type', up.headers['content-type'] ?? 'text/plain');
      res.flushHeaders();
      up.pipe(res);
      up.on('end', resolve);
      up.on('error', () => resolve());
      up.on('close', () => resolve());
    });
  }

  /** The kubelet's /stats/summary, parsed; undefined when it cannot be had (metrics-server skips such nodes too). */
  async summary<T>(node: Node): Promise<T | undefined> {
    const target = kubeletTargetOf(node);
    if (!target) return undefined;
    try {
      const up = await this.get(target, '/stats/summary');
      const chunks: Buffer[] = [];
      for await (const c of up) chunks.push(c as Buffer);
      return up.statusCode === 200 ? (JSON.parse(Buffer.concat(chunks).toString()) as T) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Pipe an upgrade request (exec, attach, portforward) to the kubelet; answers with a Status on failure. */
  async proxyUpgrade(
    pods: Store, nodes: Store, req: http.IncomingMessage, socket: net.Socket, head: Buffer,
    info: { namespace: string; name: string; subresource: string },
  ): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const { pod, target } = await this.targetOf(pods, nodes, info.namespace, info.name);
    let path: string;
    if (info.subresource === 'portforward') {
      path = `/portForward/${encodeURIComponent(info.namespace)}/${encodeURIComponent(info.name)}${url.search}`;
      const tunneled = tunneledProtocols(req);
      if (tunneled.length) return this.tunnelSpdy(req, socket, head, target, path, tunneled);
    } else {
      const container = containerOf(pod, url.searchParams.get('container') ?? undefined);
      const kind = info.subresource === 'exec' ? 'exec' : 'attach';
      path = `/${kind}/${encodeURIComponent(info.namespace)}/${encodeURIComponent(info.name)}/${encodeURIComponent(container)}${url.search}`;
    }
    const upstream = await this.dial(target);
    upstream.write([`${req.method} ${path} HTTP/1.1`, `Host: ${hostHeader(target)}`, ...forwardedHeaders(req), '', ''].join('\r\n'));
    relayUpgraded(upstream, socket, head);
  }

  /** A WebSocket port-forward from the client, a SPDY upgrade to the kubelet, bytes relayed between the two. */
  async tunnelSpdy(
    req: http.IncomingMessage, socket: net.Socket, head: Buffer, target: KubeletTarget, path: string, protocols: string[],
  ): Promise<void> {
    const upstream = await this.dial(target);
    upstream.write([
      `POST ${path} HTTP/1.1`, `Host: ${hostHeader(target)}`, ...forwardedHeaders(req, (k) => hopByHop.has(k)),
      'Connection: Upgrade', 'Upgrade: SPDY/3.1', ...protocols.map((p) => `X-Stream-Protocol-Version: ${p}`), 'Content-Length: 0', '', '',
    ].join('\r\n'));

    // Read the kubelet's response head; anything after it is already SPDY data.
    let buf = Buffer.alloc(0);
    const headEnd = await new Promise<number>((resolve, reject) => {
      const onData = (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const i = buf.indexOf('\r\n\r\n');
        if (i >= 0) {
          upstream.off('data', onData);
          upstream.pause();
          resolve(i + 4);
        } else if (buf.length > 1 << 20) {
          reject(errors.internal('kubelet response headers too large'));
        }
      };
      upstream.on('data', onData);
      upstream.once('end', () => reject(errors.serviceUnavailable('kubelet closed the connection before answering the upgrade')));
      upstream.once('error', (e) => reject(this.dialError(e)));
    });
    const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
    const code = Number(lines[0].split(' ')[1]);
    const respHeaders = new Map(lines.slice(1).filter(Boolean).map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()] as const;
    }));
    const rest = buf.subarray(headEnd);

    if (code !== 101) {
      // Not an upgrade: hand the kubelet's answer to the client as it is, so kubectl sees the error (and may fall back to SPDY).
      socket.write(buf);
      upstream.resume();
      upstream.pipe(socket);
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
      socket.on('close', () => upstream.destroy());
      return;
    }
    if (!(respHeaders.get('connection') ?? '').toLowerCase().includes('upgrade') || !(respHeaders.get('upgrade') ?? '').toLowerCase().includes('spdy/3.1')) {
      upstream.destroy();
      throw errors.internal('unable to upgrade: missing upgrade headers in response');
    }
    const chosen = respHeaders.get('x-stream-protocol-version');
    delete req.headers['sec-websocket-protocol'];
    if (chosen) tunnelAnswer.set(req, tunnelPrefix + chosen);
    tunnelWss.handleUpgrade(req, socket, head, (ws) => {
      const close = () => {
        upstream.destroy();
        ws.terminate();
      };
      if (rest.length) ws.send(rest, { binary: true });
      upstream.on('data', (d: Buffer) => {
        ws.send(d, { binary: true });
        // Back-pressure: stop reading from the kubelet while the client lags.
        if (ws.bufferedAmount > 1 << 20) {
          upstream.pause();
          const resume = setInterval(() => {
            if (ws.bufferedAmount < 1 << 18 || ws.readyState !== ws.OPEN) {
              clearInterval(resume);
              upstream.resume();
            }
          }, 10);
        }
      });
      upstream.resume();
      ws.on('message', (d: Buffer | ArrayBuffer | Buffer[]) => {
        const chunk = Array.isArray(d) ? Buffer.concat(d) : Buffer.isBuffer(d) ? d : Buffer.from(d);
        if (!upstream.write(chunk)) {
          ws.pause();
          upstream.once('drain', () => ws.resume());
        }
      });
      upstream.on('end', () => ws.close());
      upstream.on('error', close);
      upstream.on('close', () => ws.close());
      ws.on('close', () => upstream.destroy());
      ws.on('error', close);
    });
  }
}

const hostHeader = (t: KubeletTarget) => (net.isIPv6(t.host) ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`);

/**
 * PodLogOptions as kube decodes and validates them (ValidatePodLogOptions):
 * a number that is not one is 400, one out of range 422, before anything is
 * asked of the kubelet.
 */
function checkLogOptions(req: Request, name: string): void {
  const causes: StatusCause[] = [];
  const rules: [string, number, string][] = [
    ['tailLines', 0, 'must be greater than or equal to 0'],
    ['limitBytes', 1, 'must be greater than 0'],
    ['sinceSeconds', 1, 'must be greater than 0'],
  ];
  for (const [param, min, message] of rules) {
    const v = query(req, param);
    if (v === undefined) continue;
    if (!/^-?\d+$/.test(v)) throw errors.badRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
    const n = Number(v);
    if (n < min) causes.push(fieldCause(param, 'FieldValueInvalid', `Invalid value: ${n}: ${message}`));
  }
  if (query(req, 'sinceSeconds') !== undefined && query(req, 'sinceTime') !== undefined) {
    causes.push(fieldCause('', 'FieldValueForbidden', 'Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified'));
  }
  if (causes.length) throw errors.invalid('PodLogOptions', name, causes);
}

/** Splice an upgraded client connection to the upstream one (after the request line is written); either end closing closes both. */
export function relayUpgraded(upstream: net.Socket, socket: net.Socket, head: Buffer): void {
  if (head.length) upstream.write(head);
  upstream.pipe(socket);
  socket.pipe(upstream);
  const close = () => {
    upstream.destroy();
    socket.destroy();
  };
  upstream.on('error', close);
  socket.on('error', close);
  upstream.on('close', close);
  socket.on('close', close);
}

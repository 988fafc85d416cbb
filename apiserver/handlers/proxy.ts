// Streams the API server relays from a pod's kubelet: logs over plain HTTP,
// and exec/attach/portforward as upgraded connections (WebSocket or SPDY,
// whichever the client negotiated) piped byte for byte, as kube-apiserver's
// UpgradeAwareHandler does.

import http from 'node:http';
import net from 'node:net';
import type { Request, Response } from 'express';
import { WebSocketServer } from 'ws';
import { errors } from '../../api/errors.js';
import type { KubeObject } from '../../api/types.js';
import type { Store } from '../registry/store.js';
import { query } from './request.js';

interface KubeletTarget { host: string; port: number }

async function kubeletOf(pods: Store, nodes: Store, namespace: string, name: string): Promise<{ pod: KubeObject; target: KubeletTarget }> {
  const pod = await pods.get(namespace, name);
  const nodeName = pod.spec?.nodeName;
  if (!nodeName) throw errors.badRequest(`pod ${name} does not have a host assigned`);
  const node = await nodes.get(undefined, nodeName);
  const host = node.status?.addresses?.find((a: { type: string }) => a.type === 'InternalIP')?.address;
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  if (!host || !port) throw errors.serviceUnavailable(`no kubelet endpoint known for node "${nodeName}"`);
  return { pod, target: { host, port } };
}

/** The container a request means: the named one, or the only one. */
function containerOf(pod: KubeObject, requested: string | undefined): string {
  const names: string[] = (pod.spec?.containers ?? []).map((c: { name: string }) => c.name);
  if (requested) {
    const all = [...names, ...(pod.spec?.initContainers ?? []).map((c: { name: string }) => c.name)];
    if (!all.includes(requested)) throw errors.badRequest(`container ${requested} is not valid for pod ${pod.metadata.name}`);
    return requested;
  }
  if (names.length === 1) return names[0];
  throw errors.badRequest(`a container name must be specified for pod ${pod.metadata.name}, choose one of: [${names.join(' ')}]`);
}

export async function podLog(pods: Store, nodes: Store, req: Request, res: Response, namespace: string, name: string): Promise<void> {
  const { pod, target } = await kubeletOf(pods, nodes, namespace, name);
  const container = containerOf(pod, query(req, 'container'));
  const params = new URLSearchParams();
  for (const p of ['follow', 'tailLines', 'previous', 'timestamps', 'sinceSeconds', 'limitBytes']) {
    const v = query(req, p);
    if (v !== undefined) params.set(p, v);
  }
  const path = `/containerLogs/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}?${params}`;
  await new Promise<void>((resolve, reject) => {
    const upstream = http.get({ host: target.host, port: target.port, path }, (up) => {
      res.status(up.statusCode ?? 502);
      res.setHeader('Content-Type', up.headers['content-type'] ?? 'text/plain');
      res.flushHeaders();
      up.pipe(res);
      up.on('end', resolve);
      up.on('error', resolve);
    });
    upstream.on('error', (e) => reject(errors.serviceUnavailable(`error dialing kubelet: ${e.message}`)));
    req.on('close', () => upstream.destroy());
  });
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

export async function tunnelSpdy(
  req: http.IncomingMessage, socket: net.Socket, head: Buffer, target: KubeletTarget, path: string, protocols: string[],
): Promise<void> {
  const upstream = net.connect(target.port, target.host);
  await new Promise<void>((resolve, reject) => {
    upstream.once('connect', resolve);
    upstream.once('error', (e) => reject(errors.serviceUnavailable(`error dialing kubelet: ${e.message}`)));
  });
  const headers = Object.entries(req.headers).filter(([k]) => !hopByHop.has(k))
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}: ${x}`));
  upstream.write([
    `POST ${path} HTTP/1.1`, `Host: ${target.host}:${target.port}`, ...headers,
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
    upstream.once('error', (e) => reject(errors.serviceUnavailable(`error dialing kubelet: ${e.message}`)));
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

/** Pipe an upgrade request (exec, attach, portforward) to the kubelet; answers with a Status on failure. */
export async function proxyUpgrade(
  pods: Store, nodes: Store, req: http.IncomingMessage, socket: net.Socket, head: Buffer,
  info: { namespace: string; name: string; subresource: string },
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const { pod, target } = await kubeletOf(pods, nodes, info.namespace, info.name);
  let path: string;
  if (info.subresource === 'portforward') {
    path = `/portForward/${encodeURIComponent(info.namespace)}/${encodeURIComponent(info.name)}${url.search}`;
    const tunneled = tunneledProtocols(req);
    if (tunneled.length) return tunnelSpdy(req, socket, head, target, path, tunneled);
  } else {
    const container = containerOf(pod, url.searchParams.get('container') ?? undefined);
    const kind = info.subresource === 'exec' ? 'exec' : 'attach';
    path = `/${kind}/${encodeURIComponent(info.namespace)}/${encodeURIComponent(info.name)}/${encodeURIComponent(container)}${url.search}`;
  }
  const upstream = net.connect(target.port, target.host);
  await new Promise<void>((resolve, reject) => {
    upstream.once('connect', resolve);
    upstream.once('error', (e) => reject(errors.serviceUnavailable(`error dialing kubelet: ${e.message}`)));
  });
  const headers = Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}: ${x}`));
  upstream.write([`${req.method} ${path} HTTP/1.1`, ...headers.filter((h) => !h.toLowerCase().startsWith('host:')), `Host: ${target.host}:${target.port}`, '', ''].join('\r\n'));
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


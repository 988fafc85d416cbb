// Streams the API server relays from a pod's kubelet: logs over plain HTTP,
// and exec/attach/portforward as upgraded connections (WebSocket or SPDY,
// whichever the client negotiated) piped byte for byte, as kube-apiserver's
// UpgradeAwareHandler does.

import http from 'node:http';
import net from 'node:net';
import type { Request, Response } from 'express';
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


// The proxy subresources (pods/proxy, services/proxy, nodes/proxy), as
// kube-apiserver's ProxyREST and UpgradeAwareHandler serve them: the name
// segment is "name", "name:port" or "scheme:name:port"
// (utilnet.SplitSchemeNamePort), everything after /proxy is the path asked
// of the target, with the query, method, body and headers passed on and the
// answer streamed back. A pod is reached at its pod IP directly, a Service
// at one of its ready endpoints (a pod that exists and has that IP), a node
// at its kubelet's HTTPS port as the API server's kubelet client (any other
// port of the node directly). The user's credentials and impersonation
// headers stay here, as kube's authentication filter removes them.
// WebSocket (and any other) upgrades are relayed byte for byte.

import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Request, Response } from 'express';
import { errors } from '../../api/errors.js';
import { findByPlural, kindOf } from '../../api/resources.js';
import type { EndpointSubset } from '../../api/types.js';
import type { Store } from '../registry/store.js';
import { kubeletTargetOf, relayUpgraded, type KubeletClient, type KubeletTarget } from './proxy.js';

export interface ProxyStores { pods: Store; services: Store; endpoints: Store; nodes: Store }

/** Where a proxied request goes; `kubelet` when it is the node's kubelet port, reached as the kubelet client. */
export interface ProxyLocation { scheme: 'http' | 'https'; host: string; port?: number; kubelet?: KubeletTarget }

/** utilnet.SplitSchemeNamePort: undefined when the id is not one of its three forms. */
export function splitSchemeNamePort(id: string): { scheme: string; name: string; port: string } | undefined {
  const parts = id.split(':');
  let scheme = '';
  let name: string;
  let port = '';
  if (parts.length === 1) [name] = parts;
  else if (parts.length === 2) [name, port] = parts;
  else if (parts.length === 3) [scheme, name, port] = parts;
  else return undefined;
  return name && ['', 'http', 'https'].includes(scheme) ? { scheme, name, port } : undefined;
}

/** Go's IP.IsGlobalUnicast: kube proxies to no loopback, link-local, multicast, broadcast or unspecified pod address. */
export function isGlobalUnicast(ip: string): boolean {
  if (net.isIPv4(ip)) {
    const [a, b] = ip.split('.').map(Number);
    return !(ip === '255.255.255.255' || ip === '0.0.0.0' || a === 127 || (a === 169 && b === 254) || a >= 224);
  }
  if (net.isIPv6(ip)) {
    const lower = ip.toLowerCase();
    if (lower.startsWith('::ffff:') && net.isIPv4(lower.slice(7))) return isGlobalUnicast(lower.slice(7));
    return !(lower === '::' || lower === '::1' || /^fe[89ab]/.test(lower) || lower.startsWith('ff'));
  }
  return false;
}

const schemeOf = (s: string): 'http' | 'https' => (s === 'https' ? 'https' : 'http');

function portNumber(port: string, what: string): number {
  const n = Number(port);
  if (!/^\d+$/.test(port) || n < 1 || n > 65535) throw errors.badRequest(`invalid ${what} port ${JSON.stringify(port)}`);
  return n;
}

/** pod.ResourceLocation: the pod IP, on the port asked for or the first declared container port. */
export async function podLocation(pods: Store, namespace: string, id: string): Promise<ProxyLocation> {
  const parsed = splitSchemeNamePort(id);
  if (!parsed) throw errors.badRequest(`invalid pod request ${JSON.stringify(id)}`);
  const pod = await pods.get(namespace, parsed.name);
  let port = parsed.port;
  if (!port) {
    const declared = (pod.spec?.containers ?? []).find((c: { ports?: unknown[] }) => c.ports?.length);
    if (declared) port = String(declared.ports[0].containerPort);
  }
  const ip: string = pod.status?.podIP ?? '';
  if (!isGlobalUnicast(ip)) throw errors.badRequest('address not allowed');
  return { scheme: schemeOf(parsed.scheme), host: ip, port: port ? portNumber(port, 'pod') : undefined };
}

/** The pod an endpoint address names, when it still has that IP (kube's isValidAddress). */
async function isPodAddress(pods: Store, namespace: string, addr: { ip: string; targetRef?: { kind?: string; name?: string; namespace?: string } }): Promise<boolean> {
  const ref = addr.targetRef;
  if (!ref || ref.kind !== 'Pod' || !ref.name) return false;
  const pod = await pods.get(ref.namespace || namespace, ref.name).catch(() => undefined);
  const ips = [pod?.status?.podIP, ...((pod?.status?.podIPs ?? []) as { ip: string }[]).map((p) => p.ip)];
  return ips.includes(addr.ip);
}

const pick = <T>(xs: T[]): [T[], number] => [xs, Math.floor(Math.random() * xs.length)];

/** service ResourceLocation: a ready endpoint of the named (or numbered) service port, picked at random. */
export async function serviceLocation(stores: ProxyStores, namespace: string, id: string): Promise<ProxyLocation> {
  const parsed = splitSchemeNamePort(id);
  if (!parsed) throw errors.badRequest(`invalid service request ${JSON.stringify(id)}`);
  const { name } = parsed;
  let portName = parsed.port;
  if (/^-?\d+$/.test(portName)) {
    // A port number means the service port with that number, by its name.
    const svc = await stores.services.get(namespace, name);
    const sp = (svc.spec?.ports ?? []).find((p: { port: number }) => p.port === Number(portName));
    if (!sp) throw errors.serviceUnavailable(`no service port ${Number(portName)} found for service ${JSON.stringify(name)}`);
    portName = sp.name ?? '';
  }
  const eps = await stores.endpoints.get(namespace, name);
  const subsets: EndpointSubset[] = eps.subsets ?? [];
  if (!subsets.length) throw errors.serviceUnavailable(`no endpoints available for service ${JSON.stringify(name)}`);
  const [ss, ssSeed] = pick(subsets);
  for (let i = 0; i < ss.length; i++) {
    const subset = ss[(ssSeed + i) % ss.length];
    const addresses = subset.addresses ?? [];
    if (!addresses.length) continue;
    for (const p of subset.ports ?? []) {
      if ((p.name ?? '') !== portName) continue;
      const [as, aSeed] = pick(addresses);
      for (let t = 0; t < as.length; t++) {
        const addr = as[(aSeed + t) % as.length] as { ip: string; targetRef?: { kind?: string; name?: string; namespace?: string } };
        // Only addresses that are pods: an Endpoints object written by hand must not aim the API server anywhere else.
        if (!(await isPodAddress(stores.pods, namespace, addr))) continue;
        return { scheme: schemeOf(parsed.scheme), host: addr.ip, port: p.port };
      }
    }
  }
  throw errors.serviceUnavailable(`no endpoints available for service ${JSON.stringify(id)}`);
}

/**
 * node ResourceLocation: the kubelet (its own port, or none given) as the API server's kubelet client, else
 * the node's address on the port asked. kube refuses loopback node addresses (IsProxyableHostname); Skiff's
 * kubelets listen on loopback in a one-machine cluster, so the kubelet port, whose certificate is verified,
 * is allowed there, and only other ports keep kube's refusal.
 */
export async function nodeLocation(nodes: Store, id: string): Promise<ProxyLocation> {
  const parsed = splitSchemeNamePort(id);
  if (!parsed) throw errors.badRequest(`invalid node request ${JSON.stringify(id)}`);
  const node = await nodes.get(undefined, parsed.name);
  const kubelet = kubeletTargetOf(node);
  if (!kubelet) throw errors.serviceUnavailable(`no kubelet endpoint known for node "${parsed.name}"`);
  if (!parsed.port || parsed.port === String(kubelet.port)) return { scheme: 'https', host: kubelet.host, port: kubelet.port, kubelet };
  if (!isGlobalUnicast(kubelet.host)) throw errors.badRequest('address not allowed');
  return { scheme: schemeOf(parsed.scheme), host: kubelet.host, port: portNumber(parsed.port, 'node') };
}

/** The core resource's location rule (KindDefinition.proxyLocation). */
export async function locate(stores: ProxyStores, plural: string, namespace: string | undefined, id: string): Promise<ProxyLocation> {
  const r = findByPlural('', 'v1', plural);
  const rule = r && kindOf(r).proxyLocation;
  if (rule === 'pod') return podLocation(stores.pods, namespace!, id);
  if (rule === 'service') return serviceLocation(stores, namespace!, id);
  if (rule === 'node') return nodeLocation(stores.nodes, id);
  throw errors.notFound(plural, id);
}

/**
 * The raw (still escaped) path after `<plural>/<name>/proxy`: "" for none, which kube redirects to "/",
 * and the query string.
 */
export function proxyPathOf(rawUrl: string, plural: string): { path: string; query: string } {
  const q = rawUrl.indexOf('?');
  const pathPart = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
  const query = q >= 0 ? rawUrl.slice(q) : '';
  // By position, not by search: a namespace or a name may itself be "pods" or "proxy".
  // ['', 'api', 'v1', 'namespaces', ns, plural, name, 'proxy', ...] or, cluster-scoped, ['', 'api', 'v1', 'nodes', name, 'proxy', ...].
  const segs = pathPart.split('/');
  const start = findByPlural('', 'v1', plural)?.namespaced === false ? 6 : 8;
  if (segs[start - 1] !== 'proxy') return { path: '', query };
  const rest = segs.slice(start);
  return { path: rest.length ? `/${rest.join('/')}` : '', query };
}

// Hop-by-hop headers (RFC 7230 6.1) and what identifies the user to this server, never passed on.
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'proxy-authenticate']);
const credential = (name: string) => name === 'authorization' || name === 'proxy-authorization' || name.startsWith('impersonate-');

function upstreamHeaders(req: http.IncomingMessage, loc: ProxyLocation, upgrade: boolean): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || credential(k)) continue;
    if (hopByHop.has(k) && !(upgrade && (k === 'connection' || k === 'upgrade'))) continue;
    out[k] = v;
  }
  const remote = req.socket.remoteAddress ?? '';
  out['x-forwarded-for'] = req.headers['x-forwarded-for'] ? `${req.headers['x-forwarded-for']}, ${remote}` : remote;
  out.host = loc.port ? hostPort(loc.host, loc.port) : loc.host;
  return out;
}

const hostPort = (host: string, port: number) => (net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`);

/** A redirect to the target itself is rewritten to go through the proxy again (kube's proxy transport does the same). */
function rewriteLocation(location: string, loc: ProxyLocation, prefix: string): string {
  try {
    const u = new URL(location, `${loc.scheme}://${loc.port ? hostPort(loc.host, loc.port) : loc.host}/`);
    const sameHost = u.hostname.replace(/^\[|\]$/g, '') === loc.host && (!loc.port || Number(u.port || (u.protocol === 'https:' ? 443 : 80)) === loc.port);
    if (!sameHost || !/^(?:https?:|\/)/.test(location)) return location;
    return `${prefix}${u.pathname}${u.search}${u.hash}`;
  } catch {
    return location;
  }
}

const hopResponse = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

/** How long a target may take to connect and to start answering before the client gets 503. */
const dialTimeoutMs = 30_000;

/** Serves one proxied request (anything but an upgrade). */
export async function serveResourceProxy(stores: ProxyStores, kubelets: KubeletClient, req: Request, res: Response, plural: string, namespace: string | undefined, id: string): Promise<void> {
  const rawUrl = req.originalUrl ?? req.url;
  const { path, query } = proxyPathOf(rawUrl, plural);
  if (path === '') {
    // kube's UpgradeAwareHandler: an empty path is redirected to one ending in "/" (issue #4958).
    res.statusCode = 301;
    res.setHeader('Location', `${rawUrl.split('?')[0]}/${query}`);
    res.end();
    return;
  }
  const loc = await locate(stores, plural, namespace, id);
  const prefix = rawUrl.split('?')[0].slice(0, rawUrl.split('?')[0].length - path.length);
  const options = { method: req.method, path: path + query, headers: upstreamHeaders(req, loc, false) };
  const upstream = loc.kubelet
    ? kubelets.request(loc.kubelet, options)
    : (loc.scheme === 'https' ? https : http).request({
        host: loc.host, port: loc.port, ...options, agent: false, timeout: dialTimeoutMs,
        // kube's proxy transport does not verify pods' and services' certificates (they are not the cluster's).
        ...(loc.scheme === 'https' ? { rejectUnauthorized: false } : {}),
      });
  await new Promise<void>((resolve, reject) => {
    let answered = false;
    upstream.on('timeout', () => upstream.destroy(new Error(`dial tcp ${hostPort(loc.host, loc.port ?? 80)}: i/o timeout`)));
    upstream.on('error', (e) => {
      if (answered) {
        res.destroy();
        resolve();
      } else {
        reject(errors.serviceUnavailable(`error trying to reach service: ${e.message}`));
      }
    });
    upstream.on('response', (up) => {
      answered = true;
      // Streaming from here on: the idle timeout is for dialing and the response head only.
      upstream.setTimeout(0);
      res.statusCode = up.statusCode ?? 502;
      for (const [k, v] of Object.entries(up.headers)) {
        if (v === undefined || hopResponse.has(k)) continue;
        res.setHeader(k, k === 'location' && typeof v === 'string' ? rewriteLocation(v, loc, prefix) : v);
      }
      // pipe() applies back-pressure both ways: a slow client slows the read from the target, nothing accumulates.
      up.pipe(res);
      up.on('end', resolve);
      up.on('error', () => { res.destroy(); resolve(); });
    });
    res.on('close', () => {
      upstream.destroy();
      resolve();
    });
    req.pipe(upstream);
  });
}

/** Relays an upgrade (a WebSocket to a pod, say) to the target, byte for byte, after the same location rules. */
export async function proxyResourceUpgrade(
  stores: ProxyStores, kubelets: KubeletClient, req: http.IncomingMessage, socket: net.Socket, head: Buffer,
  plural: string, namespace: string | undefined, id: string,
): Promise<void> {
  const { path, query } = proxyPathOf(req.url ?? '/', plural);
  const loc = await locate(stores, plural, namespace, id);
  const upstream: net.Socket = loc.kubelet
    ? await kubelets.dial(loc.kubelet)
    : await new Promise<net.Socket>((resolve, reject) => {
        const port = loc.port ?? (loc.scheme === 'https' ? 443 : 80);
        const s: net.Socket = loc.scheme === 'https' ? tls.connect({ host: loc.host, port, rejectUnauthorized: false }) : net.connect({ host: loc.host, port });
        const timer = setTimeout(() => s.destroy(new Error(`dial tcp ${hostPort(loc.host, port)}: i/o timeout`)), dialTimeoutMs);
        s.once(loc.scheme === 'https' ? 'secureConnect' : 'connect', () => { clearTimeout(timer); resolve(s); });
        s.once('error', (e) => { clearTimeout(timer); reject(errors.serviceUnavailable(`error trying to reach service: ${e.message}`)); });
      });
  const headers = upstreamHeaders(req, loc, true);
  const lines = Object.entries(headers).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}: ${x}`));
  upstream.write([`${req.method} ${path || '/'}${query} HTTP/1.1`, ...lines, '', ''].join('\r\n'));
  relayUpgraded(upstream, socket, head);
}

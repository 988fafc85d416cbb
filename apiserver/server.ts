// The API server: one Store per resource of the table behind the REST
// handlers, plus health, version and metrics endpoints, the system
// namespaces and the `kubernetes` Service. main.ts only parses flags and
// calls startServer.

import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { errors, isStatusError, type StatusError } from '../api/errors.js';
import { R, loadKinds, resources, type ResourceInfo } from '../api/resources.js';
import type { KubeObject, Status } from '../api/types.js';
import { compileValidators } from '../api/validation.js';
import { systemPriorityClasses } from '../api/kinds/scheduling/priorityclass.js';
import { logger } from '../lib/log.js';
import { checkUpgradeOrigin } from '../lib/origin.js';
import { collectDefaultMetrics, metricsHandler, registry } from '../lib/metrics.js';
import { metricsGroupVersion, metricsResources, metricsRouter } from './metricsapi.js';
import { discoveryRouter } from './discovery.js';
import { openapiRouter } from './openapi.js';
import { openapiV2Router } from './openapiv2.js';
import { ServiceAllocators } from './allocators/services.js';
import { NamespaceLifecycle } from './registry/namespaces.js';
import { Store } from './registry/store.js';
import { toStatus } from './registry/errors.js';
import { binding, eviction, scale } from './handlers/subresources.js';
import { KubeletClient, type KubeletClientConfig } from './handlers/proxy.js';
import { proxyResourceUpgrade, serveResourceProxy } from './handlers/resourceproxy.js';
import * as rest from './handlers/rest.js';
import { parseRequest, type RequestInfo } from './handlers/request.js';
import { requestDuration, requestTotal, storageObjects } from './metrics.js';
import type { Storage } from './storage/interface.js';
import { serveEphemeral } from './handlers/ephemeral.js';
import { CRDController } from './crd/controller.js';
import { AccessControl, type AccessControlConfig } from './auth/accesscontrol.js';
import type { SubresourceHandler } from './auth/serviceaccount/tokenrequest.js';

const log = logger('apiserver');

export const version = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-skiff',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: `node${process.versions.node}`,
  compiler: 'tsc',
  platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
};

export const systemNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** PEM contents, as read from --tls-cert-file, --tls-private-key-file and --client-ca-file. */
export interface ServingTLS {
  cert: string;
  key: string;
  /** Client certificates signed by this CA authenticate as their subject; without it none do. */
  clientCA?: string;
}

export interface ServerConfig extends AccessControlConfig {
  storage: Storage;
  etcdPrefix: string;
  bindAddress: string;
  /** --secure-port: the server speaks HTTPS only. */
  port: number;
  tls: ServingTLS;
  /** --advertise-address: where pods reach this server (the `kubernetes` Endpoints); defaults to the bind address when it is not a wildcard. */
  advertiseAddress?: string;
  serviceClusterIPRange: string;
  serviceNodePortRange: string;
  bookmarkIntervalMs?: number;
  /** Run the once-per-cluster duties (namespace finalization, object counts); false in all but one worker. */
  singletons?: boolean;
  /** The /metrics text when it is not this process's alone (the workers' aggregate). */
  metrics?: () => Promise<string>;
  /** --kubelet-client-certificate, --kubelet-client-key, --kubelet-certificate-authority: the TLS client for logs, exec, attach, port-forward and stats. */
  kubeletClient?: KubeletClientConfig;
}

export interface ApiServer {
  server: https.Server;
  stores: Map<string, Store>;
  close(): Promise<void>;
}

function sendError(res: Response, e: StatusError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(e.code).json(e.status);
}

export async function startServer(cfg: ServerConfig): Promise<ApiServer> {
  // What validation needs beyond plain code (KindDefinition.load), before any object is read or written.
  await loadKinds();
  const { storage } = cfg;
  const stores = new Map<string, Store>();
  // With an entry, that entry's own store (custom resources are not in `stores`, keyed by plural).
  const storeOf = (plural: string, r?: ResourceInfo) => (r ? storeFor(r) : stores.get(plural)!);
  const singletons = cfg.singletons ?? true;
  const namespaces = new NamespaceLifecycle(storage, storeOf, singletons);
  const allocators = new ServiceAllocators(cfg);
  // A plural served at several versions (HPA v1 and v2, core and events.k8s.io Events) has a store per
  // version; storeOf(plural), which the server's own code uses, answers with the first registered (R's).
  const byResource = new Map<ResourceInfo, Store>();
  for (const r of resources) {
    if (r.ephemeral) continue;
    const s = new Store(r, storage, cfg.etcdPrefix, namespaces.phase, r === R.services ? allocators.hooks() : {});
    byResource.set(r, s);
    if (!stores.has(r.plural)) stores.set(r.plural, s);
  }
  const access = await AccessControl.create(cfg, { storage, etcdPrefix: cfg.etcdPrefix, storeOf });
  const { filters, serviceAccounts, ephemeral } = access;
  access.start();
  const kubelets = new KubeletClient(cfg.kubeletClient);
  // A kind registered while the server runs (a custom resource, apiserver/crd) gets its store on first use;
  // a re-registered one (its CRD changed) a new store with its new rules.
  function storeFor(r: ResourceInfo): Store {
    let s = byResource.get(r);
    if (!s) {
      s = new Store(r, storage, cfg.etcdPrefix, namespaces.phase);
      byResource.set(r, s);
    }
    return s;
  }
  const ctx: rest.RestContext = { storage, store: storeFor, bookmarkIntervalMs: cfg.bookmarkIntervalMs, admission: access.admission };
  const crds = new CRDController({ storage, storeFor, singletons });

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');
  collectDefaultMetrics();

  // kube's health checks (k8s.io/apiserver/pkg/server/healthz): liveness is the process, its log and storage
  // and the post-start hooks; ready means the same, so a client that waited for /readyz is not refused by an
  // RBAC policy that is not in place yet.
  const etcdCheck = () => Promise.race([
    storage.currentRevision().then(() => true, () => false),
    new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref()),
  ]);
  const liveChecks: [string, () => Promise<boolean>][] = [
    ['ping', async () => true],
    ['log', async () => true],
    ['etcd', etcdCheck],
    ['poststarthook/rbac/bootstrap-roles', async () => access.bootstrapPolicyReady()],
  ];
  const readyChecks: [string, () => Promise<boolean>][] = [...liveChecks.slice(0, 3), ['etcd-readiness', etcdCheck], liveChecks[3]];
  for (const [endpoint, checks] of [['healthz', liveChecks], ['livez', liveChecks], ['readyz', readyChecks]] as const) {
    app.get([`/${endpoint}`, `/${endpoint}/*check`], async (req, res) => {
      const only = (req.params as { check?: string[] }).check?.join('/');
      if (only !== undefined) {
        // A check alone: "ok", or kube's 500 with the reason withheld.
        const check = checks.find(([n]) => n === only);
        if (!check) {
          sendError(res, errors.notFoundPath());
          return;
        }
        const passed = await check[1]();
        res.status(passed ? 200 : 500).type('text/plain').send(passed ? 'ok' : `internal server error: ${only} check failed\n`);
        return;
      }
      const exclude = new Set(([] as unknown[]).concat(req.query.exclude ?? []).map(String));
      const results = await Promise.all(checks.map(async ([name, check]) => [name, exclude.has(name) ? 'excluded' : await check()] as const));
      const ok = results.every(([, r]) => r !== false);
      const verbose = req.query.verbose !== undefined;
      const lines = results.map(([name, r]) => (r === 'excluded' ? `[+]${name} excluded: ok` : r ? `[+]${name} ok` : `[-]${name} failed: reason withheld`));
      const body = ok
        ? (verbose ? `${lines.join('\n')}\n${endpoint} check passed\n` : 'ok')
        : `${lines.filter((l) => verbose || l.startsWith('[-]')).join('\n')}\n${endpoint} check failed\n`;
      res.status(ok ? 200 : 500).type('text/plain').send(body);
    });
  }
  app.get('/version', (_req, res) => { res.json(version); });
  const metrics = cfg.metrics;
  if (metrics) {
    app.get('/metrics', async (_req, res, next) => {
      try {
        const text = await metrics();
        res.setHeader('Content-Type', registry.contentType);
        res.end(text);
      } catch (e) {
        next(errors.internal((e as Error).message));
      }
    });
  } else {
    app.get('/metrics', metricsHandler);
  }

  const resourceHandler = async (req: Request, res: Response, next: NextFunction) => {
    const info = parseRequest(req);
    if (!info) {
      next();
      return;
    }
    const started = process.hrtime.bigint();
    const r = info.resource;
    const labels = { verb: metricVerb(info.verb, req), group: r.group, version: r.version, resource: r.plural, subresource: info.subresource ?? '', scope: info.name ? 'resource' : info.namespace ? 'namespace' : 'cluster' };
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      requestTotal.inc({ ...labels, code: String(res.statusCode) });
      if (info.verb !== 'watch') requestDuration.observe(labels, seconds);
      if (log.isDebugEnabled()) log.debug('request', { method: req.method, path: req.originalUrl, code: res.statusCode, ms: Math.round(seconds * 1000) });
    });
    try {
      if (r.ephemeral) await serveEphemeral(ephemeral, req, res, info);
      else await dispatch(ctx, kubelets, req, res, info, serviceAccounts?.tokenRequest);
    } catch (e) {
      next(toStatus(e, r, info.name ?? ''));
    }
  };
  app.use(resourceHandler);
  // After the resource handler, which is the hot path and passes on anything that is not a resource.
  app.use(discoveryRouter({ extraGroups: [
    { ...metricsGroupVersion, resources: metricsResources },
  ] }));
  app.use(openapiRouter());
  app.use(openapiV2Router());
  // ServiceAccount issuer discovery, authorized like any other path (kube's system:service-account-issuer-discovery).
  if (serviceAccounts?.oidc) app.use(serviceAccounts.oidc);
  app.use(metricsRouter({
    nodes: async () => (await storeOf('nodes').list(undefined, {})).items as never,
    summary: (node) => kubelets.summary(node),
    podLabels: async (ns, name) => (await storeOf('pods').get(ns, name).catch(() => undefined))?.metadata.labels ?? undefined,
  }));
  app.use((_req: Request, res: Response) => { sendError(res, errors.notFoundPath()); });
  const errorHandler = (err: unknown, req: Request, res: Response, _next?: NextFunction) => {
    const status = isStatusError(err) ? err : errors.internal((err as Error)?.message ?? String(err));
    if (status.code >= 500) log.warn('request failed', { method: req.method, path: req.originalUrl, error: (err as Error)?.message });
    sendError(res, status);
  };
  app.use(errorHandler);

  // Requests and responses are born with express's methods: express itself re-prototypes each one per
  // request (Object.setPrototypeOf, slow in V8), and the fast path below must not.
  class ExpressRequest extends http.IncomingMessage {}
  Object.setPrototypeOf(ExpressRequest.prototype, app.request);
  class ExpressResponse extends http.ServerResponse {}
  Object.setPrototypeOf(ExpressResponse.prototype, app.response);
  const route = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!req.url?.startsWith('/api')) {
      app(req, res);
      return;
    }
    // The resource API is the hot path and the first handler express would reach for it; entering it
    // directly skips the router's per-request layer walk (~4% of a create's CPU). Anything it
    // passes on (discovery under /api and /apis) goes through express as before.
    const r = req as unknown as Request;
    const s = res as unknown as Response;
    r.res = s;
    s.req = r;
    r.originalUrl = req.url;
    s.locals = Object.create(null);
    resourceHandler(r, s, (err?: unknown) => {
      if (err) errorHandler(err, r, s);
      else app(req, res);
    }).catch((err: unknown) => errorHandler(err, r, s));
  };
  const server = https.createServer({
    IncomingMessage: ExpressRequest,
    ServerResponse: ExpressResponse,
    cert: cfg.tls.cert,
    key: cfg.tls.key,
    // Ask for a client certificate but let clients without one (tokens, anonymous) through the handshake;
    // the x509 authenticator trusts only what verified against the CA.
    ...(cfg.tls.clientCA ? { ca: cfg.tls.clientCA, requestCert: true, rejectUnauthorized: false } : {}),
  }, (req, res) => {
    // The filter chain comes first for every request: no path, fast or not, reaches a handler unauthenticated.
    filters.handle(req).then(() => route(req, res), (err: unknown) => {
      if (log.isDebugEnabled()) log.debug('request refused', { method: req.method, path: req.url, code: (err as StatusError).code });
      sendRaw(res, isStatusError(err) ? err : errors.internal(String(err)));
    });
  });
  server.keepAliveTimeout = 65_000;
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    filters.handle(req).then(() => upgrade(storeOf, kubelets, req, socket, head), (err: unknown) => {
      refuseUpgrade(socket, isStatusError(err) ? err.status : errors.internal(String(err)).status);
    });
  });
  // Every kind's schema, compiled before anything is served.
  compileValidators(resources);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.bindAddress, () => resolve());
  });

  namespaces.start();
  // Custom resources that exist are served before the server reports itself started.
  await crds.start();
  const advertise = cfg.advertiseAddress ?? (cfg.bindAddress === '0.0.0.0' || cfg.bindAddress === '::' ? '127.0.0.1' : cfg.bindAddress);
  const bootstrap = new Bootstrap(storeOf, allocators.apiServerIP, advertise, cfg.port);
  bootstrap.start();
  // Each worker would report the same counts, and /metrics sums workers' gauges.
  const objectCounts = singletons ? setInterval(() => void countObjects(storage, stores), 30_000) : undefined;
  objectCounts?.unref();

  return {
    server,
    stores,
    async close() {
      bootstrap.stop();
      crds.stop();
      access.stop();
      kubelets.close();
      namespaces.stop();
      clearInterval(objectCounts);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The verb label as kube's metrics.CleanVerb reports it: the route's HTTP verb, LIST/WATCH for collections, APPLY for server-side apply. */
function metricVerb(verb: RequestInfo['verb'], req: Request): string {
  switch (verb) {
    case 'create': return 'POST';
    case 'update': return 'PUT';
    case 'patch': return req.headers['content-type']?.startsWith('application/apply-patch') ? 'APPLY' : 'PATCH';
    default: return verb.toUpperCase();
  }
}

async function dispatch(ctx: rest.RestContext, kubelets: KubeletClient, req: Request, res: Response, info: RequestInfo, tokenRequest?: SubresourceHandler): Promise<void> {
  switch (info.subresource) {
    case 'scale': return scale(ctx, req, res, info);
    case 'binding': return binding(ctx, req, res, info);
    case 'eviction': return eviction(ctx, req, res, info);
    case 'log': return kubelets.podLog(ctx.store(R.pods), ctx.store(R.nodes), req, res, info.namespace!, info.name!);
    case 'token':
      // Without a signing key the server issues no tokens: the POST falls through to a 405.
      if (tokenRequest) return tokenRequest(ctx, req, res, info);
      break;
    case 'proxy': return serveResourceProxy(proxyStores(ctx.store), kubelets, req, res, info.resource.plural, info.namespace, info.name!);
    case 'exec': case 'attach': case 'portforward': case 'finalize':
      throw errors.methodNotSupported(info.resource.kind, `${req.method} ${info.subresource}`);
  }
  switch (info.verb) {
    case 'get': return rest.get(ctx, req, res, info);
    case 'list': return rest.list(ctx, req, res, info);
    case 'watch': return rest.watch(ctx, req, res, info);
    case 'create':
      if (info.name) throw errors.methodNotSupported(info.resource.kind, 'POST');
      return rest.create(ctx, req, res, info);
    case 'update': return rest.update(ctx, req, res, info);
    case 'patch': return rest.patch(ctx, req, res, info);
    case 'delete': return rest.remove(ctx, req, res, info);
    case 'deletecollection': return rest.removeCollection(ctx, req, res, info);
    default: throw errors.methodNotSupported(info.resource.kind, req.method);
  }
}

function proxyStores(store: (r: ResourceInfo) => Store) {
  return { pods: store(R.pods), services: store(R.services), endpoints: store(R.endpoints), nodes: store(R.nodes) };
}

async function upgrade(storeOf: (p: string) => Store, kubelets: KubeletClient, req: http.IncomingMessage, socket: net.Socket, head: Buffer): Promise<void> {
  // A browser page on another origin must not drive exec, attach or port-forward with the user's credentials (lib/origin.ts).
  const foreign = checkUpgradeOrigin(req);
  if (foreign) return refuseUpgrade(socket, foreign.status);
  const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/?]+)\/(exec|attach|portforward)(\?|$)/.exec(req.url ?? '');
  // A WebSocket through pods/, services/ or nodes/<name>/proxy is relayed to the target as kube's UpgradeAwareHandler does.
  const p = m ? null : /^\/api\/v1\/(?:namespaces\/([^/]+)\/(pods|services)|(nodes))\/([^/?]+)\/proxy(?:[/?]|$)/.exec(req.url ?? '');
  try {
    if (p) {
      const namespace = p[1] === undefined ? undefined : decodeURIComponent(p[1]);
      await proxyResourceUpgrade(proxyStores((r) => storeOf(r.plural)), kubelets, req, socket, head, p[2] ?? p[3], namespace, decodeURIComponent(p[4]));
      return;
    }
    if (!m) throw errors.notFoundPath();
    await kubelets.proxyUpgrade(storeOf('pods'), storeOf('nodes'), req, socket, head, { namespace: decodeURIComponent(m[1]), name: decodeURIComponent(m[2]), subresource: m[3] });
  } catch (e) {
    refuseUpgrade(socket, toStatus(e, R.pods, m?.[2] ?? '').status);
  }
}

function refuseUpgrade(socket: net.Socket, status: Status): void {
  const body = JSON.stringify(status);
  socket.end(`HTTP/1.1 ${status.code} ${http.STATUS_CODES[status.code]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** A Status written on node's response, for refusals made before express has seen the request. */
function sendRaw(res: http.ServerResponse, e: StatusError): void {
  const body = JSON.stringify(e.status);
  res.writeHead(e.code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache, private' });
  res.end(body);
}

async function countObjects(storage: Storage, stores: Map<string, Store>): Promise<void> {
  for (const [plural, store] of stores) {
    const n = await storage.count(store.listPrefix()).catch(() => undefined);
    if (n !== undefined) storageObjects.set({ resource: store.resource.group ? `${plural}.${store.resource.group}` : plural }, n);
  }
}

/**
 * What kube-apiserver keeps in place from the start and retries until
 * storage is reachable: the system namespaces, and the `kubernetes` Service
 * with Endpoints and an EndpointSlice pointing at this server. The Service
 * has no selector, so no controller writes them (EndpointsAdapter upstream).
 */
class Bootstrap {
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly storeOf: (p: string) => Store, private readonly clusterIP: string, private readonly address: string, private readonly port: number) {}

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async run(): Promise<void> {
    try {
      for (const name of systemNamespaces) {
        await this.ensure('namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      }
      // kube's scheduling/bootstrap-system-priority-classes post-start hook.
      for (const pc of systemPriorityClasses) await this.ensure('priorityclasses', undefined, structuredClone(pc));
      await this.ensure('services', 'default', {
        apiVersion: 'v1', kind: 'Service',
        metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
        spec: { type: 'ClusterIP', clusterIP: this.clusterIP, sessionAffinity: 'None', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: this.port }] },
      });
      await this.storeOf('endpoints').update('default', 'kubernetes', () => ({
        apiVersion: 'v1', kind: 'Endpoints',
        metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
        subsets: [{ addresses: [{ ip: this.address }], ports: [{ name: 'https', port: this.port, protocol: 'TCP' }] }],
      }), { fieldManager: 'kube-apiserver' });
      await this.storeOf('endpointslices').update('default', 'kubernetes', () => ({
        apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
        metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: [this.address], conditions: { ready: true } }],
        ports: [{ name: 'https', port: this.port, protocol: 'TCP' }],
      }), { fieldManager: 'kube-apiserver', createIfMissing: true });
      log.info('bootstrap objects in place');
    } catch (e) {
      if (this.stopped) return;
      log.warn('bootstrap failed, retrying', { error: (e as Error).message });
      this.timer = setTimeout(() => void this.run(), 1000);
    }
  }

  private async ensure(plural: string, namespace: string | undefined, obj: KubeObject): Promise<void> {
    try {
      await this.storeOf(plural).create(namespace, obj, { fieldManager: 'kube-apiserver' });
    } catch (e) {
      if ((e as { code?: number }).code !== 409 && (e as { code?: number }).code !== 422) throw e;
    }
  }
}

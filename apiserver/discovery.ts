// API discovery as kube-apiserver serves it: the legacy documents (/api,
// /api/v1, /apis, /apis/{group}, /apis/{group}/{version}) and the aggregated
// apidiscovery.k8s.io/v2 (and v2beta1) documents kubectl 1.32 asks for first.
// Everything comes from the resource table; groups served by other routers
// (metrics.k8s.io) join through `extraGroups`.

import crypto from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { apiVersionOf, onTableChange, resources, type ResourceInfo } from '../api/resources.js';

/** An APIResource as /api/v1 and /apis/{g}/{v} list it. */
export interface APIResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  group?: string;
  version?: string;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  storageVersionHash?: string;
}

export interface ExtraGroup { group: string; version: string; resources: APIResource[] }

export interface DiscoveryOptions {
  table?: ResourceInfo[];
  extraGroups?: ExtraGroup[];
}

/** The kind and verbs of each subresource, as upstream registers them. */
const subresourceInfo: Record<string, { group?: string; version?: string; kind?: string; verbs: string[] }> = {
  status: { verbs: ['get', 'patch', 'update'] },
  ephemeralcontainers: { verbs: ['get', 'patch', 'update'] },
  scale: { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] },
  binding: { kind: 'Binding', verbs: ['create'] },
  log: { verbs: ['get'] },
  exec: { kind: 'PodExecOptions', verbs: ['create', 'get'] },
  attach: { kind: 'PodAttachOptions', verbs: ['create', 'get'] },
  portforward: { kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
  eviction: { group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] },
  // The kind is the resource's own (PodProxyOptions, ServiceProxyOptions, NodeProxyOptions).
  proxy: { verbs: ['create', 'delete', 'get', 'patch', 'update'] },
  finalize: { verbs: ['update'] },
  token: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] },
};

/** storageversion hash: the first 8 bytes of sha256("group/version/kind"), base64. */
function storageVersionHash(r: ResourceInfo): string {
  return crypto.createHash('sha256').update(`${r.group}/${r.version}/${r.kind}`).digest().subarray(0, 8).toString('base64');
}

function subresourceKind(r: ResourceInfo, sub: string) {
  const info = subresourceInfo[sub] ?? { verbs: ['get'] };
  return { info, kind: info.kind ?? (sub === 'log' ? 'Pod' : sub === 'proxy' ? `${r.kind}ProxyOptions` : r.kind) };
}

function apiResources(rs: ResourceInfo[]): APIResource[] {
  const out: APIResource[] = [];
  for (const r of rs) {
    const main: APIResource = { name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs };
    if (r.shortNames.length) main.shortNames = r.shortNames;
    if (r.categories?.length) main.categories = r.categories;
    // Only stored kinds have a storage version (kube lists none for the access reviews).
    if (!r.ephemeral) main.storageVersionHash = storageVersionHash(r);
    out.push(main);
    for (const sub of r.subresources) {
      const { info, kind } = subresourceKind(r, sub);
      const s: APIResource = { name: `${r.plural}/${sub}`, singularName: '', namespaced: r.namespaced, kind, verbs: info.verbs };
      if (info.group !== undefined) {
        s.group = info.group;
        s.version = info.version;
      }
      out.push(s);
    }
  }
  return out;
}

interface GroupVersion { group: string; version: string; resources: APIResource[]; aggregated: unknown[] }

function aggregatedFromTable(rs: ResourceInfo[]): unknown[] {
  return rs.map((r) => ({
    resource: r.plural,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: r.verbs,
    ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
    ...(r.categories?.length ? { categories: r.categories } : {}),
    ...(r.subresources.length
      ? { subresources: r.subresources.map((sub) => {
          const { info, kind } = subresourceKind(r, sub);
          return { subresource: sub, responseKind: { group: info.group ?? r.group, version: info.version ?? r.version, kind }, verbs: info.verbs };
        }) }
      : {}),
  }));
}

function aggregatedFromExtra(g: ExtraGroup): unknown[] {
  return g.resources.filter((r) => !r.name.includes('/')).map((r) => ({
    resource: r.name,
    responseKind: { group: g.group, version: g.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singularName || r.name,
    verbs: r.verbs,
  }));
}

function collect(opts: DiscoveryOptions): GroupVersion[] {
  const table = opts.table ?? resources;
  const byGV = new Map<string, GroupVersion>();
  for (const r of table) {
    const key = apiVersionOf(r);
    if (!byGV.has(key)) byGV.set(key, { group: r.group, version: r.version, resources: [], aggregated: [] });
  }
  for (const gv of byGV.values()) {
    const rs = table.filter((r) => r.group === gv.group && r.version === gv.version);
    gv.resources = apiResources(rs);
    gv.aggregated = aggregatedFromTable(rs);
  }
  for (const g of opts.extraGroups ?? []) {
    byGV.set(`${g.group}/${g.version}`, { group: g.group, version: g.version, resources: g.resources, aggregated: aggregatedFromExtra(g) });
  }
  return [...byGV.values()];
}

const aggregatedMedia = /^application\/json;\s*g=apidiscovery\.k8s\.io;\s*v=(v2|v2beta1);\s*as=APIGroupDiscoveryList$/;

/** The aggregated discovery version the client accepts first, if any (protobuf alternatives are skipped: Skiff speaks JSON). */
export function aggregatedVersion(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  for (const alt of (accept ?? '').split(',')) {
    const m = aggregatedMedia.exec(alt.trim().replace(/;\s*q=[\d.]+$/, '').replace(/\s*;\s*/g, ';'));
    if (m) return m[1] as 'v2' | 'v2beta1';
  }
  return undefined;
}

function sendAggregated(res: Response, version: 'v2' | 'v2beta1', groups: GroupVersion[], legacy: boolean): void {
  // One item per group, versions newest first; the core group has no name.
  const items = new Map<string, GroupVersion[]>();
  for (const gv of groups) {
    if ((gv.group === '') !== legacy) continue;
    if (!items.has(gv.group)) items.set(gv.group, []);
    items.get(gv.group)!.push(gv);
  }
  const body = {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: [...items].map(([group, gvs]) => ({
      metadata: group ? { name: group, creationTimestamp: null } : { creationTimestamp: null },
      versions: gvs.map((gv) => ({ version: gv.version, resources: gv.aggregated, freshness: 'Current' })),
    })),
  };
  res.setHeader('Vary', 'Accept');
  res.setHeader('Content-Type', `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`);
  // A Buffer keeps express from rewriting the media type (it would add a charset and spaces).
  res.send(Buffer.from(JSON.stringify(body)));
}

function groupEntry(group: string, gvs: GroupVersion[]) {
  const versions = gvs.map((gv) => ({ groupVersion: `${group}/${gv.version}`, version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function discoveryRouter(opts: DiscoveryOptions = {}): express.Router {
  const router = express.Router();
  // Built from the table on first use after each change of it (custom resources come and go while the server runs).
  let built: { all: GroupVersion[]; named: Map<string, GroupVersion[]> } | undefined;
  if (!opts.table) onTableChange(() => { built = undefined; });
  const current = () => {
    if (built) return built;
    const all = collect(opts);
    const named = new Map<string, GroupVersion[]>();
    for (const gv of all) {
      if (!gv.group) continue;
      if (!named.has(gv.group)) named.set(gv.group, []);
      named.get(gv.group)!.push(gv);
    }
    built = { all, named };
    return built;
  };

  router.get('/api', (req: Request, res: Response) => {
    const agg = aggregatedVersion(req.headers.accept);
    if (agg) return sendAggregated(res, agg, current().all, true);
    res.setHeader('Vary', 'Accept');
    const serverAddress = `${req.socket.localAddress?.replace(/^::ffff:/, '')}:${req.socket.localPort}`;
    res.json({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] });
  });

  router.get('/apis', (req: Request, res: Response) => {
    const agg = aggregatedVersion(req.headers.accept);
    if (agg) return sendAggregated(res, agg, current().all, false);
    res.setHeader('Vary', 'Accept');
    res.json({ kind: 'APIGroupList', apiVersion: 'v1', groups: [...current().named].map(([g, gvs]) => groupEntry(g, gvs)) });
  });

  router.get(['/api/:version', '/apis/:group/:version'], (req: Request, res: Response, next) => {
    const { group = '', version } = req.params as { group?: string; version: string };
    const gv = current().all.find((x) => x.group === group && x.version === version);
    if (!gv) return next();
    res.json({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv.group ? `${gv.group}/${gv.version}` : gv.version, resources: gv.resources });
  });
  router.get('/apis/:group', (req: Request, res: Response, next) => {
    const gvs = current().named.get((req.params as { group: string }).group);
    if (!gvs) return next();
    res.json({ kind: 'APIGroup', apiVersion: 'v1', ...groupEntry((req.params as { group: string }).group, gvs) });
  });
  return router;
}

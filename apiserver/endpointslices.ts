// discovery.k8s.io/v1 EndpointSlices, served read-only from the Endpoints the
// endpoints controller keeps. kubectl 1.32 reads a Service's endpoints from
// its slices (describe service lists EndpointSlices by the
// kubernetes.io/service-name label and never falls back to Endpoints), so
// without them every Service would describe as "Endpoints: <none>". Skiff
// has no EndpointSlice controller; deriving the slices from the same
// Endpoints keeps one source of truth instead of two controllers that could
// disagree. Slices are computed per request, so they cannot be written or
// watched.

import crypto from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { errors, isStatusError, type StatusError } from '../api/errors.js';
import type { ResourceInfo } from '../api/resources.js';
import type { KubeObject } from '../api/types.js';
import { parseSelector } from '../api/labels.js';
import { checkSupportedFields, parseFieldSelector, selectableFields } from '../api/fields.js';
import type { APIResource } from './discovery.js';
import { wantsTable } from './negotiation.js';
import { toTable } from './printers.js';
import { query } from './handlers/request.js';

export const endpointSliceResource: ResourceInfo = {
  group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', listKind: 'EndpointSliceList',
  plural: 'endpointslices', singular: 'endpointslice', shortNames: [], namespaced: true,
  subresources: [], verbs: ['get', 'list'], hasStatus: false,
};

export const endpointSliceGroupVersion = { group: 'discovery.k8s.io', version: 'v1' };

export const endpointSliceResources: APIResource[] = [
  { name: 'endpointslices', singularName: 'endpointslice', namespaced: true, kind: 'EndpointSlice', verbs: ['get', 'list'] },
];

export interface EndpointSliceSource {
  endpoints(namespace: string | undefined): Promise<KubeObject[]>;
  services(namespace: string | undefined): Promise<KubeObject[]>;
}

const serviceNameLabel = 'kubernetes.io/service-name';
const managedByLabel = 'endpointslice.kubernetes.io/managed-by';

/** A stable name and uid per (Endpoints uid, family, subset), so repeated reads name the same slice. */
function sliceIdentity(ep: KubeObject, key: string): { suffix: string; uid: string } {
  const h = crypto.createHash('sha256').update(`${ep.metadata.uid}/${key}`).digest();
  // generateName's alphabet (no vowels, no ambiguous digits).
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const suffix = Array.from(h.subarray(0, 5), (b) => alphabet[b % alphabet.length]).join('');
  const hex = h.subarray(5, 21).toString('hex');
  const uid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${((parseInt(hex[16], 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  return { suffix, uid };
}

interface EpAddress { ip: string; hostname?: string; nodeName?: string; targetRef?: Record<string, unknown> }

function endpointOf(a: EpAddress, ready: boolean): Record<string, unknown> {
  const e: Record<string, unknown> = { addresses: [a.ip], conditions: { ready, serving: ready, terminating: false } };
  if (a.hostname) e.hostname = a.hostname;
  if (a.targetRef) e.targetRef = a.targetRef;
  if (a.nodeName) e.nodeName = a.nodeName;
  return e;
}

/** The slices the endpointslice controller would keep for this Endpoints: one per subset and address family. */
export function slicesFor(ep: KubeObject, service: KubeObject | undefined): KubeObject[] {
  const name = ep.metadata.name!;
  const labels: Record<string, string> = {
    ...Object.fromEntries(Object.entries(ep.metadata.labels ?? {}).filter(([k]) => k !== 'endpointslice.kubernetes.io/skip-mirror')),
    [serviceNameLabel]: name,
    [managedByLabel]: service?.spec?.selector ? 'endpointslice-controller.k8s.io' : 'endpointslicemirroring-controller.k8s.io',
  };
  const ownerReferences = service?.metadata.uid
    ? [{ apiVersion: 'v1', kind: 'Service', name, uid: service.metadata.uid, controller: true, blockOwnerDeletion: true }]
    : undefined;
  const subsets: any[] = ep.subsets?.length ? ep.subsets : [{}];
  const out: KubeObject[] = [];
  subsets.forEach((ss, i) => {
    const all: [EpAddress, boolean][] = [
      ...((ss.addresses ?? []) as EpAddress[]).map((a): [EpAddress, boolean] => [a, true]),
      ...((ss.notReadyAddresses ?? []) as EpAddress[]).map((a): [EpAddress, boolean] => [a, false]),
    ];
    const families = new Map<string, [EpAddress, boolean][]>();
    for (const x of all) {
      const fam = x[0].ip.includes(':') ? 'IPv6' : 'IPv4';
      if (!families.has(fam)) families.set(fam, []);
      families.get(fam)!.push(x);
    }
    // A Service without ready or unready addresses still gets one empty slice, as upstream keeps a placeholder.
    if (!families.size) families.set('IPv4', []);
    for (const [family, addrs] of families) {
      const id = sliceIdentity(ep, `${i}/${family}`);
      const metadata: Record<string, unknown> = {
        name: `${name}-${id.suffix}`,
        generateName: `${name}-`,
        namespace: ep.metadata.namespace,
        uid: id.uid,
        resourceVersion: ep.metadata.resourceVersion,
        generation: 1,
        creationTimestamp: ep.metadata.creationTimestamp,
        labels,
      };
      if (ownerReferences) metadata.ownerReferences = ownerReferences;
      const ports = (ss.ports ?? []).map((p: any) => ({
        name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP', ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
      }));
      out.push({
        kind: 'EndpointSlice',
        apiVersion: 'discovery.k8s.io/v1',
        metadata,
        addressType: family,
        endpoints: addrs.length ? addrs.map(([a, ready]) => endpointOf(a, ready)) : null,
        ports: ports.length ? ports : null,
      } as KubeObject);
    }
  });
  return out;
}

async function allSlices(source: EndpointSliceSource, namespace: string | undefined): Promise<KubeObject[]> {
  const [eps, svcs] = await Promise.all([source.endpoints(namespace), source.services(namespace)]);
  const svc = new Map(svcs.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
  return eps.flatMap((ep) => slicesFor(ep, svc.get(`${ep.metadata.namespace}/${ep.metadata.name}`)))
    .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
}

function predicate(req: Request): (o: KubeObject) => boolean {
  let labels: ReturnType<typeof parseSelector>;
  let fields: ReturnType<typeof parseFieldSelector>;
  try {
    labels = parseSelector(query(req, 'labelSelector'));
  } catch (e) {
    throw errors.badRequest(`unable to parse requirement: ${(e as Error).message}`);
  }
  try {
    fields = parseFieldSelector(query(req, 'fieldSelector'));
  } catch (e) {
    throw errors.badRequest((e as Error).message);
  }
  checkSupportedFields(endpointSliceResource, fields);
  return (o) => labels.matches(o.metadata.labels) && fields.matches(selectableFields(endpointSliceResource, o));
}

export function endpointSliceRouter(source: EndpointSliceSource): express.Router {
  const router = express.Router();
  const base = '/apis/discovery.k8s.io/v1';
  const fail = (res: Response, e: unknown) => {
    const st: StatusError = isStatusError(e) ? e : errors.internal((e as Error)?.message ?? String(e));
    res.status(st.code).json(st.status);
  };
  const notAllowed = (req: Request, res: Response) => fail(res, errors.methodNotSupported('EndpointSlice', req.method));

  const list = async (req: Request, res: Response, namespace: string | undefined) => {
    try {
      if (req.query.watch === 'true' || req.query.watch === '1') throw errors.methodNotSupported('EndpointSlice', 'watch');
      const match = predicate(req);
      const items = (await allSlices(source, namespace)).filter(match);
      const resourceVersion = items.reduce((m, o) => Math.max(m, Number(o.metadata.resourceVersion) || 0), 0);
      const meta = { resourceVersion: String(resourceVersion) };
      if (wantsTable(req)) {
        const include = query(req, 'includeObject');
        res.json(toTable(endpointSliceResource, items, meta, { includeObject: include === 'None' || include === 'Object' ? include : 'Metadata' }));
        return;
      }
      res.json({ kind: 'EndpointSliceList', apiVersion: 'discovery.k8s.io/v1', metadata: meta, items });
    } catch (e) {
      fail(res, e);
    }
  };
  router.get(`${base}/endpointslices`, (req, res) => list(req, res, undefined));
  router.get(`${base}/namespaces/:ns/endpointslices`, (req, res) => list(req, res, req.params.ns));
  router.get(`${base}/namespaces/:ns/endpointslices/:name`, async (req, res) => {
    try {
      const found = (await allSlices(source, req.params.ns)).find((s) => s.metadata.name === req.params.name);
      if (!found) throw errors.notFound('endpointslices', req.params.name, 'discovery.k8s.io');
      if (wantsTable(req)) {
        res.json(toTable(endpointSliceResource, [found], { resourceVersion: found.metadata.resourceVersion }, {}));
        return;
      }
      res.json(found);
    } catch (e) {
      fail(res, e);
    }
  });
  router.all([`${base}/endpointslices`, `${base}/namespaces/:ns/endpointslices`, `${base}/namespaces/:ns/endpointslices/:name`], notAllowed);
  return router;
}

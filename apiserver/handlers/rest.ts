// The REST verbs on every resource of the table (k8s.io/apiserver/pkg/endpoints/handlers):
// decode, call the resource's store, encode JSON or a Table.

import type { Request, Response } from 'express';
import { errors, fieldCause, successStatus } from '../../api/errors.js';
import { apiVersionOf, type ResourceInfo } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { parseSelector } from '../../api/labels.js';
import { checkSupportedFields, parseFieldSelector, selectableFields } from '../../api/fields.js';
import { toTable, type TableOptions } from '../printers.js';
import { patchContentTypes, applyPatch, type PatchContentType } from '../patch/index.js';
import { decodeObject, mediaType, parseJSONBody, readBody, readRawBody, wantsTable } from '../negotiation.js';
import type { DeleteOptions, FieldValidation, Store, WriteOptions } from '../registry/store.js';
import type { Storage } from '../storage/interface.js';
import { createdJSONOf, decodeContinue } from '../storage/codec.js';
import { serveWatch } from '../watch.js';
import { query, type RequestInfo } from './request.js';
import { parseGoBool, queryBool } from '../../api/params.js';
import { userOf } from '../auth/context.js';
import type { AdmissionChain } from '../admission/chain.js';

export interface RestContext {
  storage: Storage;
  store(r: ResourceInfo): Store;
  bookmarkIntervalMs?: number;
  admission: AdmissionChain;
}

export function tableOptions(req: Request): TableOptions | undefined {
  if (!wantsTable(req)) return undefined;
  const include = query(req, 'includeObject');
  return { includeObject: include === 'None' || include === 'Object' ? include : 'Metadata' };
}

/** Write options from the query, with the request's admission bound to its user. */
export function writeOptions(ctx: RestContext, req: Request, info: RequestInfo, operation: 'CREATE' | 'UPDATE' = info.verb === 'create' ? 'CREATE' : 'UPDATE'): WriteOptions {
  checkFieldManager(query(req, 'fieldManager'), info.verb === 'create' ? 'CreateOptions' : info.verb === 'patch' ? 'PatchOptions' : 'UpdateOptions');
  const opts = queryWriteOptions(req);
  opts.admission = ctx.admission.forRequest({
    user: userOf(req), operation, resource: info.resource, subresource: info.subresource,
    namespace: info.namespace, name: info.name, dryRun: opts.dryRun, warnings: opts.warnings,
  });
  return opts;
}

/** apimachinery's FieldManagerMaxLength. */
const maxFieldManagerLength = 128;

/** ValidateFieldManager: at most 128 bytes of printable characters, refused as the options kind's 422. */
function checkFieldManager(manager: string | undefined, optionsKind: string): void {
  if (!manager) return;
  const causes = [];
  if (Buffer.byteLength(manager) > maxFieldManagerLength) causes.push(fieldCause('fieldManager', 'FieldValueTooLong', `Too long: may not be more than ${maxFieldManagerLength} bytes`));
  let i = 0;
  for (const ch of manager) {
    // unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
    if (!/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch)) {
      const cp = ch.codePointAt(0)!;
      causes.push(fieldCause('fieldManager', 'FieldValueInvalid', `Invalid value: ${JSON.stringify(manager)}: invalid character U+${cp.toString(16).toUpperCase().padStart(4, '0')} (at position ${i})`));
    }
    i += Buffer.byteLength(ch);
  }
  if (causes.length) throw errors.invalid(optionsKind, '', causes, 'meta.k8s.io');
}

function queryWriteOptions(req: Request): WriteOptions {
  const fv = query(req, 'fieldValidation');
  if (fv !== undefined && !['Strict', 'Warn', 'Ignore'].includes(fv)) {
    throw errors.badRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", got "${fv}"`);
  }
  const dryRun = query(req, 'dryRun');
  if (dryRun !== undefined && dryRun !== 'All') throw errors.badRequest(`Invalid dryRun value: "${dryRun}"`);
  return { dryRun: dryRun === 'All', fieldManager: query(req, 'fieldManager') ?? managerFromUserAgent(req), fieldValidation: fv as FieldValidation | undefined, warnings: [] };
}

/** kube-apiserver names an unnamed manager after the client program ("kubectl-edit/v1.32" -> "kubectl-edit"). */
function managerFromUserAgent(req: Request): string {
  return (req.headers['user-agent'] ?? 'unknown').split('/')[0].slice(0, 128) || 'unknown';
}

function sendWarnings(res: Response, o: WriteOptions): void {
  if (o.warnings?.length) res.setHeader('Warning', o.warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', '));
}

/** The predicate for ?labelSelector and ?fieldSelector; 400 on bad syntax or unsupported fields. */
export function selectorPredicate(req: Request, r: ResourceInfo): (o: KubeObject) => boolean {
  const ls = query(req, 'labelSelector');
  const fs = query(req, 'fieldSelector');
  let labelSel: ReturnType<typeof parseSelector> | undefined;
  let fieldSel: ReturnType<typeof parseFieldSelector> | undefined;
  try {
    if (ls) labelSel = parseSelector(ls);
  } catch (e) {
    throw errors.badRequest(`unable to parse requirement: ${(e as Error).message}`);
  }
  try {
    if (fs) fieldSel = parseFieldSelector(fs);
  } catch (e) {
    throw errors.badRequest((e as Error).message);
  }
  if (fieldSel) checkSupportedFields(r, fieldSel);
  const useLabels = labelSel && !labelSel.empty() ? labelSel : undefined;
  const useFields = fieldSel && !fieldSel.empty() ? fieldSel : undefined;
  return (o) => (!useLabels || useLabels.matches(o.metadata.labels)) && (!useFields || useFields.matches(selectableFields(r, o)));
}

/**
 * A continue token that does not decode is the client's error: kube's storage answers
 * 400 "invalid continue token: continue key is not valid: ..." before reading anything.
 */
function checkContinue(token: string, prefix: string): void {
  try {
    decodeContinue(token, prefix);
  } catch (e) {
    throw errors.badRequest(`invalid continue token: ${(e as Error).message}`);
  }
}

function parseRevision(rv: string | undefined): number {
  if (!rv) return 0;
  const n = Number(rv);
  if (!Number.isInteger(n) || n < 0) throw errors.badRequest(`invalid resource version: ${rv}`);
  return n;
}

/**
 * kube's isPrettyPrint: `?pretty` as strconv.ParseBool reads it (a value it
 * refuses is false, never an error), else a browser's, curl's or wget's user agent.
 */
function isPrettyPrint(req: Request): boolean {
  if (req.url?.includes('pretty')) {
    const p = query(req, 'pretty');
    if (p) return parseGoBool(p) ?? false;
  }
  const ua = req.headers['user-agent'] ?? '';
  return ua.startsWith('curl') || ua.startsWith('Wget') || ua.startsWith('Mozilla/5.0');
}

/**
 * A JSON response written straight to node's response: express's json/send
 * re-encode the string into a Buffer (which node then writes separately from
 * the headers) and run freshness checks that never apply here.
 */
export function sendJSON(res: Response, code: number, body: unknown): void {
  const text = res.req && isPrettyPrint(res.req) ? JSON.stringify(body, null, 2) : createdJSONOf(body as KubeObject) ?? JSON.stringify(body);
  res.statusCode = code;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

export function sendObject(req: Request, res: Response, r: ResourceInfo, code: number, obj: KubeObject): void {
  const table = tableOptions(req);
  if (table && obj.kind === r.kind) {
    sendJSON(res, code, toTable(r, [obj], { resourceVersion: obj.metadata.resourceVersion }, table));
    return;
  }
  sendJSON(res, code, obj);
}

export async function get(ctx: RestContext, req: Request, res: Response, info: RequestInfo): Promise<void> {
  const obj = await ctx.store(info.resource).get(info.namespace, info.name!);
  sendObject(req, res, info.resource, 200, obj);
}

export async function list(ctx: RestContext, req: Request, res: Response, info: RequestInfo): Promise<void> {
  const r = info.resource;
  const store = ctx.store(r);
  const predicate = selectorPredicate(req, r);
  const rv = query(req, 'resourceVersion');
  const match = query(req, 'resourceVersionMatch');
  if (match && !['Exact', 'NotOlderThan'].includes(match)) throw errors.badRequest(`resourceVersionMatch: unsupported value "${match}"`);
  if (match && !rv) throw errors.badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
  const limit = query(req, 'limit') ? Number(query(req, 'limit')) : undefined;
  // Only an Exact match (or a continued page) must read the past; otherwise the latest state is newer than asked, which NotOlderThan allows.
  const revision = match === 'Exact' ? parseRevision(rv) : 0;
  const cont = query(req, 'continue');
  if (cont) checkContinue(cont, store.listPrefix(info.namespace));
  const out = await store.list(info.namespace, { revision, limit: limit && limit > 0 ? limit : undefined, continue: cont, predicate });
  const meta = { resourceVersion: String(out.revision), ...(out.continue ? { continue: out.continue } : {}), ...(out.remainingItemCount !== undefined ? { remainingItemCount: out.remainingItemCount } : {}) };
  const table = tableOptions(req);
  if (table) {
    sendJSON(res, 200, toTable(r, out.items, meta, table));
    return;
  }
  sendJSON(res, 200, { kind: r.listKind, apiVersion: apiVersionOf(r), metadata: meta, items: out.items });
}

export function watch(ctx: RestContext, req: Request, res: Response, info: RequestInfo): void {
  const r = info.resource;
  const store = ctx.store(r);
  let predicate = selectorPredicate(req, r);
  if (info.name) {
    const byName = predicate;
    predicate = (o) => o.metadata.name === info.name && byName(o);
  }
  const timeout = query(req, 'timeoutSeconds');
  serveWatch(req, res, {
    resource: r,
    // The store's own storage: it converts when the kind is stored as another version.
    storage: store.storage,
    prefix: store.listPrefix(info.namespace),
    sinceRevision: parseRevision(query(req, 'resourceVersion')),
    predicate,
    allowBookmarks: queryBool(query(req, 'allowWatchBookmarks')),
    timeoutSeconds: timeout ? Number(timeout) : undefined,
    table: tableOptions(req),
    bookmarkIntervalMs: ctx.bookmarkIntervalMs,
  });
}

/** Decode a body for this resource: kind and apiVersion default from the URL and must match it. */
export async function decodeFor(req: Request, r: ResourceInfo, kind = r.kind, apiVersion = apiVersionOf(r)): Promise<KubeObject> {
  const obj = decodeObject(mediaType(req), await readRawBody(req));
  obj.kind ??= kind;
  obj.apiVersion ??= apiVersion;
  if (obj.apiVersion !== apiVersion) {
    throw errors.badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersion})`);
  }
  if (obj.kind !== kind) throw errors.badRequest(`${obj.kind} in version "${apiVersion}" cannot be handled as a ${kind}: the kind in the data does not match the expected kind`);
  return obj;
}

export async function create(ctx: RestContext, req: Request, res: Response, info: RequestInfo): Promise<void> {
  const r = info.resource;
  const obj = await decodeFor(req, r);
  if (r.namespaced && obj.metadata.namespace && obj.metadata.namespace !== info.namespace) {
    throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  if (r.namespaced && !info.namespace) throw errors.notFoundPath();
  const opts = writeOptions(ctx, req, info);
  const out = await ctx.store(r).create(info.namespace, obj, opts);
  sendWarnings(res, opts);
  sendObject(req, res, r, 201, out);
}

export async function update(ctx: RestContext, req: Request, res: Response, info: RequestInfo): Promise<void> {
  const r = info.resource;
  const obj = await decodeFor(req, r);
  const opts = writeOptions(ctx, req, info);
  const out = await ctx.store(r).update(info.namespace, info.name!, () => structuredClone(obj), { ...opts, subresource: info.subresource });
  sendWarnings(res, opts);
  sendObject(req, res, r, out.created ? 201 : 200, out.object);
}

export function patchType(req: Request): PatchContentType {
  const ct = mediaType(req);
  if (!(patchContentTypes as readonly string[]).includes(ct)) throw errors.unsupportedMediaType(ct);
  return ct as PatchContentType;
}

export async function patch(ctx: RestContext, req: Request, res: Response, info: RequestInfo): Promise<void> {
  const r = info.resource;
  const ct = patchType(req);
  const body = await readBody(req);
  const opts = writeOptions(ctx, req, info);
  const force = queryBool(query(req, 'force'));
  if (ct === 'application/apply-patch+yaml' && !query(req, 'fieldManager')) {
    throw errors.badRequest('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
  }
  const out = await ctx.store(r).update(info.namespace, info.name!, (current) =>
    applyPatch(ct, current, body, { resource: r, fieldManager: opts.fieldManager, force, subresource: info.subresource }), {
    ...opts,
    subresource: info.subresource,
    createIfMissing: ct === 'application/apply-patch+yaml' && !info.subresource,
  });
  sendWarnings(res, opts);
  sendObject(req, res, r, out.created ? 201 : 200, out.object);
}

/** DeleteOptions from the body (kubectl sends one) or the query. */
export async function deleteOptions(req: Request): Promise<DeleteOptions> {
  const raw = await readBody(req);
  let body: Record<string, any> = {};
  if (raw.trim()) {
    try {
      body = parseJSONBody(raw) as Record<string, any>;
    } catch (e) {
      throw errors.badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw errors.badRequest("Object 'Kind' is missing in the request body");
  }
  const grace = query(req, 'gracePeriodSeconds') ?? body.gracePeriodSeconds;
  const policy = query(req, 'propagationPolicy') ?? body.propagationPolicy;
  if (policy !== undefined && !['Orphan', 'Background', 'Foreground'].includes(policy)) {
    throw errors.badRequest(`DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${policy}"`);
  }
  const dryRun = query(req, 'dryRun') ?? (Array.isArray(body.dryRun) ? body.dryRun[0] : undefined);
  return {
    gracePeriodSeconds: grace === undefined || grace === null ? undefined : Number(grace),
    propagationPolicy: policy,
    orphanDependents: body.orphanDependents ?? (query(req, 'orphanDependents') !== undefined ? queryBool(query(req, 'orphanDependents')) : undefined),
    preconditions: body.preconditions,
    dryRun: dryRun === 'All',
  };
}

async function deleteOptionsFor(ctx: RestContext, req: Request, info: RequestInfo): Promise<DeleteOptions> {
  const o = await deleteOptions(req);
  o.admission = ctx.admission.forRequest({ user: userOf(req), operation: 'DELETE', resource: info.resource, subresource: info.subresource, namespace: info.namespace, name: info.name, dryRun: o.dryRun });
  return o;
}

export async function remove(ctx: RestContext, req: Request, res: Response, info: RequestInfo): Promise<void> {
  const r = info.resource;
  const store = ctx.store(r);
  const out = await store.delete(info.namespace, info.name!, await deleteOptionsFor(ctx, req, info));
  if (out.deleted && !store.strategy.returnDeletedObject) {
    res.json(successStatus({ name: info.name, group: r.group || undefined, kind: r.plural, uid: out.object.metadata.uid }));
    return;
  }
  res.json(out.object);
}

export async function removeCollection(ctx: RestContext, req: Request, res: Response, info: RequestInfo): Promise<void> {
  const r = info.resource;
  const store = ctx.store(r);
  const options = await deleteOptionsFor(ctx, req, info);
  const predicate = selectorPredicate(req, r);
  const { items } = await store.list(info.namespace, { predicate });
  const deleted: KubeObject[] = [];
  for (const o of items) {
    try {
      deleted.push((await store.delete(o.metadata.namespace, o.metadata.name!, options)).object);
    } catch (e) {
      // Someone else deleted it between our list and delete: that is the outcome we wanted.
      if ((e as { code?: number }).code !== 404) throw e;
    }
  }
  res.json({ kind: r.listKind, apiVersion: apiVersionOf(r), metadata: {}, items: deleted });
}

// Patch application for PATCH requests, by content type:
// application/json-patch+json (RFC 6902), application/merge-patch+json
// (RFC 7386), application/strategic-merge-patch+json (Kubernetes' strategic
// merge patch with merge keys and directives) and application/apply-patch+yaml
// (server-side apply with managedFields).

import { errors, fieldCause } from '../../api/errors.js';
import type { KubeObject } from '../../api/types.js';
import { apiVersionOf, findByKind, type ResourceInfo } from '../../api/resources.js';
import { logger } from '../../lib/log.js';
import { parseYAMLBody } from '../negotiation.js';
import { applyJSONPatch, applyMergePatch, isObject, parseJSON } from './jsonpatch.js';
import { parsePatchObject, strategicMergePatch } from './strategic.js';
import { FieldSet } from './fieldset.js';
import { zeroObject } from './mergekeys.js';
import {
  compare, conflictError, decodeManagers, encodeManagers, managedView, managerId, mergeApplied, nowTime, prune, fieldSetOf,
  type Conflict, type Manager,
} from './managed.js';

const log = logger('patch');

export const patchContentTypes = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
] as const;
export type PatchContentType = (typeof patchContentTypes)[number];

export interface PatchContext {
  resource: ResourceInfo;
  fieldManager?: string;
  /** Server-side apply: take ownership of conflicting fields. */
  force?: boolean;
  subresource?: string;
}

const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';
/** The manager kube gives fields of an object that had no managedFields when it was first applied to. */
const beforeFirstApply = 'before-first-apply';

/**
 * Objects whose managedFields server-side apply already wrote: the store's
 * recordUpdate after an apply must not also count the write as an Update.
 */
const applied = new WeakSet<object>();

/**
 * The patched object. `current` is undefined only for apply patches to a
 * missing object (server-side apply creates). `patch` is the raw body text.
 * Throws StatusError: 400 for malformed patches, 422 for patches that cannot
 * apply (a json-patch test that fails), 409 for apply conflicts.
 */
export function applyPatch(contentType: PatchContentType, current: KubeObject | undefined, patch: string, ctx: PatchContext): KubeObject {
  if (ctx.force !== undefined && ctx.force && contentType !== 'application/apply-patch+yaml') {
    throw errors.invalid('PatchOptions', '', [{ reason: 'FieldValueForbidden', field: 'force', message: 'Forbidden: may not be specified for non-apply patch' }], 'meta.k8s.io');
  }
  if (contentType === 'application/apply-patch+yaml') return serverSideApply(current, patch, ctx);
  if (!current) throw errors.notFound(ctx.resource.plural, '', ctx.resource.group);
  let out: unknown;
  switch (contentType) {
    case 'application/json-patch+json':
      out = applyJSONPatch(current, patch);
      break;
    case 'application/merge-patch+json':
      out = applyMergePatch(current, parseJSON(patch));
      break;
    case 'application/strategic-merge-patch+json':
      out = strategicMergePatch(current.kind ?? ctx.resource.kind, current, parsePatchObject(patch));
      break;
  }
  if (!isObject(out)) throw errors.badRequest('the patched object is not a JSON object');
  keepType(contentType, current, out, ctx.resource);
  if (!isObject(out.metadata)) out.metadata = {};
  const meta = out.metadata as Record<string, unknown>;
  const name = current.metadata.name ?? '';
  // As kube's checkName: a patch that leaves the object without a name (a root $patch: delete or replace, a
  // removed /metadata/name) cannot be matched to the URL.
  if (typeof meta.name !== 'string' || meta.name === '') {
    throw errors.badRequest(`the name of the object (${name} based on URL) was undeterminable: name must be provided`);
  }
  return out as KubeObject;
}

/**
 * A patch never changes what an object is. kube decodes the patched JSON into
 * the resource's Go type: a json or merge patch that names another
 * apiVersion/kind fails that decode (422 Invalid on "patch"), one that removes
 * them gets them back from the type, and a strategic merge patch goes through
 * the unstructured converter, which ignores them, so they come from the type.
 */
function keepType(contentType: PatchContentType, current: KubeObject, out: Record<string, unknown>, r: ResourceInfo): void {
  const apiVersion = current.apiVersion ?? apiVersionOf(r);
  const kind = current.kind ?? r.kind;
  if (contentType !== 'application/strategic-merge-patch+json') {
    const av = out.apiVersion ?? apiVersion;
    const k = out.kind ?? kind;
    if (typeof av !== 'string' || typeof k !== 'string') {
      // The decoder reads apiVersion and kind into strings before anything else (json.Interpret's findKind).
      const [field, v] = typeof av !== 'string' ? ['apiVersion', av] : ['kind', k];
      const jsonType = Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v === 'boolean' ? 'bool' : typeof v;
      const why = `couldn't get version/kind; json parse error: json: cannot unmarshal ${jsonType} into Go struct field .${field} of type string`;
      throw errors.invalid('', '', [fieldCause('patch', 'FieldValueInvalid', `Invalid value: ${JSON.stringify(JSON.stringify(out))}: ${why}`)]);
    }
    if (av !== apiVersion || k !== kind) {
      const why = findByKind(av, k)
        ? `converting (${av.split('/').pop()}.${k}) to (${apiVersion.includes('/') ? apiVersion.split('/')[0] : 'core'}.${kind}): unknown conversion`
        : `no kind ${JSON.stringify(k)} is registered for version ${JSON.stringify(av)}`;
      throw errors.invalid('', '', [fieldCause('patch', 'FieldValueInvalid', `Invalid value: ${JSON.stringify(JSON.stringify(out))}: ${why}`)]);
    }
  }
  out.apiVersion = apiVersion;
  out.kind = kind;
}

function statusSubresource(r: ResourceInfo): boolean {
  return r.subresources.includes('status');
}

function parseApplied(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = parseYAMLBody(text);
  } catch (e) {
    throw errors.badRequest(`error decoding YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!isObject(v)) throw errors.badRequest('error decoding YAML: the applied configuration is not an object');
  return v;
}

function serverSideApply(current: KubeObject | undefined, text: string, ctx: PatchContext): KubeObject {
  const r = ctx.resource;
  const config = parseApplied(text);
  const kind = current?.kind ?? r.kind;
  const apiVersion = current?.apiVersion ?? apiVersionOf(r);
  if (config.apiVersion !== apiVersion) {
    throw errors.badRequest(`Incorrect version specified in apply patch. Specified patch version: ${config.apiVersion ?? ''}, expected: ${apiVersion}`);
  }
  if (config.kind !== kind) throw errors.badRequest(`Incorrect kind specified in apply patch. Specified patch kind: ${config.kind ?? ''}, expected: ${kind}`);
  const cfgMeta = isObject(config.metadata) ? config.metadata : {};
  if (cfgMeta.managedFields !== undefined && cfgMeta.managedFields !== null) throw errors.badRequest('metadata.managedFields must be nil');
  const manager = ctx.fieldManager;
  if (!manager) throw errors.badRequest('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
  const hasStatus = statusSubresource(r) && kind === r.kind;
  const view = (o: Record<string, unknown>) => managedView(o, hasStatus, ctx.subresource);
  const live: KubeObject = current ? structuredClone(current) : { apiVersion, kind, metadata: {} };

  let managers: Map<string, Manager>;
  try {
    managers = decodeManagers(live.metadata.managedFields);
  } catch {
    managers = new Map();
  }
  const time = nowTime();
  if (managers.size === 0 && current) {
    // An object written before anything tracked ownership: its fields belong to an updater, so an apply must not silently drop them.
    const before = compare(kind, view(zeroObject(r)), view(live));
    const set = before.added.union(before.modified);
    const m: Manager = { manager: beforeFirstApply, operation: 'Update', apiVersion, time, set };
    if (!set.empty()) managers.set(managerId(m), m);
  }

  const id = managerId({ manager, operation: 'Apply', apiVersion, subresource: ctx.subresource });
  let appliedSet: FieldSet;
  let merged: Record<string, unknown>;
  try {
    appliedSet = fieldSetOf(kind, view(config));
    merged = mergeApplied(kind, live, config) as Record<string, unknown>;
  } catch (e) {
    // kube lets this through as a 500 (a plain error from structured-merge-diff); it is the applied
    // configuration that does not fit the type (a list item without its key, a map where a list goes),
    // so Skiff answers 400 with the same message: no client input is a server fault (issue #11).
    throw errors.badRequest(`failed to create typed patch object (${r.group ? `${r.group}/` : ''}${r.version}, Kind=${kind}): ${(e as Error).message}`);
  }
  const last = managers.get(id)?.set;
  const self: Manager = { manager, operation: 'Apply', apiVersion, subresource: ctx.subresource, time, set: appliedSet };
  managers.set(id, self);
  if (last) {
    let owned = new FieldSet();
    for (const m of managers.values()) owned = owned.union(m.set);
    merged = prune(kind, merged, last, owned) as Record<string, unknown>;
  }

  const diff = compare(kind, view(live), view(merged));
  const changed = diff.added.union(diff.modified);
  const conflicts: Conflict[] = [];
  for (const [mid, m] of managers) {
    if (mid === id) continue;
    for (const path of m.set.intersection(changed).paths()) conflicts.push({ manager: m, path });
  }
  if (conflicts.length && !ctx.force && !allowedByLastApplied(kind, manager, live, conflicts, view)) {
    conflicts.sort((a, b) => (a.manager.manager < b.manager.manager ? -1 : a.manager.manager > b.manager.manager ? 1 : 0));
    throw conflictError(conflicts);
  }
  for (const [mid, m] of managers) {
    if (mid === id) continue;
    m.set = m.set.difference(changed).difference(diff.removed);
    if (m.set.empty()) managers.delete(mid);
  }

  const out = merged as KubeObject;
  if (!isObject(out.metadata)) out.metadata = {};
  syncLastApplied(manager, out, config);
  const entries = encodeManagers(managers);
  if (entries.length) out.metadata.managedFields = entries;
  else delete out.metadata.managedFields;
  applied.add(out);
  return out;
}

/**
 * lastAppliedManager: kubectl's own server-side apply may take over fields
 * that client-side apply set, as long as they still hold the last-applied
 * values, so switching an object from client-side to server-side apply does
 * not conflict with kubectl-client-side-apply.
 */
function allowedByLastApplied(kind: string, manager: string, live: KubeObject, conflicts: Conflict[], view: (o: Record<string, unknown>) => Record<string, unknown>): boolean {
  if (manager !== 'kubectl') return false;
  const text = live.metadata.annotations?.[lastAppliedAnnotation];
  if (!text) return false;
  try {
    const lastApplied = JSON.parse(text);
    if (!isObject(lastApplied)) return false;
    const allowed = fieldSetOf(kind, view(lastApplied)).difference(compare(kind, view(lastApplied), view(live)).modified);
    return conflicts.every((c) => allowed.has(c.path));
  } catch {
    return false;
  }
}

/** lastAppliedUpdater: kubectl's server-side apply keeps an existing last-applied annotation in step with what it applied. */
function syncLastApplied(manager: string, obj: KubeObject, config: Record<string, unknown>): void {
  if (manager !== 'kubectl' || obj.metadata.annotations?.[lastAppliedAnnotation] === undefined) return;
  const copy = structuredClone(config);
  const meta = copy.metadata;
  if (isObject(meta) && isObject(meta.annotations)) {
    delete meta.annotations[lastAppliedAnnotation];
    if (Object.keys(meta.annotations).length === 0) delete meta.annotations;
  }
  obj.metadata.annotations[lastAppliedAnnotation] = JSON.stringify(copy);
}

/**
 * Record a non-apply write (create, update, patch) in metadata.managedFields
 * as an "Update" operation by the manager, as kube-apiserver does.
 */
export function recordUpdate(resource: ResourceInfo, oldObj: KubeObject | undefined, newObj: KubeObject, manager: string, subresource?: string): void {
  if (applied.has(newObj)) return;
  try {
    updateManagedFields(resource, oldObj, newObj, manager, subresource);
  } catch (e) {
    // As FieldManager.UpdateNoErrors: bookkeeping never fails a write, and garbage is not kept.
    log.debug('managedFields not updated', { resource: resource.plural, name: newObj?.metadata?.name, error: (e as Error).message });
    if (isObject(newObj?.metadata)) delete newObj.metadata.managedFields;
  }
}

function isReset(entries: unknown): boolean {
  return Array.isArray(entries) && entries.length > 0 && entries.every((e) => isObject(e) && Object.keys(e).length === 0);
}

function updateManagedFields(r: ResourceInfo, oldObj: KubeObject | undefined, newObj: KubeObject, manager: string, subresource?: string): void {
  const meta = newObj.metadata;
  if (!isObject(meta)) return;
  // managedFields: [{}] is how a client clears ownership (kube's documented reset).
  if (isReset(meta.managedFields)) {
    delete meta.managedFields;
    return;
  }
  const given = meta.managedFields;
  const useGiven = !subresource && Array.isArray(given) && given.length > 0;
  let managers: Map<string, Manager>;
  try {
    managers = decodeManagers(useGiven ? given : oldObj?.metadata.managedFields);
  } catch {
    managers = decodeManagers(oldObj?.metadata.managedFields);
  }
  // skipNonAppliedManager: an existing object nobody tracked stays untracked until someone applies.
  if (managers.size === 0 && oldObj) {
    delete meta.managedFields;
    return;
  }
  const kind = newObj.kind ?? r.kind;
  const apiVersion = apiVersionOf(r);
  const hasStatus = statusSubresource(r);
  const live = oldObj ?? zeroObject(r);
  const diff = compare(kind, managedView(live, hasStatus, subresource), managedView(newObj, hasStatus, subresource));
  const took = diff.added.add(diff.modified);
  for (const [id, m] of managers) {
    m.set = m.set.difference(took).difference(diff.removed);
    if (m.set.empty()) managers.delete(id);
  }
  if (!took.empty()) {
    const self: Manager = { manager, operation: 'Update', apiVersion, subresource, time: nowTime(), set: took };
    const id = managerId(self);
    const prev = managers.get(id);
    if (prev) self.set = prev.set.union(took);
    managers.set(id, self);
  }
  const entries = encodeManagers(managers);
  if (entries.length) meta.managedFields = entries;
  else delete meta.managedFields;
}

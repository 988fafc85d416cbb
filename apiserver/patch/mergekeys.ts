// Patch strategies of list fields and atomic maps, read from the kind's
// OpenAPI definition (api/schemas: kube's own, with the patchStrategy /
// patchMergeKey / listType / listMapKeys / mapType tags of k8s.io/api folded
// in by api/openapi/generate.ts), the way kube's strategic merge patch and
// structured-merge-diff read them from the schema. Lists with neither a patch
// strategy nor a list type are atomic: a strategic patch replaces them whole
// and server-side apply owns them as one field.

import { kindOf, resources, type ResourceInfo } from '../../api/resources.js';
import { definitions, kindDefinitionName, resolve, type Schema } from '../../api/schemas/index.js';

export interface ListStrategy {
  /** Strategic merge patch: merge by this key (undefined: a merged set of primitives). */
  mergeKey?: string;
  /** Server-side apply list map keys when they are more than the merge key. */
  applyKeys?: string[];
}

/**
 * The schema of the field at a dotted path of field names, list positions
 * left out (a list steps into its items, a map into its values): the
 * property's own schema, which carries the extensions, and what it resolves to.
 */
function fieldSchema(kind: string, path: string): { own: Schema; target: Schema } | undefined {
  const r = resources.find((x) => x.kind === kind);
  // A custom resource's list types and map keys are in its CRD's schema (KindDefinition.openapi).
  const published = r && kindOf(r).openapi;
  const def = r && kindDefinitionName(r);
  if (!def && !published) return undefined;
  let own: Schema = published ? published.definitions[published.kind] as Schema : definitions[def!]!;
  let target = own;
  for (const name of path.split('.')) {
    while (target.type === 'array' && target.items) target = resolve(target.items);
    const next = target.properties?.[name] ?? (typeof target.additionalProperties === 'object' ? target.additionalProperties : undefined);
    if (!next) return undefined;
    own = next;
    target = resolve(next);
  }
  return { own, target };
}

// Patches and applies ask about the same few paths again and again.
const listCache = new Map<string, ListStrategy | undefined>();
const atomicCache = new Map<string, boolean>();

/**
 * The strategy of the list at a dotted path of field names ("spec.containers",
 * list positions left out), or undefined for an atomic list.
 */
export function listStrategy(kind: string, path: string): ListStrategy | undefined {
  const key = `${kind}\u0000${path}`;
  if (listCache.has(key)) return listCache.get(key);
  const s = fieldSchema(kind, path)?.own;
  let out: ListStrategy | undefined;
  if (s && (s['x-kubernetes-list-type'] === 'map' || s['x-kubernetes-list-type'] === 'set' || s['x-kubernetes-patch-strategy']?.split(',').includes('merge'))) {
    const mergeKey = s['x-kubernetes-patch-merge-key'] ?? s['x-kubernetes-list-map-keys']?.[0];
    const keys = s['x-kubernetes-list-map-keys'];
    out = { ...(mergeKey ? { mergeKey } : {}), ...(keys && keys.length > 1 ? { applyKeys: keys } : {}) };
  }
  listCache.set(key, out);
  return out;
}

/** Server-side apply keys of a keyed list ([] for a set of primitives). */
export function applyKeys(s: ListStrategy): string[] {
  return s.applyKeys ?? (s.mergeKey ? [s.mergeKey] : []);
}

/** Whether the map or struct at path is owned and replaced as a whole by server-side apply (+mapType/+structType=atomic). */
export function isAtomicMap(kind: string, path: string): boolean {
  const key = `${kind}\u0000${path}`;
  let out = atomicCache.get(key);
  if (out === undefined) {
    const f = fieldSchema(kind, path);
    out = f?.own['x-kubernetes-map-type'] === 'atomic' || f?.target['x-kubernetes-map-type'] === 'atomic';
    atomicCache.set(key, out);
  }
  return out;
}

/**
 * The kind's empty object as Go serializes its zero value: struct fields
 * without pointers are present as {}. Server-side apply compares a created
 * object against this, which is why kube's managedFields give f:spec no "."
 * while f:labels (omitempty) gets one.
 */
export function zeroObject(r: ResourceInfo): Record<string, unknown> {
  return kindOf(r).zeroValue?.() ?? { metadata: {} };
}

// Patch strategies of list fields and atomic maps, read from the kind's
// OpenAPI definition (api/schemas: kube's own, with the patchStrategy /
// patchMergeKey / listType / listMapKeys / mapType tags of k8s.io/api folded
// in by api/openapi/generate.ts), the way kube's strategic merge patch and
// structured-merge-diff read them from the schema. Lists with neither a patch
// strategy nor a list type are atomic: a strategic patch replaces them whole
// and server-side apply owns them as one field.

import { kindOf, onTableChange, resources, type ResourceInfo } from '../../api/resources.js';
import { definitions, kindDefinitionName, resolve, type Schema } from '../../api/schemas/index.js';

export interface ListStrategy {
  /** Strategic merge patch: merge by this key (undefined: a merged set of primitives). */
  mergeKey?: string;
  /** Server-side apply list map keys when they are more than the merge key. */
  applyKeys?: string[];
}

/**
 * A field's place in a kind's schema: what structured-merge-diff's typed
 * walk carries from node to node. Children are made once and kept, so the
 * walks every write does (managedFields) build no path strings and no cache
 * keys; every key of a map (labels, a ConfigMap's data) shares its one value
 * node, and a field the schema does not know is the one `unknownField`, so
 * what is kept is bounded by the schema, not by the objects written.
 */
export class SchemaNode {
  private named?: Map<string, SchemaNode>;
  private anyKey?: SchemaNode;
  private strategy?: { value: ListStrategy | undefined };
  private atomic?: boolean;

  /** own: the property's schema, which carries the extensions; target: what it resolves to. */
  constructor(private readonly own?: Schema, private readonly target?: Schema) {}

  /** The field `name` below this one (a list steps into its items, a map into its values). */
  child(name: string): SchemaNode {
    let t = this.target;
    while (t?.type === 'array' && t.items) t = resolve(t.items);
    if (!t) return unknownField;
    const prop = t.properties && Object.hasOwn(t.properties, name) ? t.properties[name] : undefined;
    if (prop) {
      let c = this.named?.get(name);
      if (!c) (this.named ??= new Map()).set(name, (c = new SchemaNode(prop, resolve(prop))));
      return c;
    }
    if (t.additionalProperties && typeof t.additionalProperties === 'object') {
      return (this.anyKey ??= new SchemaNode(t.additionalProperties, resolve(t.additionalProperties)));
    }
    return unknownField;
  }

  /** The strategy of the list here, or undefined for an atomic list (or no list). */
  get list(): ListStrategy | undefined {
    if (this.strategy) return this.strategy.value;
    const s = this.own;
    let out: ListStrategy | undefined;
    if (s && (s['x-kubernetes-list-type'] === 'map' || s['x-kubernetes-list-type'] === 'set' || s['x-kubernetes-patch-strategy']?.split(',').includes('merge'))) {
      const mergeKey = s['x-kubernetes-patch-merge-key'] ?? s['x-kubernetes-list-map-keys']?.[0];
      const keys = s['x-kubernetes-list-map-keys'];
      out = { ...(mergeKey ? { mergeKey } : {}), ...(keys && keys.length > 1 ? { applyKeys: keys } : {}) };
    }
    this.strategy = { value: out };
    return out;
  }

  /** Whether the map or struct here is owned and replaced as a whole (+mapType/+structType=atomic). */
  get atomicMap(): boolean {
    return (this.atomic ??= this.own?.['x-kubernetes-map-type'] === 'atomic' || this.target?.['x-kubernetes-map-type'] === 'atomic');
  }
}

const unknownField = new SchemaNode();
const roots = new Map<string, SchemaNode>();
// A CRD registered, changed or removed: its kind's list types and map keys are its new schema's.
onTableChange(() => roots.clear());

/** The root of a kind's schema. */
export function schemaRoot(kind: string): SchemaNode {
  const cached = roots.get(kind);
  if (cached) return cached;
  const r = resources.find((x) => x.kind === kind);
  // A custom resource's list types and map keys are in its CRD's schema (KindDefinition.openapi).
  const published = r && kindOf(r).openapi;
  const def = r && kindDefinitionName(r);
  // Not kept: a custom resource's kind may register later.
  if (!def && !published) return unknownField;
  const own: Schema = published ? published.definitions[published.kind] as Schema : definitions[def!]!;
  const root = new SchemaNode(own, own);
  roots.set(kind, root);
  return root;
}

/** The node at a dotted path of field names, list positions left out ("spec.containers"). */
function nodeAt(kind: string, path: string): SchemaNode {
  let n = schemaRoot(kind);
  for (const name of path.split('.')) n = n.child(name);
  return n;
}

/**
 * The strategy of the list at a dotted path of field names ("spec.containers",
 * list positions left out), or undefined for an atomic list.
 */
export function listStrategy(kind: string, path: string): ListStrategy | undefined {
  return nodeAt(kind, path).list;
}

/** Server-side apply keys of a keyed list ([] for a set of primitives). */
export function applyKeys(s: ListStrategy): string[] {
  return s.applyKeys ?? (s.mergeKey ? [s.mergeKey] : []);
}

/** Whether the map or struct at path is owned and replaced as a whole by server-side apply (+mapType/+structType=atomic). */
export function isAtomicMap(kind: string, path: string): boolean {
  return nodeAt(kind, path).atomicMap;
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

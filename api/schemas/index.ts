// Every definition Skiff publishes and validates with: Kubernetes' own v1.32
// definitions (api/openapi/kube-v1.32.json, rebuilt by api/openapi/generate.ts
// from the official client, with the list, map and enum semantics of
// api/openapi/extensions.ts folded in), named as kube-apiserver names them
// (io.k8s.api.core.v1.Pod). Nothing here is hand-written: a kind's schema is
// kube's, or the one its KindDefinition names.

import fs from 'node:fs';
import { kindOf, type ResourceInfo } from '../kind.js';
import { groupPackage } from '../openapi/generate.js';

export { groupPackage };

/** An OpenAPI v3 structural schema as kube-apiserver publishes them. */
export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  allOf?: Schema[];
  oneOf?: Schema[];
  $ref?: string;
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-unions'?: unknown[];
}

export const refPrefix = '#/components/schemas/';

const m = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
/** k8s.io/apimachinery meta/v1 and util types generic code refers to. */
export const metaNames = {
  ObjectMeta: m + 'ObjectMeta',
  ListMeta: m + 'ListMeta',
  LabelSelector: m + 'LabelSelector',
  Time: m + 'Time',
  MicroTime: m + 'MicroTime',
  Status: m + 'Status',
  DeleteOptions: m + 'DeleteOptions',
  Patch: m + 'Patch',
  WatchEvent: m + 'WatchEvent',
  IntOrString: 'io.k8s.apimachinery.pkg.util.intstr.IntOrString',
  Quantity: 'io.k8s.apimachinery.pkg.api.resource.Quantity',
};

export function definitionName(group: string, version: string, kind: string): string {
  return `${groupPackage(group)}.${version}.${kind}`;
}

/**
 * Kubernetes' own v1.32 definitions. Read from disk, not imported, so that
 * only processes that validate or publish schemas pay for parsing them.
 */
function kubeDefinitions(): Record<string, Schema> {
  const file = new URL('../openapi/kube-v1.32.json', import.meta.url);
  // The build (tsc) does not copy JSON; from dist/ read the source tree's copy.
  const src = fs.existsSync(file) ? file : new URL('../../../api/openapi/kube-v1.32.json', import.meta.url);
  return (JSON.parse(fs.readFileSync(src, 'utf8')) as { definitions: Record<string, Schema> }).definitions;
}

export const definitions: Record<string, Schema> = kubeDefinitions();

/** The schema of a resource's kind, or undefined when there is none (then objects are not checked). */
export function kindDefinitionName(r: ResourceInfo): string | undefined {
  const own = kindOf(r).schema;
  if (own === null) return undefined;
  const name = own ?? definitionName(r.group, r.version, r.kind);
  return definitions[name] ? name : undefined;
}

/** Follow $ref and single-element allOf to the definition a property points at. */
export function resolve(s: Schema, defs: Record<string, Schema> = definitions): Schema {
  let cur = s;
  for (let i = 0; i < 10; i++) {
    const target = cur.$ref ?? (cur.allOf?.length === 1 ? cur.allOf[0].$ref : undefined);
    if (!target) return cur;
    const next = defs[target.slice(refPrefix.length)];
    if (!next) throw new Error(`unresolved schema reference ${target}`);
    cur = next;
  }
  return cur;
}

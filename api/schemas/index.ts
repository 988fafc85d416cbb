// Every definition Skiff publishes, named as kube-apiserver names them in
// OpenAPI (io.k8s.api.core.v1.Pod). Kind and list schemas are derived from
// the resource table, so adding a kind means adding its entry in kindFields.

import fs from 'node:fs';
import { resources, kindOf, type ResourceInfo } from '../resources.js';
import { appsKinds, appsSchemas } from './apps.js';
import { coreKinds, coreSchemas } from './core.js';
import { discoveryKinds, discoverySchemas } from './discovery.js';
import { list, ref, refPrefix, str, type Schema } from './dsl.js';
import { metaNames, metaSchemas } from './meta.js';
import { rbacKinds, rbacSchemas } from './rbac.js';
import { authorizationKinds, authorizationSchemas } from './authorization.js';
import { authenticationKinds, authenticationSchemas } from './authentication.js';
import { certificatesKinds, certificatesSchemas } from './certificates.js';

export type { Schema } from './dsl.js';
export { metaNames, refPrefix };

/** Go package path of an API group, as OpenAPI definition names use it. */
export function groupPackage(group: string): string {
  if (group === '') return 'io.k8s.api.core';
  // Go packages are named by the group's first label: rbac.authorization.k8s.io is io.k8s.api.rbac.
  if (group.endsWith('.k8s.io') && group !== 'metrics.k8s.io') return `io.k8s.api.${group.split('.')[0]}`;
  if (group === 'metrics.k8s.io') return 'io.k8s.metrics.pkg.apis.metrics';
  if (!group.includes('.')) return `io.k8s.api.${group}`;
  return group.split('.').reverse().join('.');
}

export function definitionName(group: string, version: string, kind: string): string {
  return `${groupPackage(group)}.${version}.${kind}`;
}

const kindFields: Record<string, { description: string; properties: Record<string, Schema>; required?: string[] }> = { ...coreKinds, ...appsKinds, ...discoveryKinds, ...rbacKinds, ...authorizationKinds, ...authenticationKinds, ...certificatesKinds };

const typeMeta = {
  apiVersion: str('APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources'),
  kind: str('Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds'),
};

function kindSchema(group: string, version: string, kind: string): Schema {
  const f = kindFields[kind];
  return {
    type: 'object',
    description: f.description,
    properties: { ...typeMeta, metadata: ref(metaNames.ObjectMeta, "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"), ...f.properties },
    ...(f.required ? { required: f.required } : {}),
    'x-kubernetes-group-version-kind': [{ group, kind, version }],
  };
}

function listSchema(r: ResourceInfo): Schema {
  return {
    type: 'object',
    description: `${r.listKind} is a list of ${r.kind} objects.`,
    properties: {
      ...typeMeta,
      items: list(definitionName(r.group, r.version, r.kind), `List of ${r.plural}.`),
      metadata: ref(metaNames.ListMeta, 'Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds'),
    },
    required: ['items'],
    'x-kubernetes-group-version-kind': [{ group: r.group, kind: r.listKind, version: r.version }],
  };
}

/**
 * Kubernetes' own v1.32 definitions (api/openapi/kube-v1.32.json, rebuilt by
 * api/openapi/generate.ts): the schema of every built-in kind that has no
 * hand-written one below. Read from disk, not imported, so that only the API
 * server, which validates, pays for it.
 */
function kubeDefinitions(): Record<string, Schema> {
  const file = new URL('../openapi/kube-v1.32.json', import.meta.url);
  // The build (tsc) does not copy JSON; from dist/ read the source tree's copy.
  const src = fs.existsSync(file) ? file : new URL('../../../api/openapi/kube-v1.32.json', import.meta.url);
  return (JSON.parse(fs.readFileSync(src, 'utf8')) as { definitions: Record<string, Schema> }).definitions;
}

/** All definitions: kube's, overlaid by the hand-written ones, plus a kind and list schema per table entry that has fields. */
export function buildDefinitions(table: ResourceInfo[] = resources): Record<string, Schema> {
  const defs: Record<string, Schema> = { ...kubeDefinitions(), ...metaSchemas, ...coreSchemas, ...appsSchemas, ...discoverySchemas, ...rbacSchemas, ...authorizationSchemas, ...authenticationSchemas, ...certificatesSchemas };
  for (const r of table) {
    if (!kindFields[r.kind]) continue;
    defs[definitionName(r.group, r.version, r.kind)] = kindSchema(r.group, r.version, r.kind);
    // Nothing of an ephemeral kind is stored, so there is nothing to list (kube defines no SubjectAccessReviewList).
    if (!r.ephemeral) defs[definitionName(r.group, r.version, r.listKind)] = listSchema(r);
  }
  defs['io.k8s.api.autoscaling.v1.Scale'] = kindSchema('autoscaling', 'v1', 'Scale');
  return defs;
}

export const definitions = buildDefinitions();

/** The schema of a resource's kind, or undefined when Skiff has none (then objects are not checked). */
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

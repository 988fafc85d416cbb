// The kinds a CustomResourceDefinition defines, one KindDefinition per served
// version, built as apiextensions-apiserver's crdHandler builds a version's
// storage: the table entry from spec.names and spec.scope, the structural
// schema (pruning, defaulting, validation), the customResourceStrategy
// (generation, status subresource), the scale subresource's paths, the
// additionalPrinterColumns table and the published OpenAPI. Conversion is
// "None": every version is stored as the storage version with only
// apiVersion rewritten.

import type { KubeObject, StatusCause } from '../../api/types.js';
import { apiVersionOf, entry, type Column, type KindDefinition, type ResourceInfo } from '../../api/kind.js';
import { ageCol, nameCol } from '../../api/printing.js';
import { metaNames, refPrefix } from '../../api/schemas/index.js';
import { applyDefaults, compile, listTypeCauses, prune, readPath, schemaCauses, type Props } from '../../api/kinds/apiextensions/structural/schema.js';
import { celCauses, hasRules } from '../../api/kinds/apiextensions/structural/cel.js';

/** kube's OpenAPI name of a custom kind: the reversed group, the version, the kind (com.example.stable.v1.CronTab). */
export function crdDefinitionName(group: string, version: string, kind: string): string {
  return `${group.split('.').reverse().join('.')}.${version}.${kind}`;
}

const typeMeta = {
  apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources' },
  kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds' },
};

interface CRDVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: Props };
  subresources?: { status?: object; scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string } };
  additionalPrinterColumns?: { name: string; type: string; format?: string; description?: string; priority?: number; jsonPath: string }[];
}

/** A printer column's cell: dates as ages (the CRD table convertor), lists of scalars joined. */
function cell(v: unknown, type: string, since: (t?: string | null) => string): unknown {
  if (v === undefined || v === null) return type === 'string' || type === 'date' ? '<none>' : null;
  if (type === 'date' && typeof v === 'string') return since(v);
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(',');
  if (typeof v === 'object') return JSON.stringify(v);
  if (type === 'string') return String(v);
  return v;
}

/** One KindDefinition per served version of the CRD (none when it serves nothing). */
export function kindsFor(crd: KubeObject): KindDefinition[] {
  const spec = crd.spec;
  const names = spec.names;
  const group: string = spec.group;
  const versions: CRDVersion[] = spec.versions ?? [];
  const storageVersion = versions.find((v) => v.storage) ?? versions[0];
  const resourceOf = (v: CRDVersion): ResourceInfo => entry({
    group, version: v.name, kind: names.kind, listKind: names.listKind ?? `${names.kind}List`, plural: names.plural,
    singular: names.singular ?? String(names.kind).toLowerCase(), shortNames: names.shortNames ?? [],
    ...(names.categories?.length ? { categories: names.categories } : {}),
    namespaced: spec.scope === 'Namespaced',
    subresources: [...(v.subresources?.status ? ['status'] : []), ...(v.subresources?.scale ? ['scale'] : [])],
    hasStatus: !!v.subresources?.status,
    storagePrefix: `${group}/${names.plural}`,
  });
  const storageResource = resourceOf(storageVersion);
  return versions.filter((v) => v.served).map((v) => {
    const r = v === storageVersion ? storageResource : resourceOf(v);
    const schema: Props = v.schema?.openAPIV3Schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    const check = compile(schema);
    const rules = hasRules(schema);
    const statusSub = !!v.subresources?.status;
    const columns = v.additionalPrinterColumns ?? [];
    const kindName = crdDefinitionName(group, v.name, names.kind);
    const listName = crdDefinitionName(group, v.name, r.listKind);
    const apiVersion = apiVersionOf(r);
    const storageApiVersion = apiVersionOf(storageResource);
    const def: KindDefinition = {
      resource: r,
      // Checked here against the CRD's own schema, not one of kube's definitions.
      schema: null,
      prune: (obj) => prune(obj, schema),
      defaults: (obj) => applyDefaults(obj, schema),
      validate: (obj, { old }): StatusCause[] => {
        const out: StatusCause[] = [];
        if (!check(obj)) return schemaCauses(obj, check.errors ?? []);
        out.push(...listTypeCauses(obj, schema, ''));
        // x-kubernetes-validations run on values of the right shape only, as kube's (after the schema passed).
        if (rules) out.push(...celCauses(obj, old, schema, ''));
        return out;
      },
      strategy: {
        // customResourceStrategy: generation moves with every change outside metadata (and status, when it is a subresource).
        tracksGeneration: true,
        prepareForCreate: (obj) => { if (statusSub) delete obj.status; },
      },
      ...(v.subresources?.scale ? { scale: v.subresources.scale } : {}),
      printer: {
        columns: [nameCol, ...(columns.length
          ? columns.map((c): Column => [c.name, c.type === 'date' ? 'date' : c.type, c.description ?? '', c.priority ?? 0, c.format ?? ''])
          : [ageCol])],
        cells: (o, since) => [o.metadata.name, ...(columns.length ? columns.map((c) => cell(readPath(o, c.jsonPath), c.type, since)) : [since(o.metadata.creationTimestamp)])],
      },
      openapi: {
        kind: kindName,
        list: listName,
        definitions: {
          [kindName]: {
            ...schema,
            type: 'object',
            properties: { ...typeMeta, metadata: { $ref: refPrefix + metaNames.ObjectMeta, description: "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata" }, ...Object.fromEntries(Object.entries(schema.properties ?? {}).filter(([k]) => k !== 'metadata' && k !== 'apiVersion' && k !== 'kind')) },
            'x-kubernetes-group-version-kind': [{ group, kind: r.kind, version: v.name }],
          },
          [listName]: {
            type: 'object',
            description: `${r.listKind} is a list of ${r.kind}`,
            properties: {
              ...typeMeta,
              items: { type: 'array', description: `List of ${r.plural}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md`, items: { $ref: refPrefix + kindName } },
              metadata: { $ref: refPrefix + metaNames.ListMeta, description: 'Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds' },
            },
            required: ['items'],
            'x-kubernetes-group-version-kind': [{ group, kind: r.listKind, version: v.name }],
          },
        },
      },
    };
    // Conversion None: one stored object, served at every version with its apiVersion rewritten.
    if (r !== storageResource) {
      def.storageVersion = {
        resource: storageResource,
        toStorage: (o) => ({ ...o, apiVersion: storageApiVersion }),
        fromStorage: (o) => ({ ...o, apiVersion }),
      };
    }
    return def;
  });
}

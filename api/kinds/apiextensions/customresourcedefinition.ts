// apiextensions.k8s.io/v1 CustomResourceDefinition (apiextensions-apiserver:
// pkg/registry/customresourcedefinition, pkg/apis/apiextensions/validation,
// v1 defaults). The API server's CRD controller (apiserver/crd) serves the
// kinds a CRD defines; here is what a CRD itself must be.

import type { KubeObject, StatusCause } from '../../types.js';
import { defineKind, entry } from '../../kind.js';
import { nameCol } from '../../printing.js';
import { field, isDNS1035Label } from '../../schemas/rules.js';
import { isDNS1123Subdomain } from '../../labels.js';
import type * as Cel from './structural/cel.js';
import type * as Schema from './structural/schema.js';
import type { Props } from './structural/schema.js';
import { metaTime } from '../../time.js';

// The JSON Schema and CEL compilers are loaded by the API server only (KindDefinition.load).
let schemaModule: typeof Schema | undefined;
let celModule: typeof Cel | undefined;
function structural(): typeof Schema {
  if (!schemaModule) throw new Error('CustomResourceDefinition validation used before the kind was loaded');
  return schemaModule;
}
function cel(): typeof Cel {
  if (!celModule) throw new Error('CustomResourceDefinition validation used before the kind was loaded');
  return celModule;
}

/** The finalizer the API server puts on a CRD being deleted, and removes once every object of it is gone. */
export const cleanupFinalizer = 'customresourcecleanup.apiextensions.k8s.io';

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** SetDefaults_CustomResourceDefinition(Spec): names, conversion, per-version flags. */
function defaults(crd: KubeObject): void {
  const spec = crd.spec;
  if (!isObject(spec)) return;
  if (isObject(spec.names)) {
    const n = spec.names;
    if (!n.singular && typeof n.kind === 'string') n.singular = n.kind.toLowerCase();
    if (!n.listKind && typeof n.kind === 'string' && n.kind) n.listKind = `${n.kind}List`;
  }
  if (!spec.conversion) spec.conversion = { strategy: 'None' };
  if (!Array.isArray(spec.versions)) return;
  for (const v of spec.versions) {
    if (!isObject(v)) continue;
    // SetDefaults_JSONSchemaProps: a list-type map key with no type inherits nothing; defaults inside the schema are pruned to it.
    const schema = v.schema?.openAPIV3Schema;
    if (isObject(schema)) defaultDefaults(schema as Props);
  }
}

/** Defaults in a schema are pruned and defaulted against their own schema (kube prunes a default before storing the CRD). */
function defaultDefaults(s: Props): void {
  if (!isObject(s)) return;
  if (s.default !== undefined && (isObject(s.default) || Array.isArray(s.default))) {
    structural().prune(s.default, s, '', false);
    structural().applyDefaults(s.default, s);
  }
  for (const p of Object.values(s.properties ?? {})) defaultDefaults(p);
  if (isObject(s.items)) defaultDefaults(s.items);
  if (isObject(s.additionalProperties)) defaultDefaults(s.additionalProperties as Props);
}

const scopes = ['Cluster', 'Namespaced'];

function validateNames(n: any, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (!isObject(n)) return [field.required(path, '')];
  const label = (f: string, v: unknown) => {
    if (typeof v === 'string' && v) for (const e of isDNS1035Label(v)) out.push(field.invalid(`${path}.${f}`, v, e));
  };
  if (!n.plural) out.push(field.required(`${path}.plural`, ''));
  else label('plural', n.plural);
  if (!n.singular) out.push(field.required(`${path}.singular`, ''));
  else label('singular', n.singular);
  for (const [i, s] of (Array.isArray(n.shortNames) ? n.shortNames : []).entries()) label(`shortNames[${i}]`, s);
  if (!n.kind) out.push(field.required(`${path}.kind`, ''));
  else if (typeof n.kind === 'string') for (const e of isDNS1035Label(n.kind.toLowerCase())) out.push(field.invalid(`${path}.kind`, n.kind, e));
  if (!n.listKind) out.push(field.required(`${path}.listKind`, ''));
  else if (typeof n.listKind === 'string') for (const e of isDNS1035Label(n.listKind.toLowerCase())) out.push(field.invalid(`${path}.listKind`, n.listKind, e));
  if (n.kind && n.kind === n.listKind) out.push(field.invalid(`${path}.listKind`, n.listKind, 'kind and listKind may not be the same'));
  for (const [i, c] of (Array.isArray(n.categories) ? n.categories : []).entries()) label(`categories[${i}]`, c);
  return out;
}

/** ValidateCustomResourceDefinition: the object, its spec, every version's schema. */
function validate(crd: KubeObject, opts: { old?: KubeObject; subresource?: string }): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = crd.spec;
  if (!isObject(spec)) return [field.required('spec', '')];
  const shape = shapeErrors(spec);
  if (shape.length) return shape;
  const names = spec.names ?? {};
  if (crd.metadata.name !== `${names.plural}.${spec.group}`) out.push(field.invalid('metadata.name', crd.metadata.name, 'must be spec.names.plural+"."+spec.group'));
  if (!spec.group) out.push(field.required('spec.group', ''));
  else {
    for (const e of isDNS1123Subdomain(spec.group)) out.push(field.invalid('spec.group', spec.group, e));
    if (String(spec.group).split('.').length < 2) out.push(field.invalid('spec.group', spec.group, 'should be a domain with at least one dot'));
  }
  if (!scopes.includes(spec.scope)) out.push(spec.scope ? field.notSupported('spec.scope', spec.scope, scopes) : field.required('spec.scope', ''));
  out.push(...validateNames(spec.names, 'spec.names'));
  const versions: any[] = Array.isArray(spec.versions) ? spec.versions : [];
  if (!versions.length) out.push(field.required('spec.versions', 'must have exactly one version marked as storage version'));
  else {
    if (versions.filter((v) => v?.storage).length !== 1) out.push(field.invalid('spec.versions', versions.map((v) => v?.name), 'must have exactly one version marked as storage version'));
    if (!versions.some((v) => v?.served)) out.push(field.invalid('spec.versions', versions.map((v) => v?.name), 'must have at least one version marked as served'));
  }
  const seen = new Set<string>();
  versions.forEach((v, i) => {
    const p = `spec.versions[${i}]`;
    if (!isObject(v)) return;
    if (!v.name) out.push(field.required(`${p}.name`, ''));
    else {
      for (const e of isDNS1035Label(v.name)) out.push(field.invalid(`${p}.name`, v.name, e));
      if (seen.has(v.name)) out.push(field.invalid('spec.versions', versions.map((x) => x?.name), 'must contain unique version names'));
      seen.add(v.name);
    }
    const schema = v.schema?.openAPIV3Schema;
    if (!isObject(schema)) out.push(field.required(`${p}.schema.openAPIV3Schema`, 'schemas are required'));
    else out.push(...validateSchema(schema as Props, `${p}.schema.openAPIV3Schema`));
    const sub = v.subresources;
    if (isObject(sub?.scale)) {
      const sp = `${p}.subresources.scale`;
      const checkPath = (f: string, val: unknown, under: string, need: boolean) => {
        if (val === undefined || val === '') {
          if (need) out.push(field.required(`${sp}.${f}`, ''));
          return;
        }
        if (typeof val !== 'string' || !structural().parsePath(val)) out.push(field.invalid(`${sp}.${f}`, val, 'must be a valid path'));
        else if (!val.startsWith(under)) out.push(field.invalid(`${sp}.${f}`, val, `should be a json path under ${under}`));
      };
      checkPath('specReplicasPath', sub.scale.specReplicasPath, '.spec', true);
      checkPath('statusReplicasPath', sub.scale.statusReplicasPath, '.status', true);
      checkPath('labelSelectorPath', sub.scale.labelSelectorPath, '.', false);
    }
    (Array.isArray(v.additionalPrinterColumns) ? v.additionalPrinterColumns : []).forEach((c: any, j: number) => {
      const cp = `${p}.additionalPrinterColumns[${j}]`;
      if (!c?.name) out.push(field.required(`${cp}.name`, ''));
      if (!['integer', 'number', 'string', 'boolean', 'date'].includes(c?.type)) out.push(c?.type ? field.notSupported(`${cp}.type`, c.type, ['integer', 'number', 'string', 'boolean', 'date']) : field.required(`${cp}.type`, ''));
      if (!c?.jsonPath) out.push(field.required(`${cp}.JSONPath`, ''));
      else if (!structural().parseQuery(c.jsonPath)) out.push(field.invalid(`${cp}.JSONPath`, c.jsonPath, 'must be a valid JSONPath'));
    });
  });
  if (spec.conversion?.strategy && !['None', 'Webhook'].includes(spec.conversion.strategy)) out.push(field.notSupported('spec.conversion.strategy', spec.conversion.strategy, ['None', 'Webhook']));
  if (spec.preserveUnknownFields === true) out.push(field.invalid('spec.preserveUnknownFields', true, 'must be false in order to use defaults in the schema'));
  // ValidateCustomResourceDefinitionUpdate: scope and the group never change, nor the names of an established CRD's stored kind.
  if (opts.old && !opts.subresource) {
    if (opts.old.spec?.scope !== spec.scope) out.push(field.invalid('spec.scope', spec.scope, 'field is immutable'));
    if (opts.old.spec?.group !== spec.group) out.push(field.invalid('spec.group', spec.group, 'field is immutable'));
  }
  return out;
}

const typeOf = (v: unknown) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);

/** The spec's fields this code reads, of the types kube's decoder would insist on. */
function shapeErrors(spec: Record<string, any>): StatusCause[] {
  const out: StatusCause[] = [];
  const want = (path: string, v: unknown, type: string) => {
    if (v !== undefined && v !== null && typeOf(v) !== type) out.push(fieldCauseType(path, v, type));
  };
  want('spec.group', spec.group, 'string');
  want('spec.scope', spec.scope, 'string');
  want('spec.names', spec.names, 'object');
  want('spec.versions', spec.versions, 'array');
  for (const k of ['plural', 'singular', 'kind', 'listKind']) want(`spec.names.${k}`, spec.names?.[k], 'string');
  for (const k of ['shortNames', 'categories']) want(`spec.names.${k}`, spec.names?.[k], 'array');
  (Array.isArray(spec.versions) ? spec.versions : []).forEach((v: any, i: number) => {
    const p = `spec.versions[${i}]`;
    want(p, v, 'object');
    if (!isObject(v)) return;
    want(`${p}.name`, v.name, 'string');
    want(`${p}.served`, v.served, 'boolean');
    want(`${p}.storage`, v.storage, 'boolean');
    want(`${p}.schema`, v.schema, 'object');
    want(`${p}.schema.openAPIV3Schema`, v.schema?.openAPIV3Schema, 'object');
    want(`${p}.subresources`, v.subresources, 'object');
    want(`${p}.additionalPrinterColumns`, v.additionalPrinterColumns, 'array');
  });
  return out;
}

function fieldCauseType(path: string, v: unknown, type: string): StatusCause {
  return { reason: 'FieldValueTypeInvalid', field: path, message: `Invalid value: ${JSON.stringify(v)}: ${path} in body must be of type ${type}: ${JSON.stringify(typeOf(v))}` };
}

/** The schema itself: structural, and every default valid against (and pruned to) its own schema. */
function validateSchema(s: Props, path: string): StatusCause[] {
  const out = structural().structuralErrors(s, path);
  if (out.length) return out;
  out.push(...cel().celCompileErrors(s, path));
  const checkDefaults = (x: Props, p: string) => {
    if (x.default !== undefined) {
      try {
        const check = structural().compile({ ...x, properties: x.properties });
        const copy = structuredClone(x.default);
        if (!check(copy)) out.push(field.invalid(`${p}.default`, x.default, (check.errors ?? []).map((e) => `${e.instancePath.replace(/\//g, '.').replace(/^\./, '') || 'value'} ${e.message}`).join(', ')));
      } catch (e) {
        out.push(field.invalid(`${p}.default`, x.default, (e as Error).message));
      }
    }
    for (const [k, v] of Object.entries(x.properties ?? {})) checkDefaults(v, `${p}.properties[${k}]`);
    if (isObject(x.items)) checkDefaults(x.items as Props, `${p}.items`);
    if (isObject(x.additionalProperties)) checkDefaults(x.additionalProperties as Props, `${p}.additionalProperties`);
  };
  checkDefaults(s, path);
  return out;
}

function setCondition(crd: KubeObject, c: { type: string; status: string; reason: string; message: string }): void {
  crd.status = isObject(crd.status) ? crd.status : {};
  const conds: any[] = Array.isArray(crd.status.conditions) ? crd.status.conditions : [];
  const old = conds.find((x) => x.type === c.type);
  const lastTransitionTime = old && old.status === c.status ? old.lastTransitionTime : metaTime();
  crd.status.conditions = [...conds.filter((x) => x.type !== c.type), { ...c, lastTransitionTime }];
}

export { setCondition };

export default defineKind({
  async load() {
    schemaModule ??= await import('./structural/schema.js');
    celModule ??= await import('./structural/cel.js');
  },
  resource: entry({
    group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions',
    singular: 'customresourcedefinition', shortNames: ['crd', 'crds'], namespaced: false, subresources: ['status'], hasStatus: true,
    categories: ['api-extensions'],
  }),
  defaults,
  validate,
  strategy: {
    tracksGeneration: true,
    // strategy.PrepareForCreate: status is the controllers' to write.
    prepareForCreate: (crd) => { crd.status = {}; },
    // The REST Delete of a CRD: instead of going at once, it is marked, gets the cleanup finalizer and a
    // Terminating condition; the finalizer controller deletes every custom object, then the finalizer.
    markForDeletion: (crd) => {
      const finalizers: string[] = crd.metadata.finalizers ?? [];
      if (!finalizers.includes(cleanupFinalizer)) crd.metadata.finalizers = [...finalizers, cleanupFinalizer];
      setCondition(crd, { type: 'Terminating', status: 'True', reason: 'InstanceDeletionPending', message: 'CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon' });
      return true;
    },
  },
  // The apiextensions table convertor: the name and when it was made, as a timestamp.
  printer: {
    columns: [nameCol, ['Created At', 'date', 'Creation timestamp of the CustomResourceDefinition']],
    cells: (crd) => [crd.metadata.name, crd.metadata.creationTimestamp],
  },
});

// A CustomResourceDefinition version's openAPIV3Schema, as
// apiextensions-apiserver uses it (pkg/apiserver/schema): the structural
// invariants a CRD must meet (ValidateStructural), pruning of unknown
// fields, defaulting from `default`, validation of custom objects with ajv
// (kube-openapi's messages and field paths), list-type uniqueness, and the
// simple JSONPath of additionalPrinterColumns. Shared by the CRD kind (its
// validation) and the API server's CRD controller (the custom kinds).

import { isDeepStrictEqual } from 'node:util';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { StatusCause } from '../../../types.js';
import { fieldCause } from '../../../errors.js';
import { field, formatValue } from '../../../schemas/rules.js';

/** JSONSchemaProps, the parts read here. */
export interface Props {
  type?: string;
  description?: string;
  properties?: Record<string, Props>;
  items?: Props;
  additionalProperties?: Props | boolean;
  required?: string[];
  default?: unknown;
  nullable?: boolean;
  enum?: unknown[];
  anyOf?: Props[];
  allOf?: Props[];
  oneOf?: Props[];
  not?: Props;
  title?: string;
  format?: string;
  pattern?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
  'x-kubernetes-validations'?: { rule?: string; message?: string; messageExpression?: string; fieldPath?: string; reason?: string }[];
  [k: string]: unknown;
}

type Level = 'root' | 'item' | 'field';
const key = (path: string, k: string) => `${path}[${k}]`;

/** ValidateStructural's invariants, with kube's paths ("...openAPIV3Schema.properties[spec].type") and messages. */
export function structuralErrors(s: Props | undefined, path: string, lvl: Level = 'root'): StatusCause[] {
  if (!s || typeof s !== 'object') return [];
  const out: StatusCause[] = [];
  if (s.type === 'array' && !s.items) out.push(field.required(`${path}.items`, 'must be specified'));
  if (s.items) out.push(...structuralErrors(s.items, `${path}.items`, 'item'));
  for (const [k, v] of Object.entries(s.properties ?? {})) out.push(...structuralErrors(v, `${path}.properties${key('', k)}`, 'field'));
  if (s.additionalProperties !== undefined && s.additionalProperties !== false) {
    if (lvl === 'root') out.push(field.forbidden(`${path}.additionalProperties`, 'must not be used at the root'));
    if (s.properties && Object.keys(s.properties).length) out.push(field.forbidden(`${path}.additionalProperties`, 'additionalProperties and properties are mutual exclusive'));
    if (typeof s.additionalProperties === 'object') out.push(...structuralErrors(s.additionalProperties, `${path}.additionalProperties`, 'field'));
  }
  const intOrString = !!s['x-kubernetes-int-or-string'];
  const preserve = !!s['x-kubernetes-preserve-unknown-fields'];
  const embedded = !!s['x-kubernetes-embedded-resource'];
  if (intOrString && preserve) out.push(field.invalid(`${path}.x-kubernetes-preserve-unknown-fields`, true, 'must be false if x-kubernetes-int-or-string is true'));
  if (intOrString && embedded) out.push(field.invalid(`${path}.x-kubernetes-embedded-resource`, true, 'must be false if x-kubernetes-int-or-string is true'));
  if (intOrString && s.type) out.push(field.invalid(`${path}.type`, s.type, 'must be empty if x-kubernetes-int-or-string is true'));
  // The junctors may only restrict what the structural part says, never add types or fields (the int-or-string patterns excepted).
  const intOrStringAnyOf = (l?: Props[]) => l?.length === 2 && l[0]?.type === 'integer' && l[1]?.type === 'string' && Object.keys(l[0]).length === 1 && Object.keys(l[1]).length === 1;
  const junctors: [string, Props[] | undefined][] = [['anyOf', intOrStringAnyOf(s.anyOf) ? undefined : s.anyOf], ['allOf', s.allOf], ['oneOf', s.oneOf]];
  for (const [name, list] of junctors) {
    (list ?? []).forEach((n, i) => {
      const skipAnyOf = name === 'allOf' && i === 0 && intOrStringAnyOf(n.anyOf);
      out.push(...nestedErrors(skipAnyOf ? { ...n, anyOf: undefined } : n, `${path}.${name}[${i}]`));
    });
  }
  if (s.not) out.push(...nestedErrors(s.not, `${path}.not`));
  if (embedded && s.type !== 'object') {
    out.push(s.type ? field.invalid(`${path}.type`, s.type, 'must be object if x-kubernetes-embedded-resource is true') : field.required(`${path}.type`, 'must be object if x-kubernetes-embedded-resource is true'));
  } else if (!s.type && !intOrString && !preserve) {
    out.push(field.required(`${path}.type`, lvl === 'root' ? 'must not be empty at the root' : lvl === 'item' ? 'must not be empty for specified array items' : 'must not be empty for specified object fields'));
  }
  if (lvl === 'root' && s.type && s.type !== 'object') out.push(field.invalid(`${path}.type`, s.type, 'must be object at the root'));
  if (s.pattern !== undefined) {
    try { new RegExp(s.pattern, 'u'); } catch (e) { out.push(field.invalid(`${path}.pattern`, s.pattern, `must be a valid regular expression, but isn't: ${(e as Error).message}`)); }
  }
  const checkMeta = lvl === 'root' || embedded;
  const props = s.properties ?? {};
  if (checkMeta && props.kind && props.kind.type !== 'string') out.push(field.invalid(`${path}.properties[kind].type`, props.kind.type ?? '', 'must be string'));
  if (checkMeta && props.apiVersion && props.apiVersion.type !== 'string') out.push(field.invalid(`${path}.properties[apiVersion].type`, props.apiVersion.type ?? '', 'must be string'));
  if (checkMeta && props.metadata && props.metadata.type !== 'object') out.push(field.invalid(`${path}.properties[metadata].type`, props.metadata.type ?? '', 'must be object'));
  if (lvl === 'root' && props.metadata) {
    const { type: _t, properties, description: _d, ...rest } = props.metadata;
    const extra = Object.keys(properties ?? {}).filter((k) => k !== 'name' && k !== 'generateName');
    if (extra.length || Object.keys(rest).length) {
      out.push(field.forbidden(`${path}.properties[metadata]`, 'must not specify anything other than name and generateName, but metadata is implicitly specified'));
    }
  }
  const listType = s['x-kubernetes-list-type'];
  if (listType !== undefined) {
    if (!['atomic', 'set', 'map'].includes(listType)) out.push(field.notSupported(`${path}.x-kubernetes-list-type`, listType, ['atomic', 'set', 'map']));
    else if (s.type !== 'array') out.push(field.invalid(`${path}.type`, s.type ?? '', 'must be array if x-kubernetes-list-type is specified'));
    else if (listType === 'map') {
      const keys = s['x-kubernetes-list-map-keys'] ?? [];
      if (!keys.length) out.push(field.required(`${path}.x-kubernetes-list-map-keys`, 'must not be empty if x-kubernetes-list-type is map'));
      if (s.items?.type !== 'object') out.push(field.invalid(`${path}.items.type`, s.items?.type ?? '', 'must be object for map lists'));
      for (const k of keys) {
        const ks = s.items?.properties?.[k];
        if (!ks) out.push(field.invalid(`${path}.x-kubernetes-list-map-keys`, keys, `entries must all be names of item properties`));
        else if (ks.type && !['string', 'integer', 'boolean', 'number'].includes(ks.type)) out.push(field.invalid(`${path}.x-kubernetes-list-map-keys`, keys, 'must only contain scalar properties'));
        else if (ks.default === undefined && !(s.items?.required ?? []).includes(k)) out.push(field.required(`${path}.items.properties[${k}]`, 'this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property'));
      }
    } else if (listType === 'set' && s.items?.type === 'object') {
      out.push(field.invalid(`${path}.items.type`, 'object', 'must be scalar or atomic for set lists'));
    }
  } else if (s['x-kubernetes-list-map-keys']?.length) {
    out.push(field.invalid(`${path}.x-kubernetes-list-type`, '', 'must be map if x-kubernetes-list-map-keys is non-empty'));
  }
  return out;
}

/** validateNestedValueValidation: under a junctor only value validations may appear. */
function nestedErrors(n: Props, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (n.type) out.push(field.forbidden(`${path}.type`, 'must be empty to be structural'));
  if (n.additionalProperties !== undefined) out.push(field.forbidden(`${path}.additionalProperties`, 'must be undefined to be structural'));
  if (n.default !== undefined) out.push(field.forbidden(`${path}.default`, 'must be undefined to be structural'));
  if (n.title) out.push(field.forbidden(`${path}.title`, 'must be empty to be structural'));
  if (n.description) out.push(field.forbidden(`${path}.description`, 'must be empty to be structural'));
  if (n.nullable) out.push(field.forbidden(`${path}.nullable`, 'must be false to be structural'));
  if (n['x-kubernetes-preserve-unknown-fields']) out.push(field.forbidden(`${path}.x-kubernetes-preserve-unknown-fields`, 'must be false to be structural'));
  if (n['x-kubernetes-embedded-resource']) out.push(field.forbidden(`${path}.x-kubernetes-embedded-resource`, 'must be false to be structural'));
  if (n['x-kubernetes-int-or-string']) out.push(field.forbidden(`${path}.x-kubernetes-int-or-string`, 'must be false to be structural'));
  if (n['x-kubernetes-list-map-keys']?.length) out.push(field.forbidden(`${path}.x-kubernetes-list-map-keys`, 'must be empty to be structural'));
  if (n['x-kubernetes-list-type'] !== undefined) out.push(field.forbidden(`${path}.x-kubernetes-list-type`, 'must be undefined to be structural'));
  if (n.properties?.metadata) out.push(field.forbidden(`${path}.properties[metadata]`, 'must not be specified in a nested context'));
  for (const [k, v] of Object.entries(n.properties ?? {})) if (k !== 'metadata') out.push(...nestedErrors(v, `${path}.properties[${k}]`));
  if (n.items) out.push(...nestedErrors(n.items, `${path}.items`));
  for (const j of ['anyOf', 'allOf', 'oneOf'] as const) (n[j] ?? []).forEach((x, i) => out.push(...nestedErrors(x, `${path}.${j}[${i}]`)));
  if (n.not) out.push(...nestedErrors(n.not, `${path}.not`));
  return out;
}

// ---- objects of the kind ----

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The schema of a child property, or undefined when the field is unknown. */
function childSchema(s: Props, k: string): Props | undefined {
  if (s.properties && Object.prototype.hasOwnProperty.call(s.properties, k)) return s.properties[k];
  if (isObject(s.additionalProperties)) return s.additionalProperties as Props;
  if (s.additionalProperties === true) return {};
  return undefined;
}

/**
 * structuralpruning.Prune: drop fields the schema does not specify, unless
 * x-kubernetes-preserve-unknown-fields; at the root (and in embedded
 * resources) apiVersion, kind and metadata are kept. Returns the dropped
 * paths as ".spec.foo".
 */
export function prune(value: unknown, s: Props, path = '', root = true): string[] {
  const out: string[] = [];
  if (Array.isArray(value)) {
    if (s.items) value.forEach((v, i) => out.push(...prune(v, s.items!, `${path}[${i}]`, false)));
    return out;
  }
  if (!isObject(value)) return out;
  const embedded = root || !!s['x-kubernetes-embedded-resource'];
  for (const k of Object.keys(value)) {
    if (embedded && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) continue;
    const cs = childSchema(s, k);
    if (cs) out.push(...prune(value[k], cs, `${path}.${k}`, false));
    else if (!s['x-kubernetes-preserve-unknown-fields']) {
      out.push(`${path}.${k}`);
      delete value[k];
    }
  }
  return out;
}

/** structuraldefaulting.Default: an absent field with a default gets a copy of it, top-down. */
export function applyDefaults(value: unknown, s: Props): void {
  if (Array.isArray(value)) {
    if (s.items) for (const v of value) applyDefaults(v, s.items);
    return;
  }
  if (!isObject(value)) return;
  for (const [k, ps] of Object.entries(s.properties ?? {})) {
    // A null where the schema does not allow one takes the default, as kube's defaulting does.
    if (ps.default !== undefined && (value[k] === undefined || (value[k] === null && !ps.nullable))) value[k] = structuredClone(ps.default);
  }
  for (const k of Object.keys(value)) {
    const cs = childSchema(s, k);
    if (cs && value[k] !== undefined) applyDefaults(value[k], cs);
  }
}

/** The schema as ajv checks it: kube-only keywords dropped, nullable as null allowed, int-or-string as its two types. */
function forAjv(s: Props): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'properties') out[k] = Object.fromEntries(Object.entries(v as Record<string, Props>).map(([p, ps]) => [p, forAjv(ps)]));
    else if (k === 'items' || (k === 'additionalProperties' && isObject(v)) || k === 'not') out[k] = forAjv(v as Props);
    else if (k === 'anyOf' || k === 'allOf' || k === 'oneOf') out[k] = (v as Props[]).map(forAjv);
    else if (['default', 'description', 'nullable', 'format', 'title', 'example', 'externalDocs', 'x-kubernetes-validations'].includes(k) || k.startsWith('x-kubernetes-')) continue;
    else out[k] = v;
  }
  if (s['x-kubernetes-int-or-string'] && !s.anyOf) out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  if (s.nullable && typeof s.type === 'string') out.type = [s.type, 'null'];
  if (s.nullable && s.enum) out.enum = [...s.enum, null];
  return out;
}

const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, strictNumbers: true });

/** A compiled check of custom objects against the schema (only the structural part: metadata is ObjectMeta's business). */
export function compile(s: Props): ValidateFunction {
  const schema = forAjv({ ...s, properties: Object.fromEntries(Object.entries(s.properties ?? {}).filter(([k]) => k !== 'metadata' && k !== 'apiVersion' && k !== 'kind')) });
  return ajv.compile(schema);
}

function valueAt(obj: unknown, pointer: string): unknown {
  let cur: any = obj;
  for (const p of pointer.split('/').slice(1)) cur = cur?.[p.replace(/~1/g, '/').replace(/~0/g, '~')];
  return cur;
}

/** "/spec/ports/0/name" -> "spec.ports[0].name" */
function fieldPath(pointer: string, extra?: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v);

/** ajv's errors as kube-openapi words them ("spec.replicas in body must be of type integer: \"string\""). */
export function schemaCauses(obj: unknown, errs: ErrorObject[]): StatusCause[] {
  const out: StatusCause[] = [];
  const seen = new Set<string>();
  for (const e of errs) {
    if (e.schemaPath.includes('/anyOf/') && e.keyword !== 'anyOf') continue;
    const value = valueAt(obj, e.instancePath);
    const path = fieldPath(e.instancePath);
    const p = e.params as Record<string, any>;
    let c: StatusCause;
    switch (e.keyword) {
      case 'required': c = fieldCause(fieldPath(e.instancePath, p.missingProperty), 'FieldValueRequired', 'Required value'); break;
      case 'enum': c = fieldCause(path, 'FieldValueNotSupported', `Unsupported value: ${formatValue(value)}: supported values: ${(p.allowedValues as unknown[]).filter((v) => v !== null).map((v) => JSON.stringify(v)).join(', ')}`); break;
      case 'type': c = fieldCause(path, 'FieldValueTypeInvalid', `Invalid value: ${formatValue(value)}: ${path} in body must be of type ${String(p.type).split(',')[0]}: ${JSON.stringify(typeName(value))}`); break;
      case 'anyOf': c = fieldCause(path, 'FieldValueInvalid', `Invalid value: ${formatValue(value)}: ${path} in body must be of type integer or string: ${JSON.stringify(typeName(value))}`); break;
      case 'minimum': c = fieldCause(path, 'FieldValueInvalid', `Invalid value: ${formatValue(value)}: ${path} in body should be greater than or equal to ${p.limit}`); break;
      case 'maximum': c = fieldCause(path, 'FieldValueInvalid', `Invalid value: ${formatValue(value)}: ${path} in body should be less than or equal to ${p.limit}`); break;
      case 'exclusiveMinimum': c = fieldCause(path, 'FieldValueInvalid', `Invalid value: ${formatValue(value)}: ${path} in body should be greater than ${p.limit}`); break;
      case 'exclusiveMaximum': c = fieldCause(path, 'FieldValueInvalid', `Invalid value: ${formatValue(value)}: ${path} in body should be less than ${p.limit}`); break;
      case 'pattern': c = fieldCause(path, 'FieldValueInvalid', `Invalid value: ${formatValue(value)}: ${path} in body should match '${p.pattern}'`); break;
      case 'minLength': c = fieldCause(path, 'FieldValueInvalid', `Invalid value: ${formatValue(value)}: ${path} in body should be at least ${p.limit} chars long`); break;
      case 'maxLength': c = fieldCause(path, 'FieldValueTooLong', `Too long: may not be more than ${p.limit} bytes`); break;
      case 'minItems': c = fieldCause(path, 'FieldValueInvalid', `Invalid value: ${Array.isArray(value) ? value.length : 0}: ${path} in body should have at least ${p.limit} items`); break;
      case 'maxItems': c = fieldCause(path, 'FieldValueTooMany', `Too many: ${Array.isArray(value) ? value.length : 0}: must have at most ${p.limit} items`); break;
      default: c = fieldCause(path, 'FieldValueInvalid', `Invalid value: ${formatValue(value)}: ${path} in body ${e.message ?? 'is invalid'}`);
    }
    const k = `${c.field}\u0000${c.message}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(c);
  }
  return out;
}

/** x-kubernetes-list-type set and map: no two items (or two items' keys) alike, reported as kube's Duplicate value. */
export function listTypeCauses(value: unknown, s: Props, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (Array.isArray(value)) {
    const t = s['x-kubernetes-list-type'];
    if (t === 'set') {
      value.forEach((v, i) => { if (value.slice(0, i).some((w) => isDeepStrictEqual(v, w))) out.push(field.duplicate(`${path}[${i}]`, v)); });
    } else if (t === 'map') {
      const keys = s['x-kubernetes-list-map-keys'] ?? [];
      const keyOf = (v: unknown) => keys.map((k) => (isObject(v) ? v[k] ?? (s.items?.properties?.[k]?.default) : undefined));
      value.forEach((v, i) => {
        const kv = keyOf(v);
        if (value.slice(0, i).some((w) => isDeepStrictEqual(keyOf(w), kv))) {
          out.push(field.duplicate(`${path}[${i}]`, Object.fromEntries(keys.map((k, j) => [k, kv[j]]))));
        }
      });
    }
    if (s.items) value.forEach((v, i) => out.push(...listTypeCauses(v, s.items!, `${path}[${i}]`)));
    return out;
  }
  if (!isObject(value)) return out;
  for (const k of Object.keys(value)) {
    const cs = childSchema(s, k);
    if (cs) out.push(...listTypeCauses(value[k], cs, path ? `${path}.${k}` : k));
  }
  return out;
}

type Step = string | number | { filter: (string | number)[]; value: unknown } | '*';

/**
 * The steps of a JSONPath as additionalPrinterColumns use it (kubectl's
 * JSONPath without braces): .name, ['name'], [n], [*], and a filter
 * [?(@.type=="Ready")]; undefined when the path is none of these.
 */
export function parseQuery(jsonPath: string): Step[] | undefined {
  const p = jsonPath.trim().replace(/^\{(.*)\}$/, '$1');
  if (!p.startsWith('.')) return undefined;
  if (p === '.') return [];
  const out: Step[] = [];
  const re = /\.([A-Za-z0-9_-]+)|\.\*|\[\*\]|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]|\[\?\(@((?:\.[A-Za-z0-9_-]+)+)\s*==\s*(?:"([^"]*)"|'([^']*)'|(-?[\d.]+|true|false))\)\]/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  while ((m = re.exec(p))) {
    if (m[0] === '.*' || m[0] === '[*]') out.push('*');
    else if (m[5] !== undefined) {
      const value = m[6] ?? m[7] ?? JSON.parse(m[8]!);
      out.push({ filter: m[5].slice(1).split('.'), value });
    } else out.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (m[3] ?? m[4])!));
    at = re.lastIndex;
  }
  return at === p.length ? out : undefined;
}

/** Every value a JSONPath finds, in order (a printer column shows the first, as kube's table convertor). */
export function findAll(obj: unknown, jsonPath: string): unknown[] {
  let cur: unknown[] = [obj];
  for (const step of parseQuery(jsonPath) ?? []) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (v === null || v === undefined) continue;
      if (step === '*') next.push(...(Array.isArray(v) ? v : isObject(v) ? Object.values(v) : []));
      else if (typeof step === 'object') {
        for (const item of Array.isArray(v) ? v : []) {
          let x: any = item;
          for (const k of step.filter) x = x?.[k];
          if (x === step.value) next.push(item);
        }
      } else if (typeof step === 'number' ? Array.isArray(v) : isObject(v)) {
        const x = (v as any)[step];
        if (x !== undefined) next.push(x);
      }
    }
    cur = next;
  }
  return cur;
}

/** The first value at a JSONPath, or undefined. */
export function readPath(obj: unknown, jsonPath: string): unknown {
  return findAll(obj, jsonPath)[0];
}

/** The steps of a simple path, or undefined when it is not one (".spec.replicas" -> ["spec", "replicas"]). */
export function parsePath(jsonPath: string): (string | number)[] | undefined {
  const p = jsonPath.trim().replace(/^\{(.*)\}$/, '$1');
  if (!p.startsWith('.')) return undefined;
  const out: (string | number)[] = [];
  const re = /\.([A-Za-z0-9_-]+)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  if (p === '.') return out;
  while ((m = re.exec(p))) {
    out.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (m[3] ?? m[4])!));
    at = re.lastIndex;
  }
  return at === p.length ? out : undefined;
}

/** Write a value at a simple path, creating objects on the way (a scale's specReplicasPath). */
export function writePath(obj: Record<string, any>, jsonPath: string, value: unknown): void {
  const steps = parsePath(jsonPath);
  if (!steps?.length) return;
  let cur: any = obj;
  for (const s of steps.slice(0, -1)) {
    if (!isObject(cur[s])) cur[s] = {};
    cur = cur[s];
  }
  cur[steps[steps.length - 1]!] = value;
}

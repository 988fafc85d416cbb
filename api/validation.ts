// Validation of every object the API server stores: the kind's JSON Schema
// (api/schemas, checked with ajv) plus the rules a schema cannot say (DNS-1123
// names, label syntax, unique container names, selector matching template
// labels, immutable fields on update). Failures are StatusCauses whose field
// is the path Kubernetes reports ("spec.template.spec.containers[0].name").

import type { KubeObject, StatusCause } from './types.js';
import type { ResourceInfo } from './resources.js';
import { validatorFor, type ErrorObject } from './schemas/compile.js';
import { definitions, kindDefinitionName, resolve, type Schema } from './schemas/index.js';
import { kindRules, formatValue, redactedSecret } from './schemas/rules.js';
import { fieldCause } from './errors.js';
import { kindOf } from './kind.js';

export interface ValidateOptions {
  /** The stored object on update, for immutability rules. */
  old?: KubeObject;
  /** The subresource being written ('status', 'scale', ...), if any. */
  subresource?: string;
}

/** "/spec/containers/0/image" -> "spec.containers[0].image" */
export function fieldPath(pointer: string, extra?: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

function valueAt(obj: unknown, pointer: string): unknown {
  let cur: any = obj;
  for (const p of pointer.split('/').slice(1)) cur = cur?.[p.replace(/~1/g, '/').replace(/~0/g, '~')];
  return cur;
}

function schemaCauses(obj: KubeObject, errs: ErrorObject[], sensitive?: RegExp): StatusCause[] {
  const out: StatusCause[] = [];
  for (const e of errs) {
    // An IntOrString or Quantity failing both branches is reported once, by its anyOf.
    if (e.schemaPath.includes('/anyOf/')) continue;
    // A Secret's values never reach an error message, whatever shape they have.
    const value = sensitive?.test(e.instancePath) ? redactedSecret : valueAt(obj, e.instancePath);
    const path = fieldPath(e.instancePath);
    switch (e.keyword) {
      case 'required':
        out.push(fieldCause(fieldPath(e.instancePath, (e.params as { missingProperty: string }).missingProperty), 'FieldValueRequired', 'Required value'));
        break;
      case 'enum': {
        const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.filter((v) => v !== null);
        out.push(fieldCause(path, 'FieldValueNotSupported', `Unsupported value: ${formatValue(value)}: supported values: ${allowed.map((v) => JSON.stringify(v)).join(', ')}`));
        break;
      }
      case 'type': {
        const want = String((e.params as { type: string | string[] }).type).split(',')[0];
        out.push(fieldCause(path, 'FieldValueTypeInvalid', `Invalid value: ${formatValue(value)}: ${path} in body must be of type ${want}: ${JSON.stringify(typeof value === 'object' ? (Array.isArray(value) ? 'array' : 'object') : typeof value)}`));
        break;
      }
      case 'anyOf':
        out.push(fieldCause(path, 'FieldValueTypeInvalid', `Invalid value: ${formatValue(value)}: ${path} in body must be of type integer or string`));
        break;
      default:
        out.push(fieldCause(path, 'FieldValueInvalid', `Invalid value: ${formatValue(value)}: ${e.message ?? 'invalid'}`));
    }
  }
  return out;
}

/** out[k] = v without "__proto__" ever becoming the copy's prototype. */
function setOwn(out: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
  else out[k] = v;
}

/**
 * Go decodes null as the zero value; the rules see the same by reading a view
 * without nulls. The rules only read, so a subtree without nulls is shared
 * rather than copied: nearly every body has none, and copying each one on the
 * create path was a measurable share of its allocations.
 */
function withoutNulls(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      const y = x === null ? {} : withoutNulls(x);
      if (y !== x && !out) out = v.slice(0, i);
      out?.push(y);
    }
    return out ?? v;
  }
  const o = v as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  const keys = Object.keys(o);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const x = o[k];
    const y = x === null ? undefined : withoutNulls(x);
    if (y !== x && !out) {
      out = {};
      for (let j = 0; j < i; j++) setOwn(out, keys[j]!, o[keys[j]!]);
    }
    if (out && x !== null) setOwn(out, k, y);
  }
  return out ?? o;
}

/**
 * Compiles the schema validator of every kind now rather than on its first
 * request. ajv compiles a kind's schema on first use (~110 ms for Pod, ~190 ms
 * for the table), and a server that says it is ready must not make its first
 * clients wait behind that: in bench:apiserver the 50 concurrent creates of a
 * fresh server queued behind the Pod compile and were the whole create p99.
 */
export function compileValidators(rs: readonly ResourceInfo[]): void {
  for (const r of rs) {
    const def = kindDefinitionName(r);
    if (def) validatorFor(def);
  }
}

/** All problems with obj; empty when valid. */
export function validateObject(resource: ResourceInfo, obj: KubeObject, opts: ValidateOptions = {}): StatusCause[] {
  const causes: StatusCause[] = [];
  const def = kindDefinitionName(resource);
  let schemaOK = true;
  if (def) {
    const v = validatorFor(def);
    if (!v(obj)) {
      causes.push(...schemaCauses(obj, v.errors ?? [], kindOf(resource).redactedPaths));
      schemaOK = false;
    }
  }
  // The rules below read typed fields; on a shape mismatch the schema's causes say enough.
  if (schemaOK) {
    const old = opts.old && (withoutNulls(opts.old) as KubeObject);
    causes.push(...kindRules(resource, withoutNulls(obj) as KubeObject, { ...opts, old }));
  }
  const seen = new Set<string>();
  return causes.filter((c) => {
    const k = `${c.field}\u0000${c.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

// `at` is one stack of keys and list positions; a path string is made only for a field that is pruned.
function prune(value: unknown, schema: Schema, at: (string | number)[], found: string[]): void {
  if (value === null || typeof value !== 'object') return;
  const s = resolve(schema, definitions);
  if (s['x-kubernetes-preserve-unknown-fields']) return;
  if (Array.isArray(value)) {
    if (!s.items) return;
    for (let i = 0; i < value.length; i++) {
      at.push(i);
      prune(value[i], s.items, at, found);
      at.pop();
    }
    return;
  }
  const o = value as Record<string, unknown>;
  if (s.properties) {
    for (const k of Object.keys(o)) {
      // Own properties only: "__proto__" or "constructor" in a body are unknown fields, not Object.prototype's.
      const ps = Object.prototype.hasOwnProperty.call(s.properties, k) ? s.properties[k] : undefined;
      at.push(k);
      if (!ps) {
        found.push(pathOf(at));
        delete o[k];
      } else {
        prune(o[k], ps, at, found);
      }
      at.pop();
    }
  } else if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    for (const k of Object.keys(o)) {
      at.push(k);
      prune(o[k], s.additionalProperties, at, found);
      at.pop();
    }
  }
}

/** ".spec.containers[0].foo" */
function pathOf(at: readonly (string | number)[]): string {
  return at.map((x) => (typeof x === 'number' ? `[${x}]` : `.${x}`)).join('');
}

/**
 * Remove fields the kind's schema does not know, returning their paths
 * (".spec.foo"). The server drops them (fieldValidation Ignore/Warn) or turns
 * them into a 400 BadRequest (Strict) with the message kube-apiserver uses:
 * 'strict decoding error: unknown field "spec.foo"'.
 */
export function pruneUnknownFields(resource: ResourceInfo, obj: KubeObject): string[] {
  const def = kindDefinitionName(resource);
  if (!def) return [];
  const found: string[] = [];
  prune(obj, definitions[def], [], found);
  return found;
}

// The published schemas compiled for checking objects with ajv. OpenAPI-only
// keywords are dropped, and every typed schema also admits null, because Go
// decoders read null as the zero value of any field.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { definitions, refPrefix, type Schema } from './index.js';

function forAjv(s: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'properties') out[k] = Object.fromEntries(Object.entries(v as Record<string, Schema>).map(([p, ps]) => [p, forAjv(ps)]));
    else if (k === 'items' || (k === 'additionalProperties' && typeof v === 'object')) out[k] = forAjv(v as Schema);
    else if (k === 'allOf') out[k] = (v as Schema[]).map(forAjv);
    // The branches are disjoint types, but both admit null here: anyOf keeps null valid.
    else if (k === 'oneOf') out.anyOf = (v as Schema[]).map(forAjv);
    else if (k === 'default' || k === 'description' || k.startsWith('x-kubernetes-')) continue;
    else out[k] = v;
  }
  if (typeof s.type === 'string') out.type = [s.type, 'null'];
  if (s.enum) out.enum = [...s.enum, null];
  return out;
}

let compiled: { ajv: Ajv; cache: Map<string, ValidateFunction> } | undefined;

function ajv(): { ajv: Ajv; cache: Map<string, ValidateFunction> } {
  if (compiled) return compiled;
  const schemas: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(definitions)) schemas[name] = forAjv(s);
  // strict off: the schemas carry OpenAPI-only keywords (format names such as int32 ajv does not know).
  const a = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  a.addSchema({ $id: 'skiff', components: { schemas } });
  compiled = { ajv: a, cache: new Map() };
  return compiled;
}

export function validatorFor(definition: string): ValidateFunction {
  const { ajv: a, cache } = ajv();
  let v = cache.get(definition);
  if (!v) {
    v = a.getSchema(`skiff${refPrefix}${definition}`);
    if (!v) throw new Error(`no schema ${definition}`);
    cache.set(definition, v);
  }
  return v;
}

export type { ErrorObject };

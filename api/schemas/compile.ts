// The published schemas compiled for checking objects with ajv. OpenAPI-only
// keywords are dropped, and every typed schema also admits null, because Go
// decoders read null as the zero value of any field.
//
// Numbers are checked as Go decodes them: an int32 or int64 field takes only
// an integer in its range (Go's decoder refuses 2147483648 for an int32), and
// no number field takes Infinity, which JSON.parse makes of 1e400 and which
// JSON.stringify would store as null. A Quantity must parse.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { definitions, metaNames, refPrefix, type Schema } from './index.js';
import { quantityError } from '../quantity.js';

/**
 * The integer ranges of Go's int32 and int64. A double cannot hold 2^63 - 1:
 * JSON.parse reads both 9223372036854775807 and 9223372036854775808 as 2^63,
 * which no Go client could decode back into an int64, so 2^63 itself is out.
 */
export const integerRanges: Record<string, { min: number; max: number; exclusiveMax?: boolean }> = {
  int32: { min: -(2 ** 31), max: 2 ** 31 - 1 },
  int64: { min: -(2 ** 63), max: 2 ** 63, exclusiveMax: true },
};

/** The error for an integer outside its format's range, or undefined when it fits. */
export function integerRangeError(format: string, v: unknown): string | undefined {
  const r = integerRanges[format];
  if (!r || typeof v !== 'number') return undefined;
  const over = r.exclusiveMax ? v >= r.max : v > r.max;
  // kube-openapi's format check says it this way ("must be of type int32").
  return v < r.min || over || !Number.isFinite(v) ? `must be of type ${format}` : undefined;
}

type KeywordValidate = ((schema: unknown, data: unknown) => boolean) & { errors?: Partial<ErrorObject>[] };

const integerFormat: KeywordValidate = (format, data) => {
  const message = integerRangeError(format as string, data);
  integerFormat.errors = message ? [{ keyword: 'x-skiff-integer', message, params: { format } }] : undefined;
  return !message;
};

const quantity: KeywordValidate = (_schema, data) => {
  const message = quantityError(data);
  quantity.errors = message ? [{ keyword: 'x-skiff-quantity', message, params: {} }] : undefined;
  return !message;
};

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
  if (s.type === 'integer' && (s.format === 'int32' || s.format === 'int64')) out['x-skiff-integer'] = s.format;
  if (typeof s.type === 'string') out.type = [s.type, 'null'];
  if (s.enum) out.enum = [...s.enum, null];
  return out;
}

let compiled: { ajv: Ajv; cache: Map<string, ValidateFunction> } | undefined;

function ajv(): { ajv: Ajv; cache: Map<string, ValidateFunction> } {
  if (compiled) return compiled;
  const schemas: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(definitions)) schemas[name] = forAjv(s);
  // An IntOrString holds an int32 (intstr.IntOrString.IntVal).
  schemas[metaNames.IntOrString] = { anyOf: [{ type: 'integer', 'x-skiff-integer': 'int32' }, { type: 'string' }, { type: 'null' }] };
  // Containers' requests and limits are checked by rules.ts (ValidateResourceRequirements) with kube's
  // field paths ("limits[cpu]"), so their maps keep the Quantity shape without the parse check.
  const plainQuantity = { ...(schemas[metaNames.Quantity] as object) };
  const rr = schemas['io.k8s.api.core.v1.ResourceRequirements'] as { properties: Record<string, { additionalProperties: unknown }> };
  for (const k of ['limits', 'requests']) rr.properties[k]!.additionalProperties = plainQuantity;
  (schemas[metaNames.Quantity] as Record<string, unknown>)['x-skiff-quantity'] = true;
  // strict off: the schemas carry OpenAPI-only keywords (format names such as int32 ajv does not know).
  // strictNumbers: a number field refuses NaN and Infinity (1e400 parses to Infinity).
  const a = new Ajv({ allErrors: true, strict: false, validateFormats: false, strictNumbers: true });
  a.addKeyword({ keyword: 'x-skiff-integer', type: 'number', schemaType: 'string', validate: integerFormat, errors: true });
  a.addKeyword({ keyword: 'x-skiff-quantity', type: ['string', 'number'], schemaType: 'boolean', validate: quantity, errors: true });
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

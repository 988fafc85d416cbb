// x-kubernetes-validations: CEL rules of a CRD's schema, as
// apiextensions-apiserver's cel validator runs them (pkg/apiserver/schema/cel):
// each rule sees its own node as `self` (and, in a transition rule, the
// stored object's node as `oldSelf`), values typed by the schema (integers
// as CEL ints, objects as maps). Evaluated with @bufbuild/cel, Buf's CEL
// implementation, conformance-tested against cel-spec, with the strings
// extension kube's CEL library includes.

import { celEnv, isCelError, parse, plan, type CelEnv } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import type { StatusCause } from '../../../types.js';
import { fieldCause } from '../../../errors.js';
import { field } from '../../../schemas/rules.js';
import type { Props } from './schema.js';

type Program = (bindings: Record<string, unknown>) => unknown;
interface Rule { rule: string; message?: string; messageExpression?: string; reason?: string; fieldPath?: string; program: Program; messageProgram?: Program; transition: boolean }

let env: CelEnv | undefined;
const celEnvironment = () => (env ??= celEnv({ funcs: strings }));

function compileExpr(expr: string): Program {
  return plan(celEnvironment(), parse(expr)) as unknown as Program;
}

const usesOldSelf = (rule: string) => /\boldSelf\b/.test(rule);

/** Compile errors of every rule in the schema, at kube's paths (...x-kubernetes-validations[0].rule). */
export function celCompileErrors(s: Props | undefined, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (!s || typeof s !== 'object') return out;
  (s['x-kubernetes-validations'] ?? []).forEach((v, i) => {
    const p = `${path}.x-kubernetes-validations[${i}]`;
    if (!v?.rule) {
      out.push(field.required(`${p}.rule`, 'rule is not specified'));
      return;
    }
    for (const [k, expr] of [['rule', v.rule], ['messageExpression', v.messageExpression]] as const) {
      if (expr === undefined) continue;
      try { compileExpr(expr); } catch (e) { out.push(field.invalid(`${p}.${k}`, expr, `compilation failed: ${(e as Error).message}`)); }
    }
  });
  for (const [k, v] of Object.entries(s.properties ?? {})) out.push(...celCompileErrors(v, `${path}.properties[${k}]`));
  if (s.items) out.push(...celCompileErrors(s.items, `${path}.items`));
  if (s.additionalProperties && typeof s.additionalProperties === 'object') out.push(...celCompileErrors(s.additionalProperties, `${path}.additionalProperties`));
  return out;
}

/** The rules of one schema node, compiled once per CRD version. */
const compiled = new WeakMap<Props, Rule[]>();
function rulesOf(s: Props): Rule[] {
  let out = compiled.get(s);
  if (!out) {
    out = (s['x-kubernetes-validations'] ?? []).filter((v) => v?.rule).map((v) => ({
      ...v,
      rule: v.rule!,
      program: compileExpr(v.rule!),
      ...(v.messageExpression ? { messageProgram: compileExpr(v.messageExpression) } : {}),
      transition: usesOldSelf(v.rule!),
    }));
    compiled.set(s, out);
  }
  return out;
}

/** Whether any node of the schema has rules (most CRDs have none: nothing to walk). */
export function hasRules(s: Props | undefined): boolean {
  if (!s || typeof s !== 'object') return false;
  if (s['x-kubernetes-validations']?.length) return true;
  return Object.values(s.properties ?? {}).some(hasRules) || hasRules(s.items) || (typeof s.additionalProperties === 'object' && hasRules(s.additionalProperties));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON value as CEL sees it under its schema: integers are ints, objects maps. */
function toCel(v: unknown, s: Props | undefined): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') {
    const integral = s?.type === 'integer' || s?.['x-kubernetes-int-or-string'] || (s?.type !== 'number' && Number.isInteger(v));
    return integral && Number.isInteger(v) ? BigInt(v) : v;
  }
  if (Array.isArray(v)) return v.map((x) => toCel(x, s?.items));
  if (isObject(v)) {
    const m = new Map<string, unknown>();
    for (const [k, x] of Object.entries(v)) {
      const cs = s?.properties?.[k] ?? (typeof s?.additionalProperties === 'object' ? s.additionalProperties : undefined);
      m.set(k, toCel(x, cs));
    }
    return m;
  }
  return v;
}

const celTypeName = (v: unknown) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v === 'object' ? 'object' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v);

/**
 * Every failed rule at and under this node, as kube reports them:
 * `spec: Invalid value: "object": <message>` (the message, the
 * messageExpression's result, or "failed rule: <rule>").
 */
export function celCauses(value: unknown, old: unknown, s: Props | undefined, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (!s || typeof s !== 'object' || value === undefined || value === null) return out;
  let self: unknown;
  let oldSelf: unknown;
  for (const r of rulesOf(s)) {
    // A transition rule applies only where the stored object has this node too.
    if (r.transition && (old === undefined || old === null)) continue;
    self ??= toCel(value, s);
    if (r.transition) oldSelf ??= toCel(old, s);
    const at = r.fieldPath ? `${path}${r.fieldPath}` : path;
    const result = r.program(r.transition ? { self, oldSelf } : { self });
    if (result === true) continue;
    if (isCelError(result)) {
      out.push(fieldCause(at || '<nil>', 'FieldValueInvalid', `Invalid value: ${JSON.stringify(celTypeName(value))}: rule evaluation error: ${result.message}`));
      continue;
    }
    let message = r.message ?? `failed rule: ${r.rule}`;
    if (r.messageProgram) {
      const m = r.messageProgram(r.transition ? { self, oldSelf } : { self });
      if (typeof m === 'string' && m.trim()) message = m;
    }
    out.push(fieldCause(at || '<nil>', 'FieldValueInvalid', `Invalid value: ${JSON.stringify(celTypeName(value))}: ${message}`));
  }
  if (Array.isArray(value)) {
    // Items correlate with the stored list only for map lists (by key); elsewhere their transition rules do not run.
    const keys = s['x-kubernetes-list-type'] === 'map' ? s['x-kubernetes-list-map-keys'] ?? [] : undefined;
    value.forEach((v, i) => {
      const before = keys && Array.isArray(old) ? old.find((o) => isObject(o) && isObject(v) && keys.every((k) => o[k] === v[k])) : undefined;
      out.push(...celCauses(v, before, s.items, `${path}[${i}]`));
    });
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      const cs = s.properties?.[k] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
      if (cs) out.push(...celCauses(v, isObject(old) ? old[k] : undefined, cs, path ? `${path}.${k}` : k));
    }
  }
  return out;
}

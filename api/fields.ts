// Field selectors (?fieldSelector=spec.nodeName=node-1,status.phase!=Running):
// only "=", "==" and "!=" on the fields each kind supports, as
// kube-apiserver's per-kind GetAttrs do (KindDefinition.selectableFields).

import type { KubeObject } from './types.js';
import { fieldString as str, kindOf, type ResourceInfo } from './kind.js';
import { errors } from './errors.js';

export interface FieldRequirement { field: string; operator: '=' | '!='; value: string }
export interface FieldSelector {
  requirements: FieldRequirement[];
  matches(fields: Record<string, string>): boolean;
  empty(): boolean;
}

/** Split on commas not escaped with a backslash (fields.splitTerms). */
function splitTerms(s: string): string[] {
  const terms: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && i + 1 < s.length) { cur += s[i] + s[i + 1]; i++; continue; }
    if (s[i] === ',') { terms.push(cur); cur = ''; continue; }
    cur += s[i];
  }
  terms.push(cur);
  return terms;
}

const unescape = (v: string) => v.replace(/\\([\\,=])/g, '$1');

/** Throws Error with upstream's wording on bad syntax. */
export function parseFieldSelector(s: string | undefined): FieldSelector {
  const requirements: FieldRequirement[] = [];
  if (s && s.trim()) {
    for (const term of splitTerms(s)) {
      if (term === '') continue;
      // Order matters: "!=" and "==" before "=", as upstream checks them.
      const m = /^(.*?)(!=|==|=)(.*)$/.exec(term);
      if (!m || m[1] === '') throw new Error(`invalid selector: '${s}'; can't understand '${term}'`);
      requirements.push({ field: m[1], operator: m[2] === '!=' ? '!=' : '=', value: unescape(m[3]) });
    }
  }
  return {
    requirements,
    matches: (fields) => requirements.every((r) => (fields[r.field] === r.value) === (r.operator === '=')),
    empty: () => requirements.length === 0,
  };
}

/** The selectable fields of an object of this resource (metadata.name, metadata.namespace, plus per-kind ones). */
export function selectableFields(resource: ResourceInfo, obj: KubeObject): Record<string, string> {
  const fields: Record<string, string> = { 'metadata.name': str(obj.metadata?.name) };
  // Cluster-scoped kinds still accept metadata.namespace (always ""), as upstream's DefaultClusterScopedAttr does.
  fields['metadata.namespace'] = resource.namespaced ? str(obj.metadata?.namespace) : '';
  return { ...fields, ...(kindOf(resource).selectableFields?.(obj) ?? {}) };
}

/** Field names a kind supports, without needing an object. */
export function supportedFields(resource: ResourceInfo): string[] {
  return Object.keys(selectableFields(resource, { metadata: {} }));
}

/** Throws a 400 BadRequest StatusError naming the field when the selector uses a field the kind does not support. */
export function checkSupportedFields(resource: ResourceInfo, sel: FieldSelector): void {
  const known = new Set(supportedFields(resource));
  for (const r of sel.requirements) {
    if (!known.has(r.field)) throw errors.badRequest(`field label not supported: ${r.field}`);
  }
}

// Selector matching for the client side (fake client lists and watches,
// listers' label filters). Syntax and semantics come from api/labels.ts and
// api/fields.ts; field values are read from the object by their dotted path,
// which covers every field kube-apiserver lets a kind select on
// (metadata.name, spec.nodeName, status.phase, ...).

import { parseFieldSelector } from '../api/fields.js';
import { parseSelector } from '../api/labels.js';
import type { KubeObject } from '../api/types.js';

export type Matcher = (obj: KubeObject) => boolean;

const always: Matcher = () => true;

export function labelMatcher(selector: string | undefined): Matcher {
  if (!selector) return always;
  const sel = parseSelector(selector);
  return (obj) => sel.matches(obj.metadata.labels ?? {});
}

/** Equality-only requirements ("a=b,c==d"): the ones a label index can answer; undefined when there are others. */
export function equalityRequirements(selector: string | undefined): [string, string][] | undefined {
  if (!selector) return [];
  const out: [string, string][] = [];
  for (const part of selector.split(',')) {
    const m = /^\s*([A-Za-z0-9._\/-]+)\s*==?\s*([A-Za-z0-9._-]*)\s*$/.exec(part);
    if (!m) return undefined;
    out.push([m[1], m[2]]);
  }
  return out;
}

export function fieldMatcher(selector: string | undefined): Matcher {
  if (!selector) return always;
  const sel = parseFieldSelector(selector);
  const paths = sel.requirements.map((r) => [r.field, r.field.split('.')] as const);
  return (obj) => {
    const fields: Record<string, string> = {};
    for (const [field, path] of paths) {
      let v: any = obj;
      for (const p of path) v = v?.[p];
      fields[field] = String(v ?? '');
    }
    return sel.matches(fields);
  };
}

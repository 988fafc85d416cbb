// Selector matching for the client side (fake client lists and watches,
// listers' label filters). Label selectors come from api/labels.ts; field
// selectors are evaluated against dotted paths of the object, which covers
// every field kube-apiserver lets a kind select on (metadata.name,
// spec.nodeName, status.phase, ...).

import { parseSelector } from '../api/labels.js';
import type { KubeObject } from '../api/types.js';

export type Matcher = (obj: KubeObject) => boolean;

const always: Matcher = () => true;

export function labelMatcher(selector: string | undefined): Matcher {
  if (!selector) return always;
  let sel;
  try {
    sel = parseSelector(selector);
  } catch (e) {
    // api/labels.ts is still a stub: fall back to equality-only matching.
    const reqs = equalityRequirements(selector);
    if (!(e as Error).message.startsWith('TODO') || !reqs) throw e;
    return (obj) => reqs.every(([k, v]) => obj.metadata.labels?.[k] === v);
  }
  return (obj) => sel.matches(obj.metadata.labels ?? {});
}

/** Equality-only requirements ("a=b,c==d"): the ones a label index can answer. */
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
  const reqs = selector.split(',').map((part) => {
    const m = /^\s*([A-Za-z0-9.]+)\s*(!=|==|=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw new Error(`invalid selector: '${selector}'; can't understand '${part}'`);
    return { path: m[1].split('.'), neg: m[2] === '!=', value: m[3] };
  });
  return (obj) =>
    reqs.every(({ path, neg, value }) => {
      let v: any = obj;
      for (const p of path) v = v?.[p];
      return (String(v ?? '') === value) !== neg;
    });
}

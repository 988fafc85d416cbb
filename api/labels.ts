// Label selectors (k8s.io/apimachinery/pkg/labels): the string form used in
// ?labelSelector= ("app=web,tier!=db,env in (a,b),!canary,release") and the
// structured metav1.LabelSelector of ReplicaSets and Deployments. Shared by
// the API server's list/watch filtering and the client's listers.

import type { LabelSelector } from './types.js';

export type Operator = 'in' | 'notin' | 'exists' | '!' | '=' | '==' | '!=' | 'gt' | 'lt';

export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

export interface Selector {
  requirements: Requirement[];
  matches(labels: Record<string, string> | undefined): boolean;
  empty(): boolean;
  toString(): string;
}

// ---- syntax checks shared with validation (k8s.io/apimachinery/pkg/util/validation) ----

const qualifiedNameFmt = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const dns1123SubdomainFmt = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelValueFmt = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** validation.IsDNS1123Subdomain: the error strings upstream returns, empty when valid. */
export function isDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push('must be no more than 253 characters');
  if (!dns1123SubdomainFmt.test(v)) {
    errs.push("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  }
  return errs;
}

/** validation.IsQualifiedName: label and annotation keys ("example.com/name"). */
export function isQualifiedName(v: string): string[] {
  const errs: string[] = [];
  const parts = v.split('/');
  let name = v;
  if (parts.length === 2) {
    const [prefix] = parts;
    name = parts[1];
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else errs.push(...isDNS1123Subdomain(prefix).map((m) => 'prefix part ' + m));
  } else if (parts.length > 2) {
    return ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part must be no more than 63 characters');
  if (name.length > 0 && !qualifiedNameFmt.test(name)) {
    errs.push("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
  }
  return errs;
}

/** validation.IsValidLabelValue. */
export function isValidLabelValue(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push('must be no more than 63 characters');
  if (!labelValueFmt.test(v)) {
    errs.push("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
  }
  return errs;
}

// ---- requirements ----

function checkRequirement(key: string, op: Operator, values: string[]): Requirement {
  const keyErrs = isQualifiedName(key);
  if (keyErrs.length) throw new Error(`key: Invalid value: "${key}": ${keyErrs.join('; ')}`);
  switch (op) {
    case 'in':
    case 'notin':
      if (values.length === 0) throw new Error("values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty");
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1) throw new Error("values: Invalid value: []string{}: exact-match compatibility requires one single value");
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) throw new Error("values: Invalid value: []string{}: values set must be empty for exists and does not exist");
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1) throw new Error("values: Invalid value: []string{}: for 'Gt', 'Lt' operators, exactly one value is required");
      if (!/^[-+]?\d+$/.test(values[0])) throw new Error(`values[0]: Invalid value: "${values[0]}": for 'Gt', 'Lt' operators, the value must be an integer`);
      break;
  }
  for (let i = 0; i < values.length; i++) {
    const errs = isValidLabelValue(values[i]);
    if (errs.length) throw new Error(`values[${i}][${key}]: Invalid value: "${values[i]}": ${errs.join('; ')}`);
  }
  // Upstream sorts values so that String() is canonical.
  return { key, operator: op, values: [...values].sort() };
}

function requirementMatches(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = labels[r.key];
  switch (r.operator) {
    case '=':
    case '==':
    case 'in':
      return has && r.values.includes(v);
    case '!=':
    case 'notin':
      return !has || !r.values.includes(v);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(v)) return false;
      const n = Number(v);
      const want = Number(r.values[0]);
      return r.operator === 'gt' ? n > want : n < want;
    }
  }
}

function requirementString(r: Requirement): string {
  switch (r.operator) {
    case '!':
      return `!${r.key}`;
    case 'exists':
      return r.key;
    case 'in':
    case 'notin':
      return `${r.key} ${r.operator} (${r.values.join(',')})`;
    case 'gt':
      return `${r.key}>${r.values[0]}`;
    case 'lt':
      return `${r.key}<${r.values[0]}`;
    default:
      return `${r.key}${r.operator}${r.values[0]}`;
  }
}

function makeSelector(requirements: Requirement[], nothing = false): Selector {
  // Upstream keeps requirements sorted by key for a canonical String().
  const reqs = [...requirements].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    requirements: reqs,
    matches: (labels) => !nothing && reqs.every((r) => requirementMatches(r, labels ?? {})),
    empty: () => !nothing && reqs.length === 0,
    toString: () => reqs.map(requirementString).join(','),
  };
}

// ---- the string parser (a port of selector.go's lexer and parser) ----

type Tok =
  | { t: 'id'; v: string }
  | { t: 'op'; v: '!' | '=' | '==' | '!=' | 'gt' | 'lt' | ',' | '(' | ')' }
  | { t: 'end'; v: '' };

const special = new Set(['!', '=', '>', '<', ',', '(', ')']);

function lex(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    if (special.has(c)) {
      const two = s.slice(i, i + 2);
      if (two === '==' || two === '!=') { out.push({ t: 'op', v: two }); i += 2; continue; }
      if (c === '>') out.push({ t: 'op', v: 'gt' });
      else if (c === '<') out.push({ t: 'op', v: 'lt' });
      else out.push({ t: 'op', v: c as '!' | '=' | ',' | '(' | ')' });
      i++;
      continue;
    }
    let j = i;
    while (j < s.length && !special.has(s[j]) && !' \t\n\r'.includes(s[j])) j++;
    // "in" and "notin" are operators only where an operator is expected (a=in is a value), so the parser decides.
    out.push({ t: 'id', v: s.slice(i, j) });
    i = j;
  }
  out.push({ t: 'end', v: '' });
  return out;
}

const shown = (t: Tok) => (t.t === 'op' && t.v === 'gt' ? '>' : t.t === 'op' && t.v === 'lt' ? '<' : t.v);

class Parser {
  private pos = 0;
  constructor(private toks: Tok[]) {}
  private peek(): Tok { return this.toks[this.pos]; }
  private next(): Tok { return this.toks[this.pos++]; }

  parse(): Requirement[] {
    const reqs: Requirement[] = [];
    for (;;) {
      const t = this.peek();
      if (t.t === 'end') return reqs;
      if (t.t === 'id' || (t.t === 'op' && t.v === '!')) {
        try {
          reqs.push(this.requirement());
        } catch (e) {
          throw new Error(`unable to parse requirement: ${(e as Error).message}`);
        }
        const after = this.next();
        if (after.t === 'end') return reqs;
        if (after.t === 'op' && after.v === ',') {
          const n = this.peek();
          if (n.t !== 'id' && !(n.t === 'op' && n.v === '!')) throw new Error(`found '${shown(n)}', expected: identifier after ','`);
          continue;
        }
        throw new Error(`found '${shown(after)}', expected: ',' or 'end of string'`);
      }
      throw new Error(`found '${shown(t)}', expected: !, identifier, or 'end of string'`);
    }
  }

  private requirement(): Requirement {
    let t = this.next();
    let not = false;
    if (t.t === 'op' && t.v === '!') { not = true; t = this.next(); }
    if (t.t !== 'id') throw new Error(`found '${shown(t)}', expected: identifier`);
    const key = t.v;
    const n = this.peek();
    // "!key" is complete by itself; whatever follows is the caller's to reject.
    if (not) return checkRequirement(key, '!', []);
    if (n.t === 'end' || (n.t === 'op' && n.v === ',')) return checkRequirement(key, 'exists', []);
    const op = this.next();
    if (op.t === 'id' && (op.v === 'in' || op.v === 'notin')) return checkRequirement(key, op.v, this.valueSet());
    if (op.t !== 'op' || op.v === ',' || op.v === '(' || op.v === ')' || op.v === '!') {
      throw new Error(`found '${shown(op)}', expected: in, notin, =, ==, !=, gt, lt`);
    }
    const v = this.peek();
    let value = '';
    if (v.t === 'id') { value = v.v; this.pos++; }
    else if (!(v.t === 'end' || (v.t === 'op' && v.v === ','))) throw new Error(`found '${shown(v)}', expected: identifier`);
    return checkRequirement(key, op.v, [value]);
  }

  private valueSet(): string[] {
    const open = this.next();
    if (!(open.t === 'op' && open.v === '(')) throw new Error(`found '${shown(open)}' expected: '('`);
    // Empty entries are the empty value: "()" and "(a,,b)" both name "" (a set, so duplicates collapse).
    const values = new Set<string>();
    const first = this.peek();
    if (first.t === 'op' && first.v === ')') {
      this.pos++;
      return [''];
    }
    if (!(first.t === 'id' || (first.t === 'op' && first.v === ','))) throw new Error(`found '${shown(first)}', expected: ',', ')' or identifier`);
    let expectValue = true;
    for (;;) {
      const t = this.next();
      if (t.t === 'op' && t.v === ')') {
        if (expectValue) values.add('');
        return [...values];
      }
      if (t.t === 'id' && expectValue) {
        values.add(t.v);
        expectValue = false;
        continue;
      }
      if (t.t === 'op' && t.v === ',') {
        if (expectValue) values.add('');
        expectValue = true;
        continue;
      }
      throw new Error(expectValue ? `found '${shown(t)}', expected: ',', or identifier` : `found '${shown(t)}', expected: ',' or ')'`);
    }
  }
}

/** Parse the string form. Throws Error with a message like upstream's on bad syntax. */
export function parseSelector(s: string | undefined): Selector {
  if (!s || !s.trim()) return makeSelector([]);
  return makeSelector(new Parser(lex(s)).parse());
}

/** metav1.LabelSelectorAsSelector: matchLabels and matchExpressions; an empty selector matches everything, a null one nothing. */
export function selectorFromLabelSelector(ls: LabelSelector | undefined | null): Selector {
  if (ls == null) return makeSelector([], true);
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries(ls.matchLabels ?? {})) reqs.push(checkRequirement(k, '=', [v]));
  for (const e of ls.matchExpressions ?? []) {
    const op: Operator = e.operator === 'In' ? 'in' : e.operator === 'NotIn' ? 'notin' : e.operator === 'Exists' ? 'exists' : e.operator === 'DoesNotExist' ? '!' : (() => {
      throw new Error(`"${e.operator}" is not a valid label selector operator`);
    })();
    reqs.push(checkRequirement(e.key, op, e.values ?? []));
  }
  return makeSelector(reqs);
}

/** metav1.FormatLabelSelector: the string form ("app=web,env in (a,b)"), "<none>" for empty. */
export function formatLabelSelector(ls: LabelSelector | undefined | null): string {
  if (ls == null) return '<none>';
  let s: string;
  try {
    s = selectorFromLabelSelector(ls).toString();
  } catch {
    return '<error>';
  }
  return s === '' ? '<none>' : s;
}

/** Selector matching exactly these labels (a Service's spec.selector). */
export function selectorFromSet(set: Record<string, string> | undefined): Selector {
  return makeSelector(Object.entries(set ?? {}).map(([key, v]) => ({ key, operator: '=' as const, values: [v] })));
}

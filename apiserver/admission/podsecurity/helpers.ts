// Shared pieces of the Pod Security checks (k8s.io/pod-security-admission/policy
// checks.go, helpers.go, visitor.go): a check's result, kube's quoting and
// pluralizing, and the walk over every container of a pod spec.

import type { ObjectMeta } from '../../../api/types.js';

// Pod specs arrive as decoded JSON; the checks read them as kube's typed fields.
export type Spec = Record<string, any>;

export interface CheckResult {
  allowed: boolean;
  /** Short and always shown ("host ports"). */
  forbiddenReason?: string;
  /** Specific values, shown in parentheses when one object is checked. */
  forbiddenDetail?: string;
}

export type CheckPodFn = (meta: ObjectMeta, spec: Spec) => CheckResult;

export const allowed: CheckResult = { allowed: true };

export function forbidden(reason: string, detail: string): CheckResult {
  return { allowed: false, forbiddenReason: reason, forbiddenDetail: detail };
}

/** Go's %q for a string (strconv.Quote), as kube formats values into messages. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"': out += '\\"'; break;
      case '\\': out += '\\\\'; break;
      case '\n': out += '\\n'; break;
      case '\t': out += '\\t'; break;
      case '\r': out += '\\r'; break;
      case '\x07': out += '\\a'; break;
      case '\b': out += '\\b'; break;
      case '\f': out += '\\f'; break;
      case '\v': out += '\\v'; break;
      default: out += c < 0x20 || c === 0x7f ? `\\x${c.toString(16).padStart(2, '0')}` : ch;
    }
  }
  return out + '"';
}

/** joinQuote: `"a", "b"` (items are not escaped, as kube's are not). */
export function joinQuote(items: string[]): string {
  return items.length ? `"${items.join('", "')}"` : '';
}

export function pluralize(singular: string, plural: string, count: number): string {
  return count === 1 ? singular : plural;
}

/** Init, regular and ephemeral containers, in kube's visiting order. */
export function containersOf(spec: Spec): Spec[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])].filter((c) => c && typeof c === 'object');
}

/** sets.NewString(...).List(): unique and sorted. */
export function sortedSet(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/** "pod", `container "a"`, `containers "a", "b"`, joined with " and " as kube names those who set a field. */
export function setters(pod: boolean, containers: string[]): string[] {
  const out = pod ? ['pod'] : [];
  if (containers.length) out.push(`${pluralize('container', 'containers', containers.length)} ${joinQuote(containers)}`);
  return out;
}

export const isWindowsPod = (spec: Spec) => spec.os?.name === 'windows';

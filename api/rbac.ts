// Rules of RBAC roles that more than one process computes the same way:
// the API server (its bootstrap policy) and the controller-manager's
// clusterrole-aggregation controller must agree on an aggregated role's
// rules exactly, or they would rewrite each other's result.

import { selectorFromLabelSelector } from './labels.js';
import type { ClusterRole, PolicyRule } from './types.js';

/**
 * The rules of an aggregated role as the clusterrole-aggregation controller
 * computes them (selected roles in name order, each rule once), from the
 * given roles. Shared with the controller so both agree exactly.
 */
export function aggregateRules(target: ClusterRole, all: readonly ClusterRole[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  const seen = new Set<string>();
  for (const sel of target.aggregationRule?.clusterRoleSelectors ?? []) {
    const selector = selectorFromLabelSelector(sel);
    const matched = all.filter((r) => r.metadata.name !== target.metadata.name && selector.matches(r.metadata.labels ?? {}))
      .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0));
    for (const r of matched) {
      for (const rule of r.rules ?? []) {
        const key = canonicalRule(rule);
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(rule);
      }
    }
  }
  return out;
}

/** Semantic equality of rules: absent and empty lists are the same. */
export function canonicalRule(r: PolicyRule): string {
  return JSON.stringify([r.verbs ?? [], r.apiGroups ?? [], r.resources ?? [], r.resourceNames ?? [], r.nonResourceURLs ?? []]);
}

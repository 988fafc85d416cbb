// metav1.LabelSelector matching for the controllers' in-memory checks
// (does this pod belong to that ReplicaSet?), evaluated straight from the
// structured form so no string round trip is needed per pod.

import type { LabelSelector } from '../api/types.js';

export type LabelMatcher = (labels: Record<string, string> | undefined) => boolean;

/** An empty selector matches everything; a missing one nothing (as LabelSelectorAsSelector). */
export function labelSelectorMatcher(ls: LabelSelector | undefined | null): LabelMatcher {
  if (!ls) return () => false;
  const reqs = Object.entries(ls.matchLabels ?? {}).map(([key, v]) => ({ key, operator: 'In', values: [v] }));
  reqs.push(...(ls.matchExpressions ?? []).map((e) => ({ key: e.key, operator: e.operator as string, values: e.values ?? [] })));
  return (labels = {}) =>
    reqs.every(({ key, operator, values }) => {
      const has = Object.prototype.hasOwnProperty.call(labels, key);
      switch (operator) {
        case 'In': return has && values.includes(labels[key]);
        case 'NotIn': return !has || !values.includes(labels[key]);
        case 'Exists': return has;
        case 'DoesNotExist': return !has;
        default: return false;
      }
    });
}

export function isEmptySelector(ls: LabelSelector | undefined): boolean {
  return !ls || (Object.keys(ls.matchLabels ?? {}).length === 0 && (ls.matchExpressions ?? []).length === 0);
}

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

/** Parse the string form. Throws Error with a message like upstream's on bad syntax. */
export function parseSelector(s: string | undefined): Selector {
  throw new Error('TODO: implemented by the api/ helper');
}

/** metav1.LabelSelectorAsSelector: matchLabels and matchExpressions; an empty selector matches everything, a null one nothing. */
export function selectorFromLabelSelector(ls: LabelSelector | undefined | null): Selector {
  throw new Error('TODO: implemented by the api/ helper');
}

/** metav1.FormatLabelSelector: the string form ("app=web,env in (a,b)"), "<none>" for empty. */
export function formatLabelSelector(ls: LabelSelector | undefined | null): string {
  throw new Error('TODO: implemented by the api/ helper');
}

/** Selector matching exactly these labels (a Service's spec.selector). */
export function selectorFromSet(set: Record<string, string> | undefined): Selector {
  throw new Error('TODO: implemented by the api/ helper');
}

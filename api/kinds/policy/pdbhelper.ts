// What the eviction subresource and the disruption controller both do to a
// PodDisruptionBudget's status (kube's pkg/apis/policy/helper and
// apimeta.SetStatusCondition).

import { metaTime } from '../../time.js';

type Status = Record<string, any>;

/** UpdateDisruptionAllowedCondition: DisruptionAllowed True (SufficientPods) while disruptionsAllowed > 0, else False (InsufficientPods). */
export function setDisruptionAllowedCondition(status: Status, at = new Date()): void {
  const allowed = (status.disruptionsAllowed ?? 0) > 0;
  setCondition(status, allowed
    ? { type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', message: '' }
    : { type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods', message: '' }, at);
}

/** apimeta.SetStatusCondition: in place; lastTransitionTime moves only when status does. */
export function setCondition(status: Status, cond: { type: string; status: string; reason: string; message: string }, at = new Date()): void {
  const conditions: Status[] = Array.isArray(status.conditions) ? status.conditions : [];
  const i = conditions.findIndex((c) => c.type === cond.type);
  if (i < 0) {
    status.conditions = [...conditions, { ...cond, lastTransitionTime: metaTime(at) }];
    return;
  }
  const old = conditions[i];
  const next = { ...old, ...cond, lastTransitionTime: old.status === cond.status && old.lastTransitionTime ? old.lastTransitionTime : metaTime(at) };
  status.conditions = conditions.map((c, j) => (j === i ? next : c));
}

/** Which budgets select a pod: policy/v1's empty selector selects every pod of the namespace, none selects nothing. */
export function selectsPod(pdb: { metadata: { namespace?: string }; spec?: { selector?: unknown } }, pod: { metadata: { namespace?: string; labels?: Record<string, string> } }, matches: (selector: any, labels: Record<string, string>) => boolean): boolean {
  if (pdb.metadata.namespace !== pod.metadata.namespace || !pdb.spec?.selector) return false;
  try {
    return matches(pdb.spec.selector, pod.metadata.labels ?? {});
  } catch {
    return false;
  }
}

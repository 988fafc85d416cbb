// Node selection rules shared by the scheduler's plugins, the DaemonSet
// controller and the volume binder, as kube shares them in
// k8s.io/component-helpers/scheduling/corev1: node selector terms and
// affinity, and which tolerations tolerate which taints.

import type { Node, NodeSelectorRequirement, NodeSelectorTerm, Pod, Taint, Toleration } from './types.js';

function matchRequirement(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const has = value !== undefined;
  switch (r.operator) {
    case 'In': return has && (r.values ?? []).includes(value);
    case 'NotIn': return !has || !(r.values ?? []).includes(value);
    case 'Exists': return has;
    case 'DoesNotExist': return !has;
    case 'Gt':
    case 'Lt': {
      // Both sides must be integers; anything else does not match, as upstream.
      if (!has || !/^-?\d+$/.test(value) || (r.values ?? []).length !== 1 || !/^-?\d+$/.test(r.values![0])) return false;
      const v = Number(value);
      const bound = Number(r.values![0]);
      return r.operator === 'Gt' ? v > bound : v < bound;
    }
    default: return false;
  }
}

/** A term with no requirements matches nothing; otherwise all its requirements must hold. */
export function matchTerm(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  if (!exprs.every((r) => matchRequirement(r, labels[r.key]))) return false;
  // metadata.name is the only field node affinity supports.
  return fields.every((r) => r.key === 'metadata.name' && matchRequirement(r, node.metadata.name));
}

export function podMatchesNode(pod: Pod, node: Node): boolean {
  // Most pods have no nodeSelector: no entries array per node the scheduler checks.
  const selector = pod.spec.nodeSelector;
  if (selector) {
    const labels = node.metadata.labels ?? {};
    for (const k in selector) if (labels[k] !== selector[k]) return false;
  }
  const required = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required) return true;
  return required.nodeSelectorTerms.some((t) => matchTerm(t, node));
}

/** v1.Toleration.ToleratesTaint. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  // An empty key with Exists tolerates every taint.
  if (t.operator === 'Exists') return true;
  return !t.key ? false : (t.value ?? '') === (taint.value ?? '');
}

export function toleratedBy(tolerations: Toleration[] | undefined, taint: Taint): boolean {
  return (tolerations ?? []).some((t) => tolerates(t, taint));
}

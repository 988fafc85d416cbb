// NodeAffinity: spec.nodeSelector and required node affinity must both match
// the node's labels; preferred terms add their weights to the node's score.

import type { Node, NodeSelectorRequirement, NodeSelectorTerm, Pod } from '../../api/types.js';
import { MAX_NODE_SCORE, unresolvable, type FilterPlugin, type ScorePlugin } from '../framework.js';

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
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(pod.spec.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required) return true;
  return required.nodeSelectorTerms.some((t) => matchTerm(t, node));
}

export const nodeAffinityFilter: FilterPlugin = {
  name: 'NodeAffinity',
  filter(_ctx, pod, nodeInfo) {
    if (nodeInfo.node && podMatchesNode(pod, nodeInfo.node)) return null;
    return unresolvable("node(s) didn't match Pod's node affinity/selector");
  },
};

export const nodeAffinityScore: ScorePlugin = {
  name: 'NodeAffinity',
  weight: 2,
  /** Raw score: the summed weights of the preferred terms the node matches. */
  score(_ctx, pod, nodeInfo) {
    const node = nodeInfo.node;
    if (!node) return 0;
    let sum = 0;
    for (const p of pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
      if (p.weight && matchTerm(p.preference, node)) sum += p.weight;
    }
    return sum;
  },
  normalize(_ctx, scores) {
    const max = Math.max(0, ...scores);
    if (max === 0) return;
    for (let i = 0; i < scores.length; i++) scores[i] = Math.floor((scores[i] * MAX_NODE_SCORE) / max);
  },
};

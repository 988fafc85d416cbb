// NodeAffinity: spec.nodeSelector and required node affinity must both match
// the node's labels; preferred terms add their weights to the node's score.

import { matchTerm, podMatchesNode } from '../../api/scheduling.js';
import { MAX_NODE_SCORE, SKIP, unresolvable, type FilterPlugin, type ScorePlugin } from '../framework.js';

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
  preScore(ctx) {
    return ctx.pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length ? undefined : SKIP;
  },
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

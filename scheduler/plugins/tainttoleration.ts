// TaintToleration: a node's NoSchedule/NoExecute taints keep off every pod
// that does not tolerate them; PreferNoSchedule taints only lower the score.

import type { Taint } from '../../api/types.js';
import { toleratedBy } from '../../api/scheduling.js';
import { MAX_NODE_SCORE, unresolvable, type FilterPlugin, type ScorePlugin } from '../framework.js';

export function untoleratedTaintReason(taint: Taint): string {
  return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
}

export const taintTolerationFilter: FilterPlugin = {
  name: 'TaintToleration',
  filter(_ctx, pod, nodeInfo) {
    for (const taint of nodeInfo.taints) {
      if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
      if (!toleratedBy(pod.spec.tolerations, taint)) return unresolvable(untoleratedTaintReason(taint));
    }
    return null;
  },
};

export const taintTolerationScore: ScorePlugin = {
  name: 'TaintToleration',
  weight: 3,
  /** Raw score: how many PreferNoSchedule taints the pod does not tolerate. */
  score(_ctx, pod, nodeInfo) {
    const taints = nodeInfo.taints;
    if (!taints.length) return 0;
    // Only tolerations that can apply to PreferNoSchedule count, as kube's getAllTolerationPreferNoSchedule.
    const tolerations = (pod.spec.tolerations ?? []).filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
    let n = 0;
    for (const taint of taints) {
      if (taint.effect === 'PreferNoSchedule' && !toleratedBy(tolerations, taint)) n++;
    }
    return n;
  },
  /** Fewer intolerable taints is better: kube's DefaultNormalizeScore with reverse. */
  normalize(_ctx, scores) {
    const max = Math.max(0, ...scores);
    for (let i = 0; i < scores.length; i++) scores[i] = max === 0 ? MAX_NODE_SCORE : MAX_NODE_SCORE - Math.floor((scores[i] * MAX_NODE_SCORE) / max);
  },
};

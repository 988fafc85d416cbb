// NoExecute taints and when the pods that tolerate them for a while must go
// (toleration matching itself is api/scheduling.ts's, as the scheduler's).

import { tolerates } from '../../api/scheduling.js';
import type { Taint, Toleration } from '../../api/types.js';

export const UNREACHABLE = 'node.kubernetes.io/unreachable';
export const NOT_READY = 'node.kubernetes.io/not-ready';

/**
 * When a pod must leave a node with these NoExecute taints: now if one is not
 * tolerated, never if all are tolerated forever, otherwise at the earliest
 * taint.timeAdded + tolerationSeconds (kube's getMinTolerationTime per taint).
 */
export function evictionTime(taints: Taint[], tolerations: Toleration[], now: number): number | undefined {
  let at: number | undefined;
  for (const taint of taints.filter((t) => t.effect === 'NoExecute')) {
    const matching = tolerations.filter((t) => tolerates(t, taint));
    if (matching.length === 0) return now;
    const seconds = matching.map((t) => t.tolerationSeconds).filter((s): s is number => s !== undefined);
    if (seconds.length === 0) continue;
    const added = taint.timeAdded ? Date.parse(taint.timeAdded) : now;
    const due = added + Math.max(0, Math.min(...seconds)) * 1000;
    at = at === undefined ? due : Math.min(at, due);
  }
  return at;
}

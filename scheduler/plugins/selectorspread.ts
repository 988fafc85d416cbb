// SelectorSpread: spread the pods of one controller (ReplicaSet, ...) across
// nodes by preferring nodes that run fewer of its pods. NodeInfo counts pods
// per controller uid, so this is a map lookup per node.

import { MAX_NODE_SCORE, type ScorePlugin } from '../framework.js';

export const selectorSpread: ScorePlugin = {
  name: 'SelectorSpread',
  weight: 2,
  /** Raw score: the controller's pods already on the node. */
  score(ctx, _pod, nodeInfo) {
    return ctx.ownerUid ? nodeInfo.ownerCounts.get(ctx.ownerUid) ?? 0 : 0;
  },
  normalize(_ctx, scores) {
    const max = Math.max(0, ...scores);
    for (let i = 0; i < scores.length; i++) scores[i] = max === 0 ? MAX_NODE_SCORE : Math.floor((MAX_NODE_SCORE * (max - scores[i])) / max);
  },
};

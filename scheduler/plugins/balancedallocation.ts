// NodeResourcesBalancedAllocation: prefer nodes whose cpu and memory would be
// used in similar proportion, so neither is stranded. For two resources kube's
// standard deviation is half their difference. Like kube it counts actual
// requests (no defaults for empty ones) and has no opinion on pods that
// request nothing.

import { MAX_NODE_SCORE, type ScorePlugin } from '../framework.js';

export const balancedAllocation: ScorePlugin = {
  name: 'NodeResourcesBalancedAllocation',
  weight: 1,
  score(ctx, _pod, nodeInfo) {
    const a = nodeInfo.allocatable;
    if (a.milliCPU === 0 || a.memory === 0) return 0;
    if (ctx.requests.milliCPU === 0 && ctx.requests.memory === 0) return 0;
    const cpu = Math.min(1, (nodeInfo.requested.milliCPU + ctx.requests.milliCPU) / a.milliCPU);
    const mem = Math.min(1, (nodeInfo.requested.memory + ctx.requests.memory) / a.memory);
    const std = Math.abs(cpu - mem) / 2;
    return Math.floor((1 - std) * MAX_NODE_SCORE);
  },
};

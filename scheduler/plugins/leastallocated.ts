// NodeResourcesLeastAllocated: prefer nodes with the most room left after
// placing the pod, cpu and memory weighted equally (kube's default scoring
// strategy for NodeResourcesFit).

import { MAX_NODE_SCORE, type ScorePlugin } from '../framework.js';

function leastRequested(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return ((capacity - requested) * MAX_NODE_SCORE) / capacity;
}

export const leastAllocated: ScorePlugin = {
  name: 'NodeResourcesLeastAllocated',
  weight: 1,
  score(ctx, _pod, nodeInfo) {
    const a = nodeInfo.allocatable;
    const cpu = leastRequested(nodeInfo.nonZeroRequested.milliCPU + ctx.nonZeroRequests.milliCPU, a.milliCPU);
    const mem = leastRequested(nodeInfo.nonZeroRequested.memory + ctx.nonZeroRequests.memory, a.memory);
    return Math.floor((cpu + mem) / 2);
  },
};

// NodeResourcesFit: the pod's requests must fit in what the node's allocatable
// leaves after the pods already there (assumed ones included). Every resource
// that falls short is its own reason, as kube reports them.

import { unschedulable, type FilterPlugin } from '../framework.js';

export const nodeResourcesFit: FilterPlugin = {
  name: 'NodeResourcesFit',
  filter(ctx, _pod, nodeInfo) {
    const reasons: string[] = [];
    const a = nodeInfo.allocatable;
    if (nodeInfo.pods.size + 1 > a.pods) reasons.push('Too many pods');
    const r = ctx.requests;
    if (r.milliCPU > 0 && r.milliCPU > a.milliCPU - nodeInfo.requested.milliCPU) reasons.push('Insufficient cpu');
    if (r.memory > 0 && r.memory > a.memory - nodeInfo.requested.memory) reasons.push('Insufficient memory');
    return reasons.length ? unschedulable(...reasons) : null;
  },
};

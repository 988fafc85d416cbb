// NodeResourcesFit: the pod's requests must fit in what the node's allocatable
// leaves after the pods already there (assumed ones included). Every resource
// that falls short is its own reason, as kube reports them.

import { unschedulable, type FilterPlugin } from '../framework.js';

export const nodeResourcesFit: FilterPlugin = {
  name: 'NodeResourcesFit',
  filter(ctx, _pod, nodeInfo) {
    const a = nodeInfo.allocatable;
    const r = ctx.requests;
    const pods = nodeInfo.numPods + 1 > a.pods;
    const cpu = r.milliCPU > 0 && r.milliCPU > a.milliCPU - nodeInfo.requested.milliCPU;
    const memory = r.memory > 0 && r.memory > a.memory - nodeInfo.requested.memory;
    // Most nodes fit: the reasons list is built only for a node that does not (this runs per node per pod).
    if (!pods && !cpu && !memory) return null;
    const reasons: string[] = [];
    if (pods) reasons.push('Too many pods');
    if (cpu) reasons.push('Insufficient cpu');
    if (memory) reasons.push('Insufficient memory');
    return unschedulable(...reasons);
  },
};

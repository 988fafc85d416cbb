// NodeUnschedulable: cordoned nodes (spec.unschedulable) take no new pods
// unless the pod tolerates the node.kubernetes.io/unschedulable taint.

import { unresolvable, type FilterPlugin } from '../framework.js';
import { toleratedBy } from '../../api/scheduling.js';

export const nodeUnschedulable: FilterPlugin = {
  name: 'NodeUnschedulable',
  filter(_ctx, pod, nodeInfo) {
    if (!nodeInfo.unschedulable) return null;
    if (toleratedBy(pod.spec.tolerations, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })) return null;
    return unresolvable('node(s) were unschedulable');
  },
};

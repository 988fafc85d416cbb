// NodeReady: kube keeps pods off nodes that are not Ready through the taints
// the node lifecycle controller adds (not-ready, unreachable). A node can be
// not Ready before the taint lands, so the condition itself is checked too,
// and reported as the taint kube would have shown.

import type { Taint } from '../../api/types.js';
import { unresolvable, type FilterPlugin } from '../framework.js';
import { toleratedBy } from '../../api/scheduling.js';
import { untoleratedTaintReason } from './tainttoleration.js';

const notReady: Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' };
const unreachable: Taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' };

export const nodeReady: FilterPlugin = {
  name: 'NodeReady',
  filter(_ctx, pod, nodeInfo) {
    const status = nodeInfo.readyStatus;
    if (status === 'True') return null;
    const taint = status === 'Unknown' ? unreachable : notReady;
    if (toleratedBy(pod.spec.tolerations, taint)) return null;
    return unresolvable(untoleratedTaintReason(taint));
  },
};

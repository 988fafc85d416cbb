// NodeName: a pod that names its node fits only there.

import { unresolvable, type FilterPlugin } from '../framework.js';

export const nodeName: FilterPlugin = {
  name: 'NodeName',
  filter(_ctx, pod, nodeInfo) {
    if (!pod.spec.nodeName || pod.spec.nodeName === nodeInfo.name) return null;
    return unresolvable("node(s) didn't match the requested node name");
  },
};

// NodePorts: two pods cannot bind the same hostPort and protocol on a node,
// where 0.0.0.0 overlaps every address.

import { unschedulable, type FilterPlugin, type HostPort } from '../framework.js';

function conflicts(a: HostPort, b: HostPort): boolean {
  return a.port === b.port && a.protocol === b.protocol && (a.ip === b.ip || a.ip === '0.0.0.0' || b.ip === '0.0.0.0');
}

export const nodePorts: FilterPlugin = {
  name: 'NodePorts',
  filter(ctx, _pod, nodeInfo) {
    for (const want of ctx.hostPorts) {
      if (nodeInfo.usedPorts.some((used) => conflicts(want, used))) {
        return unschedulable("node(s) didn't have free ports for the requested pod ports");
      }
    }
    return null;
  },
};

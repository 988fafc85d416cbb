// The default profile: filters in kube-scheduler's order, so the first
// rejecting plugin (the one reported) is the one kube would report.

import type { FilterPlugin, ScorePlugin } from '../framework.js';
import { balancedAllocation } from './balancedallocation.js';
import { leastAllocated } from './leastallocated.js';
import { nodeAffinityFilter, nodeAffinityScore } from './nodeaffinity.js';
import { nodeName } from './nodename.js';
import { nodePorts } from './nodeports.js';
import { nodeReady } from './nodeready.js';
import { nodeResourcesFit } from './noderesourcesfit.js';
import { nodeUnschedulable } from './nodeunschedulable.js';
import { selectorSpread } from './selectorspread.js';
import { taintTolerationFilter, taintTolerationScore } from './tainttoleration.js';

export const defaultFilters: readonly FilterPlugin[] = [
  nodeUnschedulable,
  nodeName,
  nodeReady,
  taintTolerationFilter,
  nodeAffinityFilter,
  nodePorts,
  nodeResourcesFit,
];

export const defaultScores: readonly ScorePlugin[] = [
  leastAllocated,
  balancedAllocation,
  selectorSpread,
  nodeAffinityScore,
  taintTolerationScore,
];

// The default profile: filters in kube-scheduler's order, so the first
// rejecting plugin (the one reported) is the one kube would report.

import type { FilterPlugin, PreBindPlugin, ScorePlugin } from '../framework.js';
import { balancedAllocation } from './balancedallocation.js';
import { leastAllocated } from './leastallocated.js';
import { nodeAffinityFilter, nodeAffinityScore } from './nodeaffinity.js';
import { nodeName } from './nodename.js';
import { nodePorts } from './nodeports.js';
import { nodeReady } from './nodeready.js';
import { nodeResourcesFit } from './noderesourcesfit.js';
import { nodeUnschedulable } from './nodeunschedulable.js';
import { interPodAffinityFilter, interPodAffinityScore } from './interpodaffinity.js';
import { podTopologySpreadFilter, podTopologySpreadScore } from './podtopologyspread.js';
import { taintTolerationFilter, taintTolerationScore } from './tainttoleration.js';
import { volumeBinding } from './volumebinding.js';

export const defaultFilters: readonly FilterPlugin[] = [
  nodeUnschedulable,
  nodeName,
  nodeReady,
  taintTolerationFilter,
  nodeAffinityFilter,
  nodePorts,
  nodeResourcesFit,
  volumeBinding,
  podTopologySpreadFilter,
  interPodAffinityFilter,
];

// kube 1.32's default profile; SelectorSpread is gone (PodTopologySpread's system defaults replaced it).
export const defaultScores: readonly ScorePlugin[] = [
  taintTolerationScore,
  nodeAffinityScore,
  leastAllocated,
  podTopologySpreadScore,
  interPodAffinityScore,
  balancedAllocation,
];

/** Between choosing a node and binding (kube's PreBind): VolumeBinding names the node on WaitForFirstConsumer claims. */
export const defaultPreBinds: readonly PreBindPlugin[] = [volumeBinding];

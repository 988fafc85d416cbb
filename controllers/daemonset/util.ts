// What the DaemonSet controller decides per node and writes into its pods
// (pkg/controller/daemon/util, NodeShouldRunDaemonPod, and
// k8s.io/component-helpers' daemon pod tolerations).

import type { KubeObject, Node, NodeSelectorTerm, Pod, PodSpec, Taint, Toleration } from '../../api/types.js';
import { podMatchesNode, toleratedBy } from '../../api/scheduling.js';

/** The tolerations kube's DaemonSet controller adds to every daemon pod (AddOrUpdateDaemonPodTolerations). */
export function daemonTolerations(spec: PodSpec): Toleration[] {
  const add: Toleration[] = [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  ];
  if (spec.hostNetwork) add.push({ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' });
  const out = [...(spec.tolerations ?? [])];
  for (const t of add) {
    // AddOrUpdateTolerationInPodSpec: one with the same key, operator, value and effect is replaced, not doubled.
    const at = out.findIndex((o) => o.key === t.key && (o.operator ?? 'Equal') === t.operator && (o.value ?? '') === '' && o.effect === t.effect);
    if (at >= 0) out[at] = t;
    else out.push(t);
  }
  return out;
}

/**
 * ReplaceDaemonSetPodNodeNameNodeAffinity: the pod's required node affinity
 * becomes one term selecting the node by metadata.name, so the scheduler
 * places it there (kube binds daemon pods through the scheduler since 1.12).
 */
export function nodeNameAffinity(spec: PodSpec, nodeName: string): PodSpec['affinity'] {
  const term: NodeSelectorTerm = { matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] };
  const affinity = structuredClone(spec.affinity ?? {});
  const na = (affinity.nodeAffinity ??= {});
  const required = na.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required?.nodeSelectorTerms?.length) {
    na.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: [term] };
    return affinity;
  }
  // Each term keeps its label expressions; its field selection is replaced by the node's name.
  na.requiredDuringSchedulingIgnoredDuringExecution = {
    nodeSelectorTerms: required.nodeSelectorTerms.map((t) => ({ ...(t.matchExpressions ? { matchExpressions: t.matchExpressions } : {}), matchFields: term.matchFields })),
  };
  return affinity;
}

/** GetTargetNodeName: the node a pod is bound to, or the one its daemon node affinity names. */
export function targetNodeName(pod: Pod): string | undefined {
  if (pod.spec.nodeName) return pod.spec.nodeName;
  for (const t of pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    const f = t.matchFields?.find((r) => r.key === 'metadata.name' && r.operator === 'In' && r.values?.length === 1);
    if (f) return f.values![0];
  }
  return undefined;
}

/**
 * NodeShouldRunDaemonPod: shouldRun when a new daemon pod would fit the node
 * (node name, nodeSelector, required node affinity, NoSchedule and NoExecute
 * taints, with the added tolerations); shouldContinueRunning when only
 * NoSchedule taints stand in the way, as those do not evict a running pod.
 */
export function nodeShouldRunDaemonPod(node: Node, ds: KubeObject): { shouldRun: boolean; shouldContinueRunning: boolean } {
  const spec = ds.spec.template.spec as PodSpec;
  const pod = { metadata: { name: '' }, spec: { ...spec, tolerations: daemonTolerations(spec) } } as Pod;
  if (spec.nodeName && spec.nodeName !== node.metadata.name) return { shouldRun: false, shouldContinueRunning: false };
  if (!podMatchesNode(pod, node)) return { shouldRun: false, shouldContinueRunning: false };
  const taints: Taint[] = node.spec?.taints ?? [];
  const untolerated = (effect: string) => taints.some((t) => t.effect === effect && !toleratedBy(pod.spec.tolerations, t));
  if (untolerated('NoExecute')) return { shouldRun: false, shouldContinueRunning: false };
  if (untolerated('NoSchedule')) return { shouldRun: false, shouldContinueRunning: true };
  return { shouldRun: true, shouldContinueRunning: true };
}

/** GetScaledValueFromIntOrPercent, rounding up as the DaemonSet controller asks. */
export function scaledValue(v: number | string | undefined, total: number, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  return m ? Math.ceil((Number(m[1]) * total) / 100) : fallback;
}

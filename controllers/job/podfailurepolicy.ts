// matchPodFailurePolicy (pkg/controller/job/pod_failure_policy.go): the first
// rule that matches a failed pod decides what its failure means: FailJob ends
// the Job, Ignore does not count it against backoffLimit, Count counts it,
// FailIndex fails its index. No rule matching means Count.

import type { Pod } from '../../api/types.js';

export type PodFailureAction = 'FailJob' | 'FailIndex' | 'Ignore' | 'Count';

export interface PodFailurePolicyRule {
  action: PodFailureAction;
  onExitCodes?: { containerName?: string; operator: 'In' | 'NotIn'; values: number[] };
  onPodConditions?: { type: string; status?: string }[];
}

export interface Match {
  action: PodFailureAction;
  /** The condition message kube writes for a FailJob match. */
  message?: string;
}

export function matchPodFailurePolicy(rules: PodFailurePolicyRule[] | undefined, pod: Pod): Match | undefined {
  for (const [i, rule] of (rules ?? []).entries()) {
    const codes = rule.onExitCodes;
    if (codes) {
      const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])] as { name: string; state?: { terminated?: { exitCode?: number } } }[];
      // Successful containers (exit code 0) take no part in the check.
      const hit = statuses.find((s) => {
        const code = s.state?.terminated?.exitCode;
        if (code === undefined || code === 0) return false;
        if (codes.containerName && codes.containerName !== s.name) return false;
        const inSet = codes.values.includes(code);
        return codes.operator === 'In' ? inSet : !inSet;
      });
      if (hit) {
        const code = hit.state!.terminated!.exitCode;
        return { action: rule.action, message: `Container ${hit.name} for pod ${pod.metadata.namespace}/${pod.metadata.name} failed with exit code ${code} matching ${rule.action} rule at index ${i}` };
      }
    }
    for (const pattern of rule.onPodConditions ?? []) {
      const c = (pod.status?.conditions ?? []).find((x) => x.type === pattern.type && x.status === (pattern.status ?? 'True'));
      if (c) return { action: rule.action, message: `Pod ${pod.metadata.namespace}/${pod.metadata.name} has condition ${c.type} matching ${rule.action} rule at index ${i}` };
    }
  }
  return undefined;
}

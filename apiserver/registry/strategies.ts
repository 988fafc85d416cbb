// Per-kind rules that the generic store applies, after the strategies in
// k8s.io/kubernetes/pkg/registry/*/strategy.go. A kind without an entry
// behaves as a plain object: no generation, no status subresource semantics.

import type { KubeObject } from '../../api/types.js';
import { kindOf, type ResourceInfo, type Strategy } from '../../api/kind.js';

export type { Strategy };
import { podQOSClass } from '../../api/qos.js';


const plain: Strategy = { tracksGeneration: false, generationIncludesLabels: false, allowCreateOnUpdate: false, returnDeletedObject: false, prepareForCreate: () => {} };

const resetStatus = (obj: KubeObject) => { obj.status = {}; };

const strategies: Record<string, Partial<Strategy>> = {
  pods: {
    returnDeletedObject: true,
    // A bound pod lingers for its grace period while the kubelet stops it; a repeated delete may shorten it, never lengthen it.
    markForDeletion: (pod, options) => {
      const meta = pod.metadata;
      const bound = !!pod.spec?.nodeName && !['Succeeded', 'Failed'].includes(pod.status?.phase);
      let grace = bound ? (options.gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30) : 0;
      if (meta.deletionGracePeriodSeconds !== undefined) grace = Math.min(grace, meta.deletionGracePeriodSeconds);
      if (grace <= 0) return false;
      if (meta.deletionGracePeriodSeconds !== grace) {
        meta.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
        meta.deletionGracePeriodSeconds = grace;
      }
      return true;
    },
    prepareForCreate: (p) => { p.status = { phase: 'Pending' }; },
    // podStrategy.PrepareForCreate sets qosClass once; a status write that leaves it out keeps it (podStatusStrategy).
    afterDefaults: (p, old) => {
      const status = p.status && typeof p.status === 'object' && !Array.isArray(p.status) ? p.status : undefined;
      if (!old) p.status = { ...status, qosClass: podQOSClass(p.spec) };
      else if (status && !status.qosClass && old.status?.qosClass) status.qosClass = old.status.qosClass;
    },
  },
  services: { returnDeletedObject: true, prepareForCreate: (s) => { s.status = { loadBalancer: {} }; } },
  // ReplicaSetStatus.replicas is not omitempty: an empty status still says 0.
  replicasets: { tracksGeneration: true, prepareForCreate: (rs) => { rs.status = { replicas: 0 }; } },
  deployments: { tracksGeneration: true, prepareForCreate: resetStatus },
  namespaces: {
    returnDeletedObject: true,
    prepareForCreate: (ns) => {
      ns.status = { phase: 'Active' };
      ns.spec = { ...(ns.spec ?? {}), finalizers: ['kubernetes'] };
    },
    // The namespace controller empties a Terminating namespace, then removes spec.finalizers.
    markForDeletion: (ns) => {
      ns.status = { ...(ns.status ?? {}), phase: 'Terminating' };
      return true;
    },
    awaitsOthers: (ns) => !!ns.spec?.finalizers?.length,
  },
  endpoints: { allowCreateOnUpdate: true },
  events: { allowCreateOnUpdate: true },
  leases: { allowCreateOnUpdate: true },
  // endpointSliceStrategy bumps generation on any change outside metadata, and on labels
  // (the service-name label moves a slice between Services); the controller's tracker reads it.
  endpointslices: { tracksGeneration: true, generationIncludesLabels: true },
  certificatesigningrequests: { prepareForCreate: (csr) => { csr.status = {}; }, prepareForUpdate: csrPrepareForUpdate },
  // serviceaccount's cleanSecretReferences: a ServiceAccount names its secrets, nothing more.
  serviceaccounts: {
    prepareForCreate: (sa) => {
      if (Array.isArray(sa.secrets)) sa.secrets = sa.secrets.map((r: { name?: string } | null) => ({ name: r?.name }));
    },
  },
};

// certificates' csrStrategy, csrStatusStrategy and csrApprovalStrategy: the spec never changes after create
// (username and groups are the creator's, set by admission); /approval writes only the Approved and Denied
// conditions, /status everything else (the certificate), so approving and issuing stay separate powers.
const isApproval = (c: { type?: string }) => c.type === 'Approved' || c.type === 'Denied';
function csrPrepareForUpdate(obj: KubeObject, old: KubeObject, subresource?: string): void {
  obj.spec = structuredClone(old.spec);
  if (subresource !== 'status' && subresource !== 'approval') return;
  const oldConds: { type?: string }[] = old.status?.conditions ?? [];
  const newConds: { type?: string }[] = obj.status?.conditions ?? [];
  const conditions = subresource === 'approval'
    ? [...newConds.filter(isApproval), ...oldConds.filter((c) => !isApproval(c))]
    : [...oldConds.filter(isApproval), ...newConds.filter((c) => !isApproval(c))];
  const status = subresource === 'approval' ? { ...(old.status ?? {}) } : { ...(obj.status ?? {}) };
  if (conditions.length) status.conditions = conditions.map((c: any) => {
    // populateConditionTimestamps: a condition without times gets now; an unchanged one keeps its old times.
    const before: any = oldConds.find((o) => o.type === c.type);
    const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const same = before && before.status === c.status && before.reason === c.reason && before.message === c.message;
    return { ...c, lastUpdateTime: c.lastUpdateTime ?? (same ? before.lastUpdateTime : stamp), lastTransitionTime: c.lastTransitionTime ?? (before?.status === c.status ? before.lastTransitionTime ?? stamp : stamp) };
  });
  else delete status.conditions;
  obj.status = status;
}

export function strategyFor(r: ResourceInfo): Strategy {
  return { ...plain, ...strategies[r.plural], ...kindOf(r).strategy };
}

/** Whether the object has a status subresource whose fields the main resource must not change. */
export function hasStatusSubresource(r: ResourceInfo): boolean {
  return r.subresources.includes('status');
}

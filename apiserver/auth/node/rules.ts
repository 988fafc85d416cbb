// kube's bootstrappolicy.NodeRules() (1.32, default feature gates): what every
// node may do beyond the graph-checked resources. The Node authorizer embeds
// them, as kube does since 1.8 when the system:node ClusterRole stopped being
// bound to system:nodes. Kept here until apiserver/auth/rbac exports kube's
// bootstrap policy; then this list must be that one.

import type { Attributes } from '../types.js';

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

const read = ['get', 'list', 'watch'];
const rule = (verbs: string[], apiGroup: string, ...resources: string[]): PolicyRule => ({ verbs, apiGroups: [apiGroup], resources });

export const nodeRules: readonly PolicyRule[] = [
  // Checking API access: these creates do not mutate.
  rule(['create'], 'authentication.k8s.io', 'tokenreviews'),
  rule(['create'], 'authorization.k8s.io', 'subjectaccessreviews', 'localsubjectaccessreviews'),
  // The service lister behind the service environment variables.
  rule(read, '', 'services'),
  // Registering and reporting its Node (NodeRestriction limits it to its own).
  rule(['create', 'get', 'list', 'watch'], '', 'nodes'),
  rule(['update', 'patch'], '', 'nodes/status'),
  rule(['update', 'patch'], '', 'nodes'),
  rule(['create', 'update', 'patch'], '', 'events'),
  rule(read, '', 'pods'),
  // Mirror pods, pod status and evictions (NodeRestriction limits them to pods bound to the node).
  rule(['create', 'delete'], '', 'pods'),
  rule(['update', 'patch'], '', 'pods/status'),
  rule(['create'], '', 'pods/eviction'),
  // The Node authorizer limits these to objects the node's pods reference.
  rule(['get', 'list', 'watch'], '', 'secrets', 'configmaps'),
  rule(['get'], '', 'persistentvolumeclaims', 'persistentvolumes'),
  rule(['get'], '', 'endpoints'),
  rule(['create', 'get', 'list', 'watch'], 'certificates.k8s.io', 'certificatesigningrequests'),
  rule(['get', 'create', 'update', 'patch', 'delete'], 'coordination.k8s.io', 'leases'),
  rule(['get'], 'storage.k8s.io', 'volumeattachments'),
  rule(['create'], '', 'serviceaccounts/token'),
  rule(['get', 'update', 'patch'], '', 'persistentvolumeclaims/status'),
  rule(['get', 'watch', 'list'], 'storage.k8s.io', 'csidrivers'),
  rule(['get', 'create', 'update', 'patch', 'delete'], 'storage.k8s.io', 'csinodes'),
  rule(read, 'node.k8s.io', 'runtimeclasses'),
];

/** rbac.RuleAllows: verb, group, resource[/subresource] and name for resource requests; verb and URL otherwise. */
export function ruleAllows(a: Attributes, r: PolicyRule): boolean {
  const verbOk = r.verbs.includes('*') || r.verbs.includes(a.verb);
  if (!verbOk) return false;
  if (a.resourceRequest) {
    const groups = r.apiGroups ?? [];
    if (!groups.includes('*') && !groups.includes(a.apiGroup)) return false;
    const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    const resources = r.resources ?? [];
    const resOk = resources.some((x) => x === '*' || x === combined || (!!a.subresource && x === `*/${a.subresource}`));
    if (!resOk) return false;
    return !r.resourceNames?.length || r.resourceNames.includes(a.name);
  }
  return (r.nonResourceURLs ?? []).some((u) => u === '*' || u === a.path || (u.endsWith('*') && a.path.startsWith(u.slice(0, -1))));
}

export function rulesAllow(a: Attributes, rules: readonly PolicyRule[]): boolean {
  return rules.some((r) => ruleAllows(a, r));
}

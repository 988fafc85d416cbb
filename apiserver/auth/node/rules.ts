// kube's bootstrappolicy.NodeRules() (1.32, default feature gates): what every
// node may do beyond the graph-checked resources. The Node authorizer embeds
// them, as kube does since 1.8 when the system:node ClusterRole stopped being
// bound to system:nodes. Kube builds that ClusterRole from this same list;
// apiserver/auth/rbac/bootstrap.ts keeps its own copy of it for now.

import type { PolicyRule } from '../../../api/types.js';
import { ruleAllows } from '../rbac/rules.js';
import type { Attributes } from '../types.js';

export type { PolicyRule };

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

export function rulesAllow(a: Attributes, rules: readonly PolicyRule[]): boolean {
  return rules.some((r) => ruleAllows(a, r));
}

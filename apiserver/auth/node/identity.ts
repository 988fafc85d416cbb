// Which node a request comes from (k8s.io/kubernetes/pkg/auth/nodeidentifier):
// a user named system:node:<name> in the group system:nodes. Shared by the
// Node authorizer and the NodeRestriction admission plugin, as in kube.

import { groups, type UserInfo } from '../types.js';

export const nodeUserPrefix = 'system:node:';

/**
 * isNode is false for anyone not both named system:node:* and in
 * system:nodes; a node user with an empty name is still a node (whose
 * requests both callers then refuse), as kube's default identifier answers.
 */
export function nodeIdentity(user: UserInfo | undefined): { isNode: boolean; nodeName: string } {
  if (!user || !user.username.startsWith(nodeUserPrefix)) return { isNode: false, nodeName: '' };
  if (!user.groups.includes(groups.nodes)) return { isNode: false, nodeName: '' };
  return { isNode: true, nodeName: user.username.slice(nodeUserPrefix.length) };
}

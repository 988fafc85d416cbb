// rbac.authorization.k8s.io/v1 ClusterRole (ValidateClusterRole). kube prints it with the default columns.

import { defineKind, entry } from '../../kind.js';
import { rbacGroup, rbacNameRule, validateAggregationRule, validatePolicyRules } from './shared.js';

export default defineKind({
  resource: entry({ group: rbacGroup, version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', singular: 'clusterrole', namespaced: false }),
  nameRule: rbacNameRule,
  validate: (obj) => [...validatePolicyRules(obj.rules, false), ...validateAggregationRule(obj)],
});

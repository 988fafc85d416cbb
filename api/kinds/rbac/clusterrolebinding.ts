// rbac.authorization.k8s.io/v1 ClusterRoleBinding (ValidateClusterRoleBinding, SetDefaults_ClusterRoleBinding, printClusterRoleBinding).

import { defineKind, entry } from '../../kind.js';
import { bindingPrinter, defaultBinding, rbacGroup, rbacNameRule, validateBinding } from './shared.js';

export default defineKind({
  resource: entry({ group: rbacGroup, version: 'v1', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', singular: 'clusterrolebinding', namespaced: false }),
  nameRule: rbacNameRule,
  defaults: defaultBinding,
  validate: (obj, { old }) => validateBinding(obj, old, false),
  printer: bindingPrinter(false),
});

// rbac.authorization.k8s.io/v1 RoleBinding (ValidateRoleBinding, SetDefaults_RoleBinding, printRoleBinding).

import { defineKind, entry } from '../../kind.js';
import { bindingPrinter, defaultBinding, rbacGroup, rbacNameRule, validateBinding } from './shared.js';

export default defineKind({
  resource: entry({ group: rbacGroup, version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', singular: 'rolebinding', namespaced: true }),
  nameRule: rbacNameRule,
  defaults: defaultBinding,
  validate: (obj, { old }) => validateBinding(obj, old, true),
  printer: bindingPrinter(true),
});

// rbac.authorization.k8s.io/v1 Role (ValidateRole). kube prints it with the default columns.

import { defineKind, entry } from '../../kind.js';
import { rbacGroup, rbacNameRule, validatePolicyRules } from './shared.js';

export default defineKind({
  resource: entry({ group: rbacGroup, version: 'v1', kind: 'Role', plural: 'roles', singular: 'role', namespaced: true }),
  nameRule: rbacNameRule,
  validate: (obj) => validatePolicyRules(obj.rules, true),
});

// What the rbac.authorization.k8s.io kinds share (pkg/apis/rbac/validation, rbac/v1 defaults,
// printRoleBinding). No default export: the registry skips this module.

import type { KubeObject, LabelSelector, StatusCause } from '../../types.js';
import type { Printer } from '../../kind.js';
import { fieldCause } from '../../errors.js';
import { isObject, objects } from '../../defaults.js';
import { isDNS1123Subdomain, selectorFromLabelSelector } from '../../labels.js';
import { field, isValidPathSegmentName, validateLabels } from '../../schemas/rules.js';
import { age, ageCol, nameCol } from '../../printing.js';

export const rbacGroup = 'rbac.authorization.k8s.io';

/** ValidateRBACName: role and binding names are path segments ("system:basic-user"). */
export const rbacNameRule = isValidPathSegmentName;

/** ValidatePolicyRule: namespaced rules (Roles) cannot name non-resource URLs. */
export function validatePolicyRules(rules: { verbs?: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[]; nonResourceURLs?: string[] }[] | undefined, namespaced: boolean): StatusCause[] {
  const out: StatusCause[] = [];
  (rules ?? []).forEach((rule, i) => {
    const f = `rules[${i}]`;
    if (!rule.verbs?.length) out.push(field.required(`${f}.verbs`, 'verbs must contain at least one value'));
    if (rule.nonResourceURLs?.length) {
      if (namespaced) out.push(field.invalid(`${f}.nonResourceURLs`, rule.nonResourceURLs, 'namespaced rules cannot apply to non-resource URLs'));
      if (rule.apiGroups?.length || rule.resources?.length || rule.resourceNames?.length) out.push(field.invalid(`${f}.nonResourceURLs`, rule.nonResourceURLs, 'rules cannot apply to both regular resources and non-resource URLs'));
      return;
    }
    if (!rule.apiGroups?.length) out.push(field.required(`${f}.apiGroups`, 'resource rules must supply at least one api group'));
    if (!rule.resources?.length) out.push(field.required(`${f}.resources`, 'resource rules must supply at least one resource'));
  });
  return out;
}

export function validateAggregationRule(obj: KubeObject): StatusCause[] {
  const ar = obj.aggregationRule;
  if (!ar) return [];
  const out: StatusCause[] = [];
  const selectors: LabelSelector[] = ar.clusterRoleSelectors ?? [];
  if (!selectors.length) out.push(field.required('aggregationRule.clusterRoleSelectors', 'at least one clusterRoleSelector required if aggregationRule is non-nil'));
  selectors.forEach((sel, i) => {
    const f = `aggregationRule.clusterRoleSelectors[${i}]`;
    out.push(...validateLabels(sel.matchLabels, `${f}.matchLabels`));
    try {
      selectorFromLabelSelector(sel);
    } catch (e) {
      out.push(field.invalid(f, sel, (e as Error).message));
    }
  });
  return out;
}

/** ValidateRoleBindingSubject. */
function validateSubjects(subjects: { kind?: string; apiGroup?: string; name?: string; namespace?: string }[] | undefined, namespaced: boolean): StatusCause[] {
  const out: StatusCause[] = [];
  (subjects ?? []).forEach((s, i) => {
    const f = `subjects[${i}]`;
    if (!s.name) out.push(field.required(`${f}.name`));
    switch (s.kind) {
      case 'ServiceAccount':
        if (s.name) for (const msg of isDNS1123Subdomain(s.name)) out.push(field.invalid(`${f}.name`, s.name, msg));
        if (s.apiGroup) out.push(field.notSupported(`${f}.apiGroup`, s.apiGroup, ['']));
        if (!namespaced && !s.namespace) out.push(field.required(`${f}.namespace`));
        break;
      case 'User':
      case 'Group':
        if (s.apiGroup !== rbacGroup) out.push(field.notSupported(`${f}.apiGroup`, s.apiGroup ?? '', [rbacGroup]));
        break;
      default:
        out.push(field.notSupported(`${f}.kind`, s.kind ?? '', ['ServiceAccount', 'User', 'Group']));
    }
  });
  return out;
}

/** ValidateRoleBinding / ValidateClusterRoleBinding, and roleRef's immutability on update. */
export function validateBinding(obj: KubeObject, old: KubeObject | undefined, namespaced: boolean): StatusCause[] {
  const out: StatusCause[] = [];
  const ref = obj.roleRef ?? {};
  if ((ref.apiGroup ?? '') !== rbacGroup) out.push(field.notSupported('roleRef.apiGroup', ref.apiGroup ?? '', [rbacGroup]));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!kinds.includes(ref.kind)) out.push(field.notSupported('roleRef.kind', ref.kind ?? '', kinds));
  if (!ref.name) out.push(field.required('roleRef.name'));
  else for (const msg of isValidPathSegmentName(ref.name)) out.push(field.invalid('roleRef.name', ref.name, msg));
  out.push(...validateSubjects(obj.subjects, namespaced));
  if (old?.roleRef) {
    const same = (a: any, b: any) => (a?.apiGroup ?? '') === (b?.apiGroup ?? '') && (a?.kind ?? '') === (b?.kind ?? '') && (a?.name ?? '') === (b?.name ?? '');
    if (!same(ref, old.roleRef)) {
      out.push(fieldCause('roleRef', 'FieldValueInvalid', `Invalid value: rbac.RoleRef{APIGroup:${JSON.stringify(ref.apiGroup ?? '')}, Kind:${JSON.stringify(ref.kind ?? '')}, Name:${JSON.stringify(ref.name ?? '')}}: cannot change roleRef`));
    }
  }
  return out;
}

/** rbac/v1 SetDefaults_RoleBinding, _ClusterRoleBinding and _Subject: the roleRef, User and Group subjects are of the rbac group unless said otherwise. */
export function defaultBinding(o: KubeObject): void {
  if (isObject(o.roleRef) && !o.roleRef.apiGroup) o.roleRef.apiGroup = rbacGroup;
  for (const s of objects<{ kind?: string; apiGroup?: string }>(o.subjects)) {
    if (!s.apiGroup && (s.kind === 'User' || s.kind === 'Group')) s.apiGroup = rbacGroup;
  }
}

/** rbac.SubjectsStrings: users, groups and "namespace/name" ServiceAccounts of a binding. */
function subjectsCells(b: KubeObject): string[] {
  const subjects: { kind?: string; name?: string; namespace?: string }[] = b.subjects ?? [];
  const of = (kind: string) => subjects.filter((s) => s.kind === kind);
  return [of('User').map((s) => s.name).join(', '), of('Group').map((s) => s.name).join(', '), of('ServiceAccount').map((s) => `${s.namespace ?? ''}/${s.name}`).join(', ')];
}

/** printRoleBinding / printClusterRoleBinding, with the descriptions of each kind's own fields. */
export function bindingPrinter(namespaced: boolean): Printer {
  const who = namespaced ? 'roleBinding' : 'clusterRoleBinding';
  return {
    columns: [nameCol,
      ['Role', 'string', `RoleRef can ${namespaced ? 'reference a Role in the current namespace or a ClusterRole in the global namespace' : 'only reference a ClusterRole in the global namespace'}. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable.`],
      ageCol,
      ['Users', 'string', `Users in the ${who}`, 1],
      ['Groups', 'string', `Groups in the ${who}`, 1],
      ['ServiceAccounts', 'string', `ServiceAccounts in the ${who}`, 1]],
    cells: (b, since) => [b.metadata.name, `${b.roleRef?.kind ?? ''}/${b.roleRef?.name ?? ''}`, age(b, since), ...subjectsCells(b)],
  };
}

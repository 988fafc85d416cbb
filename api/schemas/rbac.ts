// rbac.authorization.k8s.io/v1 definitions (Role, ClusterRole, RoleBinding,
// ClusterRoleBinding), with upstream's field descriptions and list/map types,
// so `kubectl explain clusterrole.rules` and server-side apply read the same
// shape as against kube-apiserver.

import { list, obj, ref, str, strList, type Schema } from './dsl.js';
import { metaNames } from './meta.js';

const d = 'io.k8s.api.rbac.v1.';

export const rbacNames = {
  PolicyRule: d + 'PolicyRule',
  Subject: d + 'Subject',
  RoleRef: d + 'RoleRef',
  AggregationRule: d + 'AggregationRule',
};

export const rbacSchemas: Record<string, Schema> = {
  [rbacNames.PolicyRule]: obj('PolicyRule holds information that describes a policy rule, but does not contain information about who the rule applies to or which namespace the rule applies to.', {
    verbs: strList("Verbs is a list of Verbs that apply to ALL the ResourceKinds contained in this rule. '*' represents all verbs."),
    apiGroups: strList('APIGroups is the name of the APIGroup that contains the resources.  If multiple API groups are specified, any action requested against one of the enumerated resources in any API group will be allowed. "" represents the core API group and "*" represents all API groups.'),
    resources: strList("Resources is a list of resources this rule applies to. '*' represents all resources."),
    resourceNames: strList('ResourceNames is an optional white list of names that the rule applies to.  An empty set means that everything is allowed.'),
    nonResourceURLs: strList('NonResourceURLs is a set of partial urls that a user should have access to.  *s are allowed, but only as the full, final step in the path Since non-resource URLs are not namespaced, this field is only applicable for ClusterRoles referenced from a ClusterRoleBinding. Rules can either apply to API resources (such as "pods" or "secrets") or non-resource URL paths (such as "/api"),  but not both.'),
  }, ['verbs']),
  [rbacNames.Subject]: { ...obj('Subject contains a reference to the object or user identities a role binding applies to.  This can either hold a direct API object reference, or a value for non-objects such as user and group names.', {
    kind: str('Kind of object being referenced. Values defined by this API group are "User", "Group", and "ServiceAccount". If the Authorizer does not recognized the kind value, the Authorizer should report an error.'),
    apiGroup: str('APIGroup holds the API group of the referenced subject. Defaults to "" for ServiceAccount subjects. Defaults to "rbac.authorization.k8s.io" for User and Group subjects.'),
    name: str('Name of the object being referenced.'),
    namespace: str('Namespace of the referenced object.  If the object kind is non-namespace, such as "User" or "Group", and this value is not empty the Authorizer should report an error.'),
  }, ['kind', 'name']), 'x-kubernetes-map-type': 'atomic' },
  [rbacNames.RoleRef]: { ...obj('RoleRef contains information that points to the role being used', {
    apiGroup: str('APIGroup is the group for the resource being referenced'),
    kind: str('Kind is the type of resource being referenced'),
    name: str('Name is the name of resource being referenced'),
  }, ['apiGroup', 'kind', 'name']), 'x-kubernetes-map-type': 'atomic' },
  [rbacNames.AggregationRule]: obj('AggregationRule describes how to locate ClusterRoles to aggregate into the ClusterRole', {
    clusterRoleSelectors: list(metaNames.LabelSelector, "ClusterRoleSelectors holds a list of selectors which will be used to find ClusterRoles and create the rules. If any of the selectors match, then the ClusterRole's permissions will be added"),
  }),
};

const subjects = list(rbacNames.Subject, 'Subjects holds references to the objects the role applies to.');

export const rbacKinds: Record<string, { description: string; properties: Record<string, Schema>; required?: string[] }> = {
  Role: {
    description: 'Role is a namespaced, logical grouping of PolicyRules that can be referenced as a unit by a RoleBinding.',
    properties: { rules: list(rbacNames.PolicyRule, 'Rules holds all the PolicyRules for this Role') },
  },
  ClusterRole: {
    description: 'ClusterRole is a cluster level, logical grouping of PolicyRules that can be referenced as a unit by a RoleBinding or ClusterRoleBinding.',
    properties: {
      aggregationRule: ref(rbacNames.AggregationRule, 'AggregationRule is an optional field that describes how to build the Rules for this ClusterRole. If AggregationRule is set, then the Rules are controller managed and direct changes to Rules will be stomped by the controller.'),
      rules: list(rbacNames.PolicyRule, 'Rules holds all the PolicyRules for this ClusterRole'),
    },
  },
  RoleBinding: {
    description: 'RoleBinding references a role, but does not contain it.  It can reference a Role in the same namespace or a ClusterRole in the global namespace. It adds who information via Subjects and namespace information by which namespace it exists in.  RoleBindings in a given namespace only have effect in that namespace.',
    properties: {
      subjects,
      roleRef: ref(rbacNames.RoleRef, 'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable.'),
    },
    required: ['roleRef'],
  },
  ClusterRoleBinding: {
    description: 'ClusterRoleBinding references a ClusterRole, but not contain it.  It can reference a ClusterRole in the global namespace, and adds who information via Subject.',
    properties: {
      subjects,
      roleRef: ref(rbacNames.RoleRef, 'RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable.'),
    },
    required: ['roleRef'],
  },
};

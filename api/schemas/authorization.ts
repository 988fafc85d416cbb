// authorization.k8s.io/v1 definitions: the access reviews (SubjectAccessReview,
// LocalSubjectAccessReview, SelfSubjectAccessReview, SelfSubjectRulesReview),
// create-only kinds the server answers without storing anything.

import { bool, list, obj, ref, str, strList, type Schema } from './dsl.js';

const d = 'io.k8s.api.authorization.v1.';

const resourceAttributes = ref(d + 'ResourceAttributes', 'ResourceAuthorizationAttributes describes information for a resource access request');
const nonResourceAttributes = ref(d + 'NonResourceAttributes', 'NonResourceAttributes describes information for a non-resource access request');

export const authorizationSchemas: Record<string, Schema> = {
  [d + 'ResourceAttributes']: obj('ResourceAttributes includes the authorization attributes available for resource requests to the Authorizer interface', {
    namespace: str('Namespace is the namespace of the action being requested.  Currently, there is no distinction between no namespace and all namespaces "" (empty) is defaulted for LocalSubjectAccessReviews "" (empty) is empty for cluster-scoped resources "" (empty) means "all" for namespace scoped resources from a SubjectAccessReview or SelfSubjectAccessReview'),
    verb: str('Verb is a kubernetes resource API verb, like: get, list, watch, create, update, delete, proxy.  "*" means all.'),
    group: str('Group is the API Group of the Resource.  "*" means all.'),
    version: str('Version is the API Version of the Resource.  "*" means all.'),
    resource: str('Resource is one of the existing resource types.  "*" means all.'),
    subresource: str('Subresource is one of the existing resource types.  "" means none.'),
    name: str('Name is the name of the resource being requested for a "get" or deleted for a "delete". "" (empty) means all.'),
  }),
  [d + 'NonResourceAttributes']: obj('NonResourceAttributes includes the authorization attributes available for non-resource requests to the Authorizer interface', {
    path: str('Path is the URL path of the request'),
    verb: str('Verb is the standard HTTP verb'),
  }),
  [d + 'SubjectAccessReviewSpec']: obj('SubjectAccessReviewSpec is a description of the access request.  Exactly one of ResourceAuthorizationAttributes and NonResourceAuthorizationAttributes must be set', {
    resourceAttributes,
    nonResourceAttributes,
    user: str('User is the user you\'re testing for. If you specify "User" but not "Groups", then is it interpreted as "What if User were not a member of any groups'),
    groups: strList("Groups is the groups you're testing for."),
    extra: { type: 'object', description: 'Extra corresponds to the user.Info.GetExtra() method from the authenticator.  Since that is input to the authorizer it needs a reflection here.', additionalProperties: { type: 'array', items: { type: 'string', default: '' } } },
    uid: str('UID information about the requesting user.'),
  }),
  [d + 'SelfSubjectAccessReviewSpec']: obj('SelfSubjectAccessReviewSpec is a description of the access request.  Exactly one of ResourceAuthorizationAttributes and NonResourceAuthorizationAttributes must be set', {
    resourceAttributes,
    nonResourceAttributes,
  }),
  [d + 'SubjectAccessReviewStatus']: obj('SubjectAccessReviewStatus', {
    allowed: bool('Allowed is required. True if the action would be allowed, false otherwise.'),
    denied: bool('Denied is optional. True if the action would be denied, otherwise false. If both allowed is false and denied is false, then the authorizer has no opinion on whether to authorize the action. Denied may not be true if Allowed is true.'),
    reason: str('Reason is optional.  It indicates why a request was allowed or denied.'),
    evaluationError: str('EvaluationError is an indication that some error occurred during the authorization check. It is entirely possible to get an error and be able to continue determine authorization status in spite of it. For instance, RBAC can be missing a role, but enough roles are still present and bound to reason about the request.'),
  }, ['allowed']),
  [d + 'SelfSubjectRulesReviewSpec']: obj('SelfSubjectRulesReviewSpec defines the specification for SelfSubjectRulesReview.', {
    namespace: str('Namespace to evaluate rules for. Required.'),
  }),
  [d + 'ResourceRule']: obj("ResourceRule is the list of actions the subject is allowed to perform on resources. The list ordering isn't significant, may contain duplicates, and possibly be incomplete.", {
    verbs: strList('Verb is a list of kubernetes resource API verbs, like: get, list, watch, create, update, delete, proxy.  "*" means all.'),
    apiGroups: strList('APIGroups is the name of the APIGroup that contains the resources.  If multiple API groups are specified, any action requested against one of the enumerated resources in any API group will be allowed.  "*" means all.'),
    resources: strList('Resources is a list of resources this rule applies to.  "*" means all in the specified apiGroups.\n "*/foo" represents the subresource \'foo\' for all resources in the specified apiGroups.'),
    resourceNames: strList('ResourceNames is an optional white list of names that the rule applies to.  An empty set means that everything is allowed.  "*" means all.'),
  }, ['verbs']),
  [d + 'NonResourceRule']: obj('NonResourceRule holds information that describes a rule for the non-resource', {
    verbs: strList('Verb is a list of kubernetes non-resource API verbs, like: get, post, put, delete, patch, head, options.  "*" means all.'),
    nonResourceURLs: strList('NonResourceURLs is a set of partial urls that a user should have access to.  *s are allowed, but only as the full, final step in the path.  "*" means all.'),
  }, ['verbs']),
  [d + 'SubjectRulesReviewStatus']: obj("SubjectRulesReviewStatus contains the result of a rules check. This check can be incomplete depending on the set of authorizers the server is configured with and any errors experienced during evaluation. Because authorization rules are additive, if a rule appears in a list it's safe to assume the subject has that permission, even if that list is incomplete.", {
    resourceRules: list(d + 'ResourceRule', "ResourceRules is the list of actions the subject is allowed to perform on resources. The list ordering isn't significant, may contain duplicates, and possibly be incomplete."),
    nonResourceRules: list(d + 'NonResourceRule', "NonResourceRules is the list of actions the subject is allowed to perform on non-resources. The list ordering isn't significant, may contain duplicates, and possibly be incomplete."),
    incomplete: bool("Incomplete is true when the rules returned by this call are incomplete. This is most commonly encountered when an authorizer, such as an external authorizer, doesn't support rules evaluation."),
    evaluationError: str("EvaluationError can appear in combination with Rules. It indicates an error occurred during rule evaluation, such as an authorizer that doesn't support rule evaluation, and that ResourceRules and/or NonResourceRules may be incomplete."),
  }, ['resourceRules', 'nonResourceRules', 'incomplete']),
};

const sarStatus = ref(d + 'SubjectAccessReviewStatus', 'Status is filled in by the server and indicates whether the request is allowed or not');

export const authorizationKinds: Record<string, { description: string; properties: Record<string, Schema>; required?: string[] }> = {
  SubjectAccessReview: {
    description: 'SubjectAccessReview checks whether or not a user or group can perform an action.',
    properties: { spec: ref(d + 'SubjectAccessReviewSpec', 'Spec holds information about the request being evaluated'), status: sarStatus },
    required: ['spec'],
  },
  LocalSubjectAccessReview: {
    description: 'LocalSubjectAccessReview checks whether or not a user or group can perform an action in a given namespace. Having a namespace scoped resource makes it much easier to grant namespace scoped policy that includes permissions checking.',
    properties: { spec: ref(d + 'SubjectAccessReviewSpec', 'Spec holds information about the request being evaluated.  spec.namespace must be equal to the namespace you made the request against.  If empty, it is defaulted.'), status: sarStatus },
    required: ['spec'],
  },
  SelfSubjectAccessReview: {
    description: 'SelfSubjectAccessReview checks whether or the current user can perform an action.  Not filling in a spec.namespace means "in all namespaces".  Self is a special case, because users should always be able to check whether they can perform an action',
    properties: { spec: ref(d + 'SelfSubjectAccessReviewSpec', 'Spec holds information about the request being evaluated.  user and groups must be empty'), status: sarStatus },
    required: ['spec'],
  },
  SelfSubjectRulesReview: {
    description: "SelfSubjectRulesReview enumerates the set of actions the current user can perform within a namespace. The returned list of actions may be incomplete depending on the server's authorization mode, and any errors experienced during the evaluation. SelfSubjectRulesReview should be used by UIs to show/hide actions, or to quickly let an end user reason about their permissions. It should NOT Be used by external systems to drive authorization decisions as this raises confused deputy, cache lifetime/revocation, and correctness concerns. SubjectAccessReview, and LocalAccessReview are the correct way to defer authorization decisions to the API server.",
    properties: {
      spec: ref(d + 'SelfSubjectRulesReviewSpec', 'Spec holds information about the request being evaluated.'),
      status: ref(d + 'SubjectRulesReviewStatus', 'Status is filled in by the server and indicates the set of actions a user can perform.'),
    },
    required: ['spec'],
  },
};

// Who a request is from and what it asks to do, as Kubernetes' user.Info and
// authorizer.Attributes: the API server's filter chain and the kubelet's own
// authentication and authorization speak these.

/** user.Info: who a request is from. */
export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export const anonymousUser = 'system:anonymous';
export const groups = {
  authenticated: 'system:authenticated',
  unauthenticated: 'system:unauthenticated',
  masters: 'system:masters',
  nodes: 'system:nodes',
  bootstrappers: 'system:bootstrappers',
  serviceAccounts: 'system:serviceaccounts',
} as const;

/** authorizer.Attributes. */
export interface Attributes {
  user: UserInfo;
  verb: string;
  resourceRequest: boolean;
  /** Non-resource requests: the URL path. */
  path: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  /** The request's ?fieldSelector and ?labelSelector, for authorizers that scope lists by them (Node). */
  fieldSelector?: string;
  labelSelector?: string;
}

export type Decision = 'Allow' | 'Deny' | 'NoOpinion';

export interface AuthorizerResult { decision: Decision; reason: string }

/** k8s.io/cluster-bootstrap/token/api: a bootstrap token is "<id>.<secret>", kept in a Secret of this type in kube-system. */
export const bootstrapTokenPattern = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
export const bootstrapTokenSecretType = 'bootstrap.kubernetes.io/token';

// authentication.k8s.io/v1 TokenReview (what a token authenticates as: the
// kubelet's --authentication-token-webhook asks this) and SelfSubjectReview
// (`kubectl auth whoami`), answered by the API server's own authenticators
// and never stored.

import { errors } from '../../api/errors.js';
import type { KubeObject } from '../../api/types.js';
import { groups, type TokenAuthenticator, type UserInfo } from './types.js';

function userInfo(u: UserInfo): Record<string, unknown> {
  return { username: u.username, ...(u.uid ? { uid: u.uid } : {}), groups: u.groups, ...(u.extra ? { extra: u.extra } : {}) };
}

/**
 * TokenReview: the bearer-token authenticators asked with the review's
 * audiences (the API's own when none are given). A token that none accepts is
 * `authenticated: false`, not an error: the reviewer decides what that means.
 */
export function tokenReview(tokens: TokenAuthenticator[], apiAudiences: string[]) {
  return async (obj: KubeObject): Promise<KubeObject> => {
    const token = obj.spec?.token;
    if (typeof token !== 'string' || !token) {
      throw errors.invalid('TokenReview', '', [{ reason: 'FieldValueRequired', field: 'spec.token', message: 'Required value' }], 'authentication.k8s.io');
    }
    const audiences: string[] = Array.isArray(obj.spec.audiences) && obj.spec.audiences.length ? obj.spec.audiences : apiAudiences;
    let user: UserInfo | undefined;
    for (const t of tokens) {
      try {
        user = await t.authenticateToken(token, audiences);
      } catch {
        user = undefined;
      }
      if (user) break;
    }
    // The token itself is never echoed back: a review's answer may be logged by its caller.
    const { token: _secret, ...spec } = obj.spec;
    const out: KubeObject = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: { ...(obj.metadata ?? {}) }, spec };
    if (!user) {
      out.status = { authenticated: false, user: {}, error: 'token is not valid' };
      return out;
    }
    const withAuthenticated = user.groups.includes(groups.authenticated) ? user : { ...user, groups: [...user.groups, groups.authenticated] };
    out.status = { authenticated: true, user: userInfo(withAuthenticated), audiences };
    return out;
  };
}

/** SelfSubjectReview: the requester as the filter chain authenticated (and impersonated) it. */
export function selfSubjectReview() {
  return async (obj: KubeObject, req: { user: UserInfo }): Promise<KubeObject> => ({
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'SelfSubjectReview',
    metadata: { ...(obj.metadata ?? {}) },
    status: { userInfo: userInfo(req.user) },
  });
}

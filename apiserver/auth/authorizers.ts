// Authorizer composition (k8s.io/apiserver/pkg/authorization/union): the
// modes of --authorization-mode asked in order; the first Allow or Deny
// decides, NoOpinion from all is a refusal. system:masters is allowed before
// any mode is asked, as kube's privileged-group authorizer does, so
// cluster-admin never depends on RBAC objects being intact.

import { groups, type Attributes, type Authorizer, type AuthorizerResult, type RulesResult, type UserInfo } from './types.js';

export class UnionAuthorizer implements Authorizer {
  constructor(private readonly list: Authorizer[]) {}

  async authorize(a: Attributes): Promise<AuthorizerResult> {
    const reasons: string[] = [];
    for (const z of this.list) {
      const r = await z.authorize(a);
      if (r.decision !== 'NoOpinion') return r;
      if (r.reason) reasons.push(r.reason);
    }
    return { decision: 'NoOpinion', reason: reasons.join('\n') };
  }

  async rulesFor(user: UserInfo, namespace: string): Promise<RulesResult> {
    const out: RulesResult = { resourceRules: [], nonResourceRules: [], incomplete: false };
    for (const z of this.list) {
      if (!z.rulesFor) {
        out.incomplete = true;
        continue;
      }
      const r = await z.rulesFor(user, namespace);
      out.resourceRules.push(...r.resourceRules);
      out.nonResourceRules.push(...r.nonResourceRules);
      out.incomplete ||= r.incomplete;
      if (r.evaluationError) out.evaluationError = [out.evaluationError, r.evaluationError].filter(Boolean).join('; ');
    }
    return out;
  }
}

export class PrivilegedGroupAuthorizer implements Authorizer {
  constructor(private readonly privileged: string[] = [groups.masters]) {}

  async authorize(a: Attributes): Promise<AuthorizerResult> {
    return a.user.groups.some((g) => this.privileged.includes(g)) ? { decision: 'Allow', reason: '' } : { decision: 'NoOpinion', reason: '' };
  }

  async rulesFor(user: UserInfo): Promise<RulesResult> {
    const all = user.groups.some((g) => this.privileged.includes(g));
    return {
      resourceRules: all ? [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }] : [],
      nonResourceRules: all ? [{ verbs: ['*'], nonResourceURLs: ['*'] }] : [],
      incomplete: false,
    };
  }
}

/** --authorization-mode=AlwaysAllow: every authenticated request passes (for tests and trusted single-user set-ups only). */
export class AlwaysAllow implements Authorizer {
  async authorize(): Promise<AuthorizerResult> {
    return { decision: 'Allow', reason: '' };
  }

  async rulesFor(): Promise<RulesResult> {
    return { resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }], incomplete: false };
  }
}

/** --authorization-mode=AlwaysDeny. */
export class AlwaysDeny implements Authorizer {
  async authorize(): Promise<AuthorizerResult> {
    return { decision: 'Deny', reason: '' };
  }
}

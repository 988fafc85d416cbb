import { describe, expect, it } from 'vitest';
import { isStatusError } from '../../api/errors.js';
import type { Attributes, Authorizer, RulesResult, UserInfo } from './types.js';
import { accessReviewHandlers } from './reviews.js';

/** Allows alice to get pods in "a", denies mallory outright, has no opinion otherwise; records what it was asked. */
class FakeAuthorizer implements Authorizer {
  asked: Attributes[] = [];
  async authorize(a: Attributes) {
    this.asked.push(a);
    if (a.user.username === 'mallory') return { decision: 'Deny' as const, reason: 'banned' };
    if (a.user.username === 'alice' && a.verb === 'get' && a.resource === 'pods' && a.namespace === 'a') return { decision: 'Allow' as const, reason: 'RBAC: allowed by test' };
    return { decision: 'NoOpinion' as const, reason: '' };
  }
  async rulesFor(_u: UserInfo, namespace: string): Promise<RulesResult> {
    return { resourceRules: namespace === 'a' ? [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }] : [], nonResourceRules: [], incomplete: false };
  }
}

const alice: UserInfo = { username: 'alice', groups: ['system:authenticated'] };
const review = (kind: string, spec: object) => ({ apiVersion: 'authorization.k8s.io/v1', kind, metadata: {}, spec });

describe('access reviews', () => {
  it('SelfSubjectAccessReview asks about the requester; status says allowed, denied and why as kube', async () => {
    const z = new FakeAuthorizer();
    const h = accessReviewHandlers(z);
    const ssar = h.get('selfsubjectaccessreviews')!;
    expect((await ssar(review('SelfSubjectAccessReview', { resourceAttributes: { namespace: 'a', verb: 'get', resource: 'pods' } }), { user: alice })).status)
      .toEqual({ allowed: true, reason: 'RBAC: allowed by test' });
    expect(z.asked[0]).toMatchObject({ user: alice, resourceRequest: true, apiVersion: '*', apiGroup: '', namespace: 'a' });
    expect((await ssar(review('SelfSubjectAccessReview', { nonResourceAttributes: { path: '/healthz', verb: 'get' } }), { user: alice })).status).toEqual({ allowed: false });
    expect(z.asked[1]).toMatchObject({ resourceRequest: false, path: '/healthz', verb: 'get' });
  });

  it('SubjectAccessReview asks about exactly the user and groups of its spec', async () => {
    const z = new FakeAuthorizer();
    const sar = accessReviewHandlers(z).get('subjectaccessreviews')!;
    const out = await sar(review('SubjectAccessReview', { user: 'mallory', groups: ['g'], resourceAttributes: { verb: 'list', resource: 'pods' } }), { user: alice });
    expect(out.status).toEqual({ allowed: false, denied: true, reason: 'banned' });
    expect(z.asked[0]!.user).toEqual({ username: 'mallory', groups: ['g'] });
  });

  it('LocalSubjectAccessReview defaults its namespace from the URL and refuses another', async () => {
    const z = new FakeAuthorizer();
    const lsar = accessReviewHandlers(z).get('localsubjectaccessreviews')!;
    const ok = await lsar(review('LocalSubjectAccessReview', { user: 'alice', resourceAttributes: { verb: 'get', resource: 'pods' } }), { user: alice, namespace: 'a' });
    expect(ok.status).toEqual({ allowed: true, reason: 'RBAC: allowed by test' });
    const err = await lsar(review('LocalSubjectAccessReview', { user: 'alice', resourceAttributes: { namespace: 'b', verb: 'get', resource: 'pods' } }), { user: alice, namespace: 'a' }).catch((e) => e);
    expect(isStatusError(err) && err.code === 400 && err.message).toBe('spec.resourceAttributes.namespace must match namespace: a');
  });

  it('SelfSubjectRulesReview lists the requester\'s rules and needs a namespace', async () => {
    const ssrr = accessReviewHandlers(new FakeAuthorizer()).get('selfsubjectrulesreviews')!;
    expect((await ssrr(review('SelfSubjectRulesReview', { namespace: 'a' }), { user: alice })).status)
      .toEqual({ resourceRules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }], nonResourceRules: [], incomplete: false });
    const err = await ssrr(review('SelfSubjectRulesReview', {}), { user: alice }).catch((e) => e);
    expect(isStatusError(err) && `${err.code} ${err.message}`).toBe('400 no namespace on request');
    const blind = accessReviewHandlers({ authorize: async () => ({ decision: 'NoOpinion', reason: '' }) }).get('selfsubjectrulesreviews')!;
    expect((await blind(review('SelfSubjectRulesReview', { namespace: 'a' }), { user: alice })).status).toMatchObject({ incomplete: true, resourceRules: [] });
  });
});

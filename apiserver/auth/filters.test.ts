import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { isStatusError } from '../../api/errors.js';
import { userOf } from './context.js';
import { FilterChain } from './filters.js';
import type { Attributes, Authenticator, Authorizer, UserInfo } from './types.js';

function request(url: string, headers: Record<string, string | string[]> = {}, method = 'GET'): http.IncomingMessage {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const distinct = Object.fromEntries(Object.entries(lower).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
  return { url, method, headers: lower, headersDistinct: distinct } as unknown as http.IncomingMessage;
}

/** Authenticates the `x-user: name/group,group` header, so tests say who calls. */
const byHeader: Authenticator = {
  async authenticate(req) {
    const h = req.headers['x-user'];
    if (typeof h !== 'string') return undefined;
    const [username, groups = ''] = h.split('/');
    return { username, groups: groups.split(',').filter(Boolean) };
  },
};

/** Allows what `allow` says, records every question. */
function authorizer(allow: (a: Attributes) => boolean): Authorizer & { asked: Attributes[] } {
  const asked: Attributes[] = [];
  return {
    asked,
    async authorize(a) {
      asked.push(a);
      return allow(a) ? { decision: 'Allow', reason: '' } : { decision: 'NoOpinion', reason: '' };
    },
  };
}

async function refusal(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isStatusError(e)) return { code: e.code, message: e.status.message ?? '' };
    throw e;
  }
  throw new Error('request was not refused');
}

describe('FilterChain', () => {
  it('answers 401 to an anonymous request anywhere but the public paths, and lets those through as system:anonymous', async () => {
    const z = authorizer((a) => !a.resourceRequest && /^\/(healthz|version|readyz|livez)(\/|$)/.test(a.path));
    const chain = new FilterChain({ authenticator: byHeader, authorizer: z });
    expect(await refusal(chain.handle(request('/api/v1/pods')))).toEqual({ code: 401, message: 'Unauthorized' });
    expect(await refusal(chain.handle(request('/api')))).toMatchObject({ code: 401 });
    const req = request('/version');
    const user = await chain.handle(req);
    expect(user).toEqual({ username: 'system:anonymous', groups: ['system:unauthenticated'] });
    expect(userOf(req)).toBe(user);
    await chain.handle(request('/readyz/etcd'));
    expect(await refusal(new FilterChain({ authenticator: byHeader, authorizer: z, anonymous: false }).handle(request('/version')))).toMatchObject({ code: 401 });
  });

  it('adds system:authenticated and refuses with kube\'s Forbidden wording', async () => {
    const z = authorizer(() => false);
    const chain = new FilterChain({ authenticator: byHeader, authorizer: z });
    const r = await refusal(chain.handle(request('/api/v1/namespaces/a/pods', { 'x-user': 'alice/dev' })));
    expect(r).toEqual({ code: 403, message: 'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "a"' });
    expect(z.asked[0].user.groups).toEqual(['dev', 'system:authenticated']);
    expect((await refusal(chain.handle(request('/apis/apps/v1/deployments/x', { 'x-user': 'alice' })))).message)
      .toBe('deployments.apps "x" is forbidden: User "alice" cannot get resource "deployments" in API group "apps" at the cluster scope');
    expect((await refusal(chain.handle(request('/api/v1/namespaces/a/pods/p/exec?command=sh', { 'x-user': 'alice' })))).message)
      .toBe('pods "p" is forbidden: User "alice" cannot create resource "pods/exec" in API group "" in the namespace "a"');
    expect((await refusal(chain.handle(request('/metrics', { 'x-user': 'alice' })))).message).toBe('forbidden: User "alice" cannot get path "/metrics"');
  });

  it('impersonates only with `impersonate` on each requested user, group and extra', async () => {
    const z = authorizer((a) => a.user.username === 'admin' || (a.verb === 'impersonate' && a.resource === 'users' && a.name === 'bob') || a.verb === 'list');
    const chain = new FilterChain({ authenticator: byHeader, authorizer: z });
    const req = request('/api/v1/pods', { 'x-user': 'carol', 'impersonate-user': 'bob' });
    const bob: UserInfo = await chain.handle(req);
    expect(bob).toEqual({ username: 'bob', groups: ['system:authenticated'] });
    // carol may impersonate bob but not the group she asks for as well.
    const r = await refusal(chain.handle(request('/api/v1/pods', { 'x-user': 'carol', 'impersonate-user': 'bob', 'impersonate-group': ['system:masters'] })));
    expect(r).toEqual({ code: 403, message: 'groups "system:masters" is forbidden: User "carol" cannot impersonate resource "groups" in API group "" at the cluster scope' });
    expect((await refusal(chain.handle(request('/api/v1/pods', { 'x-user': 'carol', 'impersonate-user': 'dave' })))).code).toBe(403);
    // A service account is impersonated through the serviceaccounts resource, and gets its groups.
    const sa = await chain.handle(request('/api/v1/pods', { 'x-user': 'admin', 'impersonate-user': 'system:serviceaccount:ns1:builder' }));
    expect(sa.groups).toEqual(['system:serviceaccounts', 'system:serviceaccounts:ns1', 'system:authenticated']);
    expect(z.asked.some((a) => a.verb === 'impersonate' && a.resource === 'serviceaccounts' && a.namespace === 'ns1' && a.name === 'builder')).toBe(true);
    expect((await refusal(chain.handle(request('/api/v1/pods', { 'x-user': 'admin', 'impersonate-group': 'g' })))).code).toBe(400);
  });
});

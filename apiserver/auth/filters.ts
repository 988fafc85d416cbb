// The filter chain every request passes before any handler, the resource
// fast path and upgrades included (k8s.io/apiserver's DefaultBuildHandlerChain:
// authentication, impersonation, authorization). Admission follows inside the
// store, for writes.

import type http from 'node:http';
import { errors } from '../../api/errors.js';
import { setUser } from './context.js';
import { requestInfo, type AuthzRequestInfo } from './requestinfo.js';
import { anonymousUser, groups, type Attributes, type Authenticator, type Authorizer, type UserInfo } from './types.js';

/**
 * Paths an unauthenticated client may reach: what kube's
 * system:public-info-viewer role grants. kube 1.32's anonymous conditions
 * (AuthenticationConfiguration anonymous.conditions) restrict anonymous
 * authentication to such a list; anything else without credentials is 401.
 */
const publicPaths = ['/healthz', '/livez', '/readyz', '/version'];
/**
 * kubeadm's token discovery reads cluster-info anonymously, before it trusts the server (sending the
 * bootstrap token to a server not yet verified would hand it to whoever answers); RBAC still decides
 * (the kube-public Role kubeadm:bootstrap-signer-clusterinfo).
 */
const clusterInfoPath = '/api/v1/namespaces/kube-public/configmaps/cluster-info';
const isPublic = (path: string) => path === clusterInfoPath || publicPaths.some((p) => path === p || path === `${p}/` || path.startsWith(`${p}/`));

const saPrefix = 'system:serviceaccount:';

export interface FilterChainOptions {
  authenticator: Authenticator;
  authorizer: Authorizer;
  /** --anonymous-auth: anonymous requests to the public paths are system:anonymous; false makes them 401 too. */
  anonymous?: boolean;
}

export class FilterChain {
  private readonly anonymous: boolean;

  constructor(private readonly o: FilterChainOptions) {
    this.anonymous = o.anonymous ?? true;
  }

  /** Authenticate, impersonate and authorize `req`; the user is then userOf(req). Throws a 401/403 StatusError. */
  async handle(req: http.IncomingMessage): Promise<UserInfo> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q + 1);
    let user = await this.authenticate(req, path);
    if (req.headers['impersonate-user'] !== undefined || req.headers['impersonate-group'] !== undefined || req.headers['impersonate-uid'] !== undefined
      || Object.keys(req.headers).some((h) => h.startsWith('impersonate-extra-'))) {
      user = await this.impersonate(req, user);
    }
    const info = requestInfo(req.method ?? 'GET', path, query);
    await this.authorize(user, info);
    setUser(req, user);
    return user;
  }

  private async authenticate(req: http.IncomingMessage, path: string): Promise<UserInfo> {
    const user = await this.o.authenticator.authenticate(req);
    if (user) {
      return user.groups.includes(groups.authenticated) || user.username === anonymousUser
        ? user
        : { ...user, groups: [...user.groups, groups.authenticated] };
    }
    if (this.anonymous && isPublic(path)) return { username: anonymousUser, groups: [groups.unauthenticated] };
    throw errors.unauthorized();
  }

  async authorize(user: UserInfo, info: AuthzRequestInfo): Promise<void> {
    const attrs: Attributes = { user, ...info };
    const r = await this.o.authorizer.authorize(attrs);
    if (r.decision === 'Allow') return;
    throw forbidden(attrs, r.reason);
  }

  /** kube's WithImpersonation: each requested identity needs `impersonate` on it. */
  private async impersonate(req: http.IncomingMessage, requester: UserInfo): Promise<UserInfo> {
    // headersDistinct keeps repeated headers apart (Impersonate-Group may be sent once per group).
    const h = req.headersDistinct;
    const username = h['impersonate-user']?.[0];
    const wantGroups = h['impersonate-group'] ?? [];
    const uid = h['impersonate-uid']?.[0];
    const extra: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(h)) {
      if (!k.startsWith('impersonate-extra-')) continue;
      let key = k.slice('impersonate-extra-'.length);
      try {
        key = decodeURIComponent(key);
      } catch { /* kept as sent */ }
      extra[key] = v ?? [];
    }
    if (username === undefined) {
      throw errors.badRequest(`requested ${[...wantGroups.map((g) => `groups=${g}`), ...Object.keys(extra).map((k) => `extra=${k}`), ...(uid ? [`uid=${uid}`] : [])].join(',')} without impersonating a user`);
    }
    const checks: AuthzRequestInfo[] = [];
    const base = { resourceRequest: true, path: req.url ?? '', verb: 'impersonate', apiVersion: 'v1', namespace: '', subresource: '', name: '' };
    if (username.startsWith(saPrefix) && username.split(':').length === 4) {
      const [, , ns, name] = username.split(':');
      checks.push({ ...base, apiGroup: '', resource: 'serviceaccounts', namespace: ns, name });
    } else {
      checks.push({ ...base, apiGroup: '', resource: 'users', name: username });
    }
    for (const g of wantGroups) checks.push({ ...base, apiGroup: '', resource: 'groups', name: g });
    for (const [k, vs] of Object.entries(extra)) for (const v of vs) checks.push({ ...base, apiGroup: 'authentication.k8s.io', resource: 'userextras', subresource: k, name: v });
    if (uid) checks.push({ ...base, apiGroup: 'authentication.k8s.io', resource: 'uids', name: uid });
    for (const c of checks) await this.authorize(requester, c);

    const out: UserInfo = { username, groups: [...wantGroups] };
    if (uid) out.uid = uid;
    if (Object.keys(extra).length) out.extra = extra;
    if (username.startsWith(saPrefix) && !wantGroups.length) {
      out.groups.push(groups.serviceAccounts, `${groups.serviceAccounts}:${username.split(':')[2]}`);
    }
    if (username === anonymousUser) {
      if (!out.groups.includes(groups.unauthenticated)) out.groups.push(groups.unauthenticated);
    } else if (!out.groups.includes(groups.authenticated)) {
      out.groups.push(groups.authenticated);
    }
    return out;
  }
}

/** responsewriters.Forbidden's wording. */
export function forbidden(a: Attributes, reason: string) {
  let why: string;
  if (!a.resourceRequest) {
    why = `User "${a.user.username}" cannot ${a.verb} path "${a.path}"`;
  } else {
    const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    why = a.namespace
      ? `User "${a.user.username}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" in the namespace "${a.namespace}"`
      : `User "${a.user.username}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" at the cluster scope`;
  }
  if (reason) why += `: ${reason}`;
  return errors.forbiddenResource(a.resourceRequest ? a.resource : '', a.apiGroup, a.name, why);
}

// Who may use the kubelet's API, as kube's kubelet decides it
// (pkg/kubelet/server/auth.go and the delegating authenticator and
// authorizer of k8s.io/apiserver): a client certificate signed by
// --client-ca-file, or a bearer token the API server vouches for by a
// TokenReview (--authentication-token-webhook); anonymous only with
// --anonymous-auth; then a SubjectAccessReview (--authorization-mode=Webhook)
// of the request as the node subresource it touches: /stats -> nodes/stats,
// /metrics -> nodes/metrics, /logs -> nodes/log, /spec -> nodes/spec, anything
// else (exec, attach, portForward, containerLogs, pods, run, healthz) ->
// nodes/proxy. Both answers are cached briefly, as kube's webhooks are.

import crypto from 'node:crypto';
import type http from 'node:http';
import type tls from 'node:tls';
import type { Attributes, AuthorizerResult, UserInfo } from '../api/auth.js';
import { anonymousUser, groups } from '../api/auth.js';
import { R } from '../api/resources.js';
import type { Client, ResourceRef } from '../client/interfaces.js';
import { identityOf } from '../lib/pki.js';
import { logger } from '../lib/log.js';

const log = logger('kubelet-auth');

const tokenReviews = R.tokenreviews;

const clientAuthOID = '1.3.6.1.5.5.7.3.2';
const anyExtendedKeyUsageOID = '2.5.29.37.0';

function isSubpath(subpath: string, p: string): boolean {
  p = p.replace(/\/$/, '');
  return subpath === p || (subpath.startsWith(p) && subpath[p.length] === '/');
}

/** The endpoints whose connections become streams: an upgrade of one of them runs commands or opens ports in a pod. */
const streamingPaths = ['/exec', '/attach', '/portForward', '/run'];

/**
 * The authorization attributes of a request to the kubelet
 * (nodeAuthorizerAttributesGetter): resource nodes, the node's name, a
 * subresource by path, the verb by method. An upgrade to a streaming endpoint
 * (a WebSocket's GET) is authorized as create, as the API server does for
 * pods/exec, attach and portforward over WebSocket (kube 1.31's
 * AuthorizePodWebsocketUpgradeCreatePermission): with get, anyone allowed
 * to read nodes/proxy could run commands.
 */
export function requestAttributes(user: UserInfo, nodeName: string, method: string, requestPath: string, upgrade = false): Attributes {
  const verbs: Record<string, string> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
  let verb = verbs[method.toUpperCase()] ?? '';
  if (upgrade && streamingPaths.some((p) => isSubpath(requestPath, p))) verb = 'create';
  let subresource = 'proxy';
  if (isSubpath(requestPath, '/stats')) subresource = 'stats';
  else if (isSubpath(requestPath, '/metrics')) subresource = 'metrics';
  else if (isSubpath(requestPath, '/logs')) subresource = 'log';
  else if (isSubpath(requestPath, '/spec')) subresource = 'spec';
  return {
    user, verb, resourceRequest: true, path: requestPath,
    apiGroup: '', apiVersion: 'v1', resource: 'nodes', subresource, namespace: '', name: nodeName,
  };
}

/** A small TTL cache; entries past their time are dropped when next read or by a sweep. */
class TTLCache<V> {
  private readonly m = new Map<string, { v: V; until: number }>();
  constructor(private readonly now: () => number, private readonly max = 4096) {}
  get(k: string): V | undefined {
    const e = this.m.get(k);
    if (!e) return undefined;
    if (e.until <= this.now()) {
      this.m.delete(k);
      return undefined;
    }
    return e.v;
  }
  set(k: string, v: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
    if (this.m.size >= this.max) {
      const t = this.now();
      for (const [key, e] of this.m) if (e.until <= t) this.m.delete(key);
      // Still full: the oldest insertion goes (a Map iterates in insertion order).
      if (this.m.size >= this.max) this.m.delete(this.m.keys().next().value!);
    }
    this.m.set(k, { v, until: this.now() + ttlMs });
  }
}

export interface KubeletAuthOptions {
  nodeName: string;
  /** --anonymous-auth: requests with no credential are system:anonymous (and still authorized) instead of 401. */
  anonymous?: boolean;
  /** Set with --client-ca-file: the TLS layer verified the certificate against it; here its subject becomes the user. */
  x509?: boolean;
  /** --authentication-token-webhook: bearer tokens are checked by TokenReview through this client. */
  tokenWebhook?: Client;
  /** --authentication-token-webhook-cache-ttl (kube: 2m). */
  tokenCacheTTLms?: number;
  /** --authorization-mode: Webhook (a SubjectAccessReview through this client) or AlwaysAllow. */
  authorization: { mode: 'AlwaysAllow' } | { mode: 'Webhook'; client: Client; authorizedTTLms?: number; unauthorizedTTLms?: number };
  /** For tests. */
  now?: () => number;
}

export type AuthOutcome =
  | { ok: true; user: UserInfo; attributes: Attributes }
  | { ok: false; code: 401 | 403 | 500; message: string };

interface TokenReviewStatus { authenticated?: boolean; user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> }; error?: string }
interface SARStatus { allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string }

/** kube's AuthenticatedGroupAdder: every authenticated user is in system:authenticated. */
function withAuthenticatedGroup(u: UserInfo): UserInfo {
  if (u.username === anonymousUser || u.groups.includes(groups.authenticated)) return u;
  return { ...u, groups: [...u.groups, groups.authenticated] };
}

export class KubeletAuth {
  private readonly now: () => number;
  private readonly tokens: TTLCache<UserInfo | null>;
  private readonly decisions: TTLCache<AuthorizerResult>;
  /** Cache keys of tokens are their keyed hashes, never the tokens. */
  private readonly salt = crypto.randomBytes(32);

  constructor(private readonly o: KubeletAuthOptions) {
    if (!o.nodeName) throw new Error('KubeletAuth: nodeName is required');
    this.now = o.now ?? Date.now;
    this.tokens = new TTLCache(this.now);
    this.decisions = new TTLCache(this.now);
  }

  /** The request's user: undefined means 401 (no credential this kubelet accepts, or an invalid one). */
  async authenticate(req: http.IncomingMessage): Promise<UserInfo | undefined> {
    const sock = req.socket as tls.TLSSocket;
    // As kube's union of authenticators: a certificate that does not verify is
    // an error, not an identity; a valid token may still authenticate the
    // request, but it is never anonymous then (FailOnError before anonymous).
    let certError = false;
    if (this.o.x509 && sock.encrypted) {
      const peer = sock.getPeerCertificate?.(false);
      if (peer && Object.keys(peer).length) {
        const id = sock.authorized && hasClientAuthUsage(peer.raw) ? identityOf(peer as unknown as { subject?: Record<string, string | string[]> }) : undefined;
        if (id) return withAuthenticatedGroup({ username: id.user, groups: id.groups });
        certError = true;
      }
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(String(req.headers.authorization ?? ''));
    if (m && this.o.tokenWebhook) {
      const u = await this.reviewToken(m[1]);
      return u ? withAuthenticatedGroup(u) : undefined;
    }
    // A credential this kubelet cannot check is not a reason to treat the request as anonymous.
    if (m || certError) return undefined;
    if (this.o.anonymous) return { username: anonymousUser, groups: [groups.unauthenticated] };
    return undefined;
  }

  private async reviewToken(token: string): Promise<UserInfo | undefined> {
    const key = crypto.createHmac('sha256', this.salt).update(token).digest('base64');
    const hit = this.tokens.get(key);
    if (hit !== undefined) return hit ?? undefined;
    let status: TokenReviewStatus | undefined;
    try {
      const r = await this.o.tokenWebhook!.resource(tokenReviews).create({
        apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: {}, spec: { token },
      } as never) as unknown as { status?: TokenReviewStatus };
      status = r.status;
    } catch (e) {
      // Not cached: the next request asks again. The token is never part of what is logged.
      log.warn('TokenReview failed', { error: (e as Error).message });
      return undefined;
    }
    const ttl = this.o.tokenCacheTTLms ?? 120_000;
    if (!status?.authenticated || !status.user?.username) {
      this.tokens.set(key, null, ttl);
      return undefined;
    }
    const u: UserInfo = { username: status.user.username, uid: status.user.uid, groups: status.user.groups ?? [], extra: status.user.extra };
    this.tokens.set(key, u, ttl);
    return u;
  }

  async authorize(a: Attributes): Promise<AuthorizerResult> {
    const z = this.o.authorization;
    if (z.mode === 'AlwaysAllow') return { decision: 'Allow', reason: '' };
    const spec = {
      user: a.user.username, uid: a.user.uid, groups: a.user.groups, extra: a.user.extra,
      resourceAttributes: { namespace: a.namespace, verb: a.verb, group: a.apiGroup, version: a.apiVersion, resource: a.resource, subresource: a.subresource, name: a.name },
    };
    const key = JSON.stringify(spec);
    const hit = this.decisions.get(key);
    if (hit) return hit;
    const r = await z.client.resource(R.subjectaccessreviews).create({
      apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', metadata: {}, spec,
    } as never) as unknown as { status?: SARStatus };
    const s = r.status ?? {};
    const result: AuthorizerResult = s.allowed ? { decision: 'Allow', reason: s.reason ?? '' } : { decision: s.denied ? 'Deny' : 'NoOpinion', reason: s.reason ?? '' };
    // An evaluation error is not an answer worth keeping (kube's webhook does not cache it either).
    if (!s.evaluationError || s.allowed) this.decisions.set(key, result, s.allowed ? z.authorizedTTLms ?? 300_000 : z.unauthorizedTTLms ?? 30_000);
    return result;
  }

  /**
   * The filter of kube's InstallAuthFilter: authenticate, map to attributes,
   * authorize. The messages are the kubelet's own (plain text).
   */
  async check(req: http.IncomingMessage, upgrade = false): Promise<AuthOutcome> {
    let user: UserInfo | undefined;
    try {
      user = await this.authenticate(req);
    } catch (e) {
      log.warn('unable to authenticate the request', { error: (e as Error).message });
    }
    if (!user) return { ok: false, code: 401, message: 'Unauthorized' };
    const path = new URL(req.url ?? '/', 'https://kubelet').pathname;
    const attributes = requestAttributes(user, this.o.nodeName, req.method ?? 'GET', path, upgrade);
    const who = `user=${user.username}, verb=${attributes.verb}, resource=${attributes.resource}, subresource=${attributes.subresource}`;
    let d: AuthorizerResult;
    try {
      d = await this.authorize(attributes);
    } catch (e) {
      log.warn('authorization error', { user: user.username, verb: attributes.verb, subresource: attributes.subresource, error: (e as Error).message });
      return { ok: false, code: 500, message: `Authorization error (${who})` };
    }
    if (d.decision !== 'Allow') {
      log.debug('forbidden', { user: user.username, verb: attributes.verb, subresource: attributes.subresource });
      return { ok: false, code: 403, message: `Forbidden (${who})` };
    }
    return { ok: true, user, attributes };
  }
}

/** A certificate without an extended key usage extension may be used for anything; one with it must allow client authentication. */
function hasClientAuthUsage(raw: Buffer | undefined): boolean {
  if (!raw) return false;
  try {
    const eku = new crypto.X509Certificate(raw).keyUsage;
    return !eku || eku.length === 0 || eku.includes(clientAuthOID) || eku.includes(anyExtendedKeyUsageOID);
  } catch {
    return false;
  }
}

// The kubelet's ServiceAccount token manager (kube's pkg/kubelet/token): the
// bound tokens projected into pods come from the TokenRequest API (POST
// .../serviceaccounts/<name>/token, bound to the pod), are cached per
// request, and are fetched again once 80% of their lifetime has passed, or
// once they are 24 hours old, whichever is first (less a few seconds of
// jitter, so pods started together do not refresh together). A refresh that
// fails keeps the old token until it expires. Volumes read the manager on each
// pod sync, so a refreshed token is written into the pod's volume then.
// Tokens are never logged: cache keys name the request, not the token.

import { R } from '../api/resources.js';
import type { TokenRequest as APITokenRequest } from '../api/types.js';
import type { Client } from '../client/interfaces.js';
import { logger } from '../lib/log.js';

const log = logger('kubelet-tokens');

const MAX_TTL_MS = 24 * 3600 * 1000;
const MAX_JITTER_S = 10;
const GC_PERIOD_MS = 60_000;

export type TokenRequestSpec = APITokenRequest['spec'];

/** A TokenRequest as the API server answers it: with a token and its expiry. */
export type TokenRequest = APITokenRequest & { status: NonNullable<APITokenRequest['status']> };

export interface TokenManagerOptions {
  client: Client;
  /** Injected for tests: the clock, and the jitter's random source (0 = no jitter). */
  now?: () => number;
  random?: () => number;
}

/** kube's keyFunc: everything that makes two requests different, and nothing secret. */
function keyOf(name: string, namespace: string, spec: TokenRequestSpec): string {
  return JSON.stringify([name, namespace, spec.audiences ?? [], spec.expirationSeconds ?? 0, spec.boundObjectRef ?? {}]);
}

export class TokenManager {
  private readonly cache = new Map<string, TokenRequest>();
  private readonly inFlight = new Map<string, Promise<TokenRequest>>();
  private readonly now: () => number;
  private readonly random: () => number;
  private timer?: NodeJS.Timeout;

  constructor(private readonly o: TokenManagerOptions) {
    if (!o.client) throw new Error('TokenManager: client is required');
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
  }

  /** Drop expired tokens every minute (kube's gcPeriod). */
  start(): void {
    this.timer ??= setInterval(() => this.cleanup(), GC_PERIOD_MS);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** GetServiceAccountToken: the cached token unless it needs a refresh; a failed refresh keeps a token that has not expired. */
  async get(namespace: string, name: string, spec: TokenRequestSpec): Promise<TokenRequest> {
    const key = keyOf(name, namespace, spec);
    const cur = this.cache.get(key);
    if (cur && !this.requiresRefresh(cur, spec)) return cur;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.fetch(namespace, name, spec).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    try {
      const tr = await pending;
      this.cache.set(key, tr);
      return tr;
    } catch (e) {
      const msg = (e as Error).message;
      if (!cur) throw new Error(`failed to fetch token: ${msg}`);
      if (this.expired(cur)) throw new Error(`token ${key} expired and refresh failed: ${msg}`);
      log.warn('could not refresh a token; keeping the current one', { serviceAccount: `${namespace}/${name}`, error: msg });
      return cur;
    }
  }

  /** Forget a pod's tokens (its volumes are gone). */
  deletePodTokens(podUID: string): void {
    for (const [k, tr] of this.cache) if (tr.spec.boundObjectRef?.uid === podUID) this.cache.delete(k);
  }

  /** How many tokens are cached (for tests and metrics). */
  size(): number {
    return this.cache.size;
  }

  cleanup(): void {
    for (const [k, tr] of this.cache) if (this.expired(tr)) this.cache.delete(k);
  }

  private async fetch(namespace: string, name: string, spec: TokenRequestSpec): Promise<TokenRequest> {
    const body = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: { name, namespace }, spec };
    const tr = await this.o.client.resource(R.serviceaccounts, namespace).createSubresource(name, 'token', body) as TokenRequest;
    if (!tr?.status?.token || !tr.status.expirationTimestamp || Number.isNaN(Date.parse(tr.status.expirationTimestamp))) {
      throw new Error(`the TokenRequest for serviceaccount ${namespace}/${name} was answered without a token or expiration`);
    }
    return tr;
  }

  private expired(tr: TokenRequest): boolean {
    return this.now() > Date.parse(tr.status.expirationTimestamp);
  }

  /** Older than 24 h, or within 20% of its lifetime of expiring (each less a jitter of up to 10 s). */
  private requiresRefresh(tr: TokenRequest, asked: TokenRequestSpec): boolean {
    const ttlS = tr.spec?.expirationSeconds ?? asked.expirationSeconds;
    if (!ttlS) return false;
    const now = this.now();
    const exp = Date.parse(tr.status.expirationTimestamp);
    const iat = exp - ttlS * 1000;
    const jitter = Math.floor(this.random() * MAX_JITTER_S) * 1000;
    if (now > iat + MAX_TTL_MS - jitter) return true;
    return now > exp - Math.floor((ttlS * 20) / 100) * 1000 - jitter;
  }
}

// Authentication by ServiceAccount token (kube's pkg/serviceaccount/jwt.go
// jwtTokenAuthenticator and claims.go validator): a JWT whose issuer is one
// of ours, signed by one of the --service-account-key-file keys, meant for one
// of the audiences asked for, inside its validity window, whose
// ServiceAccount (and bound Pod, Secret or Node) still exists with the same
// uid. Tokens of other issuers are not ours to judge: undefined lets the next
// authenticator try. Ours that fail are a 401, whose body never says why.

import { compactVerify, decodeJwt, decodeProtectedHeader } from 'jose';
import { errors, type StatusError } from '../../../api/errors.js';
import type { KubeObject } from '../../../api/types.js';
import { logger } from '../../../lib/log.js';
import { groups, type TokenAuthenticator, type UserInfo } from '../types.js';
import { serviceAccountUsername, type TokenClaims } from './issuer.js';
import { parsePublicKeys, type PublicKey } from './keys.js';
import type { ObjectLookup } from './lookup.js';

const log = logger('serviceaccount');

/** jwt.DefaultLeeway: clocks of issuer and verifier may disagree by a minute. */
const leewaySeconds = 60;

/** The extra keys of a ServiceAccount user (k8s.io/apiserver/pkg/authentication/serviceaccount). */
export const extraKeys = {
  podName: 'authentication.kubernetes.io/pod-name',
  podUID: 'authentication.kubernetes.io/pod-uid',
  nodeName: 'authentication.kubernetes.io/node-name',
  nodeUID: 'authentication.kubernetes.io/node-uid',
  credentialID: 'authentication.kubernetes.io/credential-id',
} as const;

export interface ServiceAccountTokenAuthenticatorOptions {
  /** PEM text of each --service-account-key-file: public keys, private keys or certificates. */
  publicKeysPem: string[];
  /** --service-account-issuer values: tokens of any of them are accepted. */
  issuers: string[];
  /** --api-audiences (default: the issuers): what a request without audiences of its own must match. */
  audiences?: string[];
  lookup: ObjectLookup;
  now?: () => number;
}

/** Why a token was refused: for logs and TokenReview's status.error, never for the 401 body. */
export class InvalidTokenError extends Error {}

function fail(reason: string): never {
  throw new InvalidTokenError(reason);
}

/** apiserverserviceaccount.MakeGroupNames. */
export function serviceAccountGroups(namespace: string): string[] {
  return [groups.serviceAccounts, `${groups.serviceAccounts}:${namespace}`];
}

const isRef = (v: unknown): v is { name?: string; uid?: string } => typeof v === 'object' && v !== null;

export class ServiceAccountTokenAuthenticator implements TokenAuthenticator {
  private readonly keys: PublicKey[];
  private readonly issuers: Set<string>;
  private readonly audiences: string[];
  private readonly lookup: ObjectLookup;
  private readonly now: () => number;

  constructor(o: ServiceAccountTokenAuthenticatorOptions) {
    if (!o.publicKeysPem.length) throw new Error('service-account-key-file is required to verify ServiceAccount tokens');
    if (!o.issuers.length) throw new Error('service-account-issuer is a required flag');
    this.keys = o.publicKeysPem.flatMap(parsePublicKeys);
    this.issuers = new Set(o.issuers);
    this.audiences = o.audiences?.length ? [...o.audiences] : [...o.issuers];
    this.lookup = o.lookup;
    this.now = o.now ?? Date.now;
  }

  async authenticateToken(token: string, audiences?: string[]): Promise<UserInfo | undefined> {
    const claims = this.unverifiedClaims(token);
    // hasCorrectIssuer: not a JWT of ours, so another authenticator's business.
    if (!claims || typeof claims.iss !== 'string' || !this.issuers.has(claims.iss)) return undefined;
    try {
      return await this.validate(token, audiences);
    } catch (e) {
      if (!(e instanceof InvalidTokenError)) throw e;
      log.debug('invalid ServiceAccount token', { reason: e.message, sub: typeof claims.sub === 'string' ? claims.sub : undefined });
      const status: StatusError = errors.unauthorized();
      (status as Error).cause = e;
      throw status;
    }
  }

  private unverifiedClaims(token: string): Partial<TokenClaims> | undefined {
    if (token.split('.').length !== 3) return undefined;
    try {
      return decodeJwt(token) as Partial<TokenClaims>;
    } catch {
      return undefined;
    }
  }

  /** The signature, then the claims: InvalidTokenError with kube's reason for anything wrong. */
  async validate(token: string, requested?: string[]): Promise<UserInfo> {
    let alg: string | undefined;
    let kid: string | undefined;
    try {
      ({ alg, kid } = decodeProtectedHeader(token));
    } catch {
      fail('invalid token header');
    }
    // kube tries every key; the key ID only puts the likely one first.
    const candidates = this.keys.filter((k) => k.alg === alg).sort((a, b) => Number(b.kid === kid) - Number(a.kid === kid));
    let payload: Uint8Array | undefined;
    for (const k of candidates) {
      try {
        payload = (await compactVerify(token, k.key, { algorithms: [k.alg] })).payload;
        break;
      } catch {
        // the next key, or none
      }
    }
    if (!payload) fail('square/go-jose: error in cryptographic primitive');
    let c: Partial<TokenClaims>;
    try {
      c = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      fail('invalid token payload');
    }
    if (typeof c.iss !== 'string' || !this.issuers.has(c.iss)) fail(`token issuer "${c.iss}" is invalid`);

    let tokenAuds = Array.isArray(c.aud) ? c.aud.filter((a): a is string => typeof a === 'string') : typeof c.aud === 'string' ? [c.aud] : [];
    // Tokens without audiences (legacy ones) are only ever for the API server.
    if (!tokenAuds.length) tokenAuds = this.audiences;
    const wanted = requested?.length ? requested : this.audiences;
    const auds = tokenAuds.filter((a) => wanted.includes(a));
    if (!auds.length) fail(`token audiences ${goList(tokenAuds)} is invalid for the target audiences ${goList(wanted)}`);

    const now = this.now() / 1000;
    if (typeof c.exp === 'number' && now - leewaySeconds > c.exp) fail('service account token has expired');
    if (typeof c.nbf === 'number' && now + leewaySeconds < c.nbf) fail('service account token is not valid yet');
    if (typeof c.iat === 'number' && now + leewaySeconds < c.iat) fail('service account token is issued in the future');

    const k8s = c['kubernetes.io'];
    if (!k8s || typeof k8s.namespace !== 'string' || !isRef(k8s.serviceaccount)) fail('service account token claims could not be validated due to unexpected validation error');
    const ns = k8s.namespace;
    const sa = k8s.serviceaccount;
    // Objects deleted more than the leeway ago no longer vouch for a token.
    const deletedBefore = (o: KubeObject) => !!o.metadata.deletionTimestamp && Date.parse(o.metadata.deletionTimestamp) / 1000 < now - leewaySeconds;

    const account = await this.lookup.serviceAccount(ns, sa.name ?? '');
    if (!account) fail(`serviceaccounts "${sa.name}" not found`);
    if (deletedBefore(account)) fail(`service account ${ns}/${sa.name} has been deleted`);
    if (account.metadata.uid !== sa.uid) fail(`service account UID (${account.metadata.uid}) does not match claim (${sa.uid})`);

    if (isRef(k8s.secret)) {
      const secret = await this.lookup.secret(ns, k8s.secret.name ?? '');
      if (!secret || deletedBefore(secret)) fail('service account token has been invalidated');
      if (secret.metadata.uid !== k8s.secret.uid) fail(`secret UID (${secret.metadata.uid}) does not match service account secret ref claim (${k8s.secret.uid})`);
    }

    const extra: Record<string, string[]> = {};
    if (isRef(k8s.pod)) {
      const pod = await this.lookup.pod(ns, k8s.pod.name ?? '');
      if (!pod || deletedBefore(pod)) fail('service account token has been invalidated');
      if (pod.metadata.uid !== k8s.pod.uid) fail(`pod UID (${pod.metadata.uid}) does not match service account pod ref claim (${k8s.pod.uid})`);
      extra[extraKeys.podName] = [k8s.pod.name ?? ''];
      extra[extraKeys.podUID] = [k8s.pod.uid ?? ''];
    }
    if (isRef(k8s.node)) {
      // A pod-bound token only reports its pod's node; a node-bound one needs the node alive.
      if (!isRef(k8s.pod)) {
        const node = await this.lookup.node(k8s.node.name ?? '');
        if (!node || deletedBefore(node)) fail('service account token has been invalidated');
        if (node.metadata.uid !== k8s.node.uid) fail(`node UID (${node.metadata.uid}) does not match service account node ref claim (${k8s.node.uid})`);
      }
      extra[extraKeys.nodeName] = [k8s.node.name ?? ''];
      if (k8s.node.uid) extra[extraKeys.nodeUID] = [k8s.node.uid];
    }
    if (typeof c.jti === 'string' && c.jti) extra[extraKeys.credentialID] = [`JTI=${c.jti}`];

    const user: UserInfo = { username: serviceAccountUsername(ns, sa.name ?? ''), uid: sa.uid, groups: serviceAccountGroups(ns) };
    if (Object.keys(extra).length) user.extra = extra;
    return user;
  }
}

/** A string list as Go's %q prints it: ["a" "b"]. */
function goList(xs: string[]): string {
  return `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;
}

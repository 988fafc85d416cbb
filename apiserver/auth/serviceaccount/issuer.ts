// Issuing ServiceAccount tokens (kube's pkg/serviceaccount: claims.go and
// jwt.go's GenerateToken): a JWS over kube's public and private claims,
// signed with the API server's key. The TokenRequest handler decides what a
// token says; this only writes it.

import crypto from 'node:crypto';
import { SignJWT } from 'jose';
import type { KubeObject } from '../../../api/types.js';
import { parseSigningKey, type SigningKey } from './keys.js';

/** A bound object as the private claims carry it. */
export interface ClaimRef { name: string; uid: string }

/** The private claims under "kubernetes.io" (claims.go's `kubernetes`). */
export interface KubernetesClaims {
  namespace: string;
  serviceaccount: ClaimRef;
  pod?: ClaimRef;
  secret?: ClaimRef;
  node?: ClaimRef;
  warnafter?: number;
}

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti?: string;
  'kubernetes.io': KubernetesClaims;
}

export interface IssueRequest {
  serviceAccount: KubeObject;
  /** At most one kind of binding, except a pod's node (kube embeds both). */
  pod?: KubeObject;
  secret?: KubeObject;
  node?: KubeObject;
  audiences: string[];
  expirationSeconds: number;
}

export interface IssuedToken {
  token: string;
  /** Issue time (iat); the token expires expirationSeconds after it. */
  issuedAt: Date;
  expiresAt: Date;
  claims: TokenClaims;
}

export interface TokenIssuerOptions {
  /** PEM of --service-account-signing-key-file: an RSA (RS256) or ECDSA (ES256/384/512) private key. */
  signingKeyPem: string;
  /** --service-account-issuer (the first one when repeated): the iss of every token. */
  issuer: string;
  /** --api-audiences: what a TokenRequest without audiences gets. Defaults to [issuer], as kube-apiserver. */
  audiences?: string[];
  /** --service-account-max-token-expiration in seconds; 0 or absent: no cap. */
  maxExpirationSeconds?: number;
  /** The clock, for tests. */
  now?: () => number;
}

/** apiserverserviceaccount.MakeUsername. */
export function serviceAccountUsername(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

const ref = (o: KubeObject): ClaimRef => ({ name: o.metadata.name ?? '', uid: o.metadata.uid ?? '' });

export class TokenIssuer {
  readonly issuer: string;
  readonly audiences: string[];
  readonly maxExpirationSeconds: number;
  readonly key: SigningKey;
  private readonly now: () => number;

  constructor(o: TokenIssuerOptions) {
    if (!o.issuer) throw new Error('service-account-issuer is a required flag');
    if (o.issuer.includes(':') && !URL.canParse(o.issuer)) throw new Error(`service-account-issuer contained a ':' but was not a valid URL: ${o.issuer}`);
    this.key = parseSigningKey(o.signingKeyPem);
    this.issuer = o.issuer;
    this.audiences = o.audiences?.length ? [...o.audiences] : [o.issuer];
    this.maxExpirationSeconds = o.maxExpirationSeconds ?? 0;
    // kube-apiserver's options validation: a cap shorter than an hour would break every projected token.
    if (this.maxExpirationSeconds !== 0 && (this.maxExpirationSeconds < 3600 || this.maxExpirationSeconds > 2 ** 32)) {
      throw new Error('the service-account-max-token-expiration must be between 1 hour and 2^32 seconds');
    }
    this.now = o.now ?? Date.now;
  }

  /** token.Claims then GenerateToken. */
  async issue(r: IssueRequest): Promise<IssuedToken> {
    if (r.secret && (r.pod || r.node)) throw new Error('internal error, token can only be bound to one object type');
    const ns = r.serviceAccount.metadata.namespace ?? '';
    const k8s: KubernetesClaims = { namespace: ns, serviceaccount: ref(r.serviceAccount) };
    if (r.pod) {
      k8s.pod = ref(r.pod);
      if (r.node) k8s.node = ref(r.node);
    } else if (r.secret) {
      k8s.secret = ref(r.secret);
    } else if (r.node) {
      k8s.node = ref(r.node);
    }
    const nowMs = this.now();
    const iat = Math.floor(nowMs / 1000);
    const claims: TokenClaims = {
      iss: this.issuer,
      sub: serviceAccountUsername(ns, r.serviceAccount.metadata.name ?? ''),
      aud: [...r.audiences],
      exp: iat + r.expirationSeconds,
      iat,
      nbf: iat,
      jti: crypto.randomUUID(),
      'kubernetes.io': k8s,
    };
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: this.key.alg, kid: this.key.kid })
      .sign(this.key.privateKey);
    return { token, issuedAt: new Date(iat * 1000), expiresAt: new Date(claims.exp * 1000), claims };
  }
}

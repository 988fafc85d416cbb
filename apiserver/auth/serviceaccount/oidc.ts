// ServiceAccount issuer discovery (kube's pkg/serviceaccount/openidmetadata.go):
// /.well-known/openid-configuration and /openid/v1/jwks, so that relying
// parties outside the cluster verify ServiceAccount tokens with the API
// server's public keys. Both are behind authentication and authorization like
// everything else; kube's RBAC role system:service-account-issuer-discovery
// grants them.

import express, { type Router } from 'express';
import { exportJWK, type JWK } from 'jose';
import { parsePublicKeys, type PublicKey } from './keys.js';

export const openIDConfigurationPath = '/.well-known/openid-configuration';
export const jwksPath = '/openid/v1/jwks';

export interface OIDCOptions {
  /** --service-account-issuer (the first): must be an https URL without query or fragment. */
  issuer: string;
  /** --service-account-jwks-uri; without it, https://<externalAddress>/openid/v1/jwks. */
  jwksUri?: string;
  /** host[:port] the API server is reached at from outside (kube's ExternalAddress). */
  externalAddress?: string;
  /** PEM text of each --service-account-key-file. */
  publicKeysPem: string[];
}

export interface OpenIDMetadata {
  issuer: string;
  jwks_uri: string;
  response_types_supported: string[];
  subject_types_supported: string[];
  id_token_signing_alg_values_supported: string[];
}

/** NewOpenIDMetadata: throws kube's error when the configuration cannot be served (kube then logs and serves nothing). */
export function openIDMetadata(o: OIDCOptions): OpenIDMetadata {
  if (!o.issuer) throw new Error('empty issuer URL');
  if (!o.jwksUri && !o.externalAddress) throw new Error('either the JWKS URI or the default external address, or both, must be set');
  const keys = o.publicKeysPem.flatMap(parsePublicKeys);
  if (!keys.length) throw new Error('no keys provided for validating keyset');
  let iss: URL;
  try {
    iss = new URL(o.issuer);
  } catch (e) {
    throw new Error(`parse "${o.issuer}": ${(e as Error).message}`);
  }
  if (iss.protocol !== 'https:') throw new Error(`issuer URL must use https scheme, got: ${o.issuer}`);
  if (iss.search) throw new Error(`issuer URL may not include a query, got: ${o.issuer}`);
  if (iss.hash) throw new Error(`issuer URL may not include a fragment, got: ${o.issuer}`);
  let jwksUri = o.jwksUri;
  if (!jwksUri) {
    jwksUri = `https://${o.externalAddress}${jwksPath}`;
    if (!URL.canParse(jwksUri) || new URL(jwksUri).host !== o.externalAddress!.toLowerCase()) {
      throw new Error(`attempted to build jwks_uri from external address ${o.externalAddress}, but could not construct a valid URL`);
    }
  } else if (!URL.canParse(jwksUri) || new URL(jwksUri).protocol !== 'https:') {
    throw new Error(`jwks_uri must use https scheme, got: ${jwksUri}`);
  }
  return {
    issuer: o.issuer,
    jwks_uri: jwksUri,
    // Kubernetes only produces ID tokens, with public subjects.
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...new Set(keys.map((k) => k.alg))].sort(),
  };
}

/** The keys as a JWK Set, each with kube's key ID, "use": "sig" and its algorithm. */
export async function jwks(keys: PublicKey[]): Promise<{ keys: JWK[] }> {
  const seen = new Set<string>();
  const out: JWK[] = [];
  for (const k of keys) {
    if (seen.has(k.kid)) continue;
    seen.add(k.kid);
    out.push({ use: 'sig', ...(await exportJWK(k.key)), kid: k.kid, alg: k.alg });
  }
  return { keys: out };
}

/** The two documents as an express router, for the server to mount behind its filter chain. */
export async function oidcRouter(o: OIDCOptions): Promise<Router> {
  const metadata = JSON.stringify(openIDMetadata(o));
  const keySet = JSON.stringify(await jwks(o.publicKeysPem.flatMap(parsePublicKeys)));
  // The documents change only with a restart: relying parties may cache them, as kube lets them for an hour.
  const send = (contentType: string, body: string): express.RequestHandler => (_req, res) => {
    res.setHeader('Content-Type', contentType);
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.end(body);
  };
  const router = express.Router();
  router.get(openIDConfigurationPath, send('application/json', metadata));
  router.get(jwksPath, send('application/jwk-set+json', keySet));
  return router;
}

// Everything the API server serves for ServiceAccount tokens, made from the
// --service-account-* flags in one place: the token authenticator, the
// TokenRequest subresource, OIDC discovery and the ServiceAccount admission
// plugin, sharing one watch-fed ServiceAccount lookup.

import type { Router } from 'express';
import { logger } from '../../../lib/log.js';
import { ServiceAccountAdmission } from '../../admission/serviceaccount.js';
import type { Storage } from '../../storage/interface.js';
import { ServiceAccountTokenAuthenticator } from './authenticator.js';
import { TokenIssuer } from './issuer.js';
import { StoreLookup, type Getter } from './lookup.js';
import { oidcRouter } from './oidc.js';
import { tokenRequestHandler, type SubresourceHandler } from './tokenrequest.js';

const log = logger('serviceaccount');

/** kube-apiserver's ServiceAccount flags, with files already read. */
export interface ServiceAccountConfig {
  /** --service-account-issuer (repeatable): the first issues, all are accepted. */
  issuers: string[];
  /** --service-account-key-file contents (repeatable): the keys tokens are verified with. */
  publicKeysPem: string[];
  /** --service-account-signing-key-file contents: without it no token is issued (TokenRequest answers 405). */
  signingKeyPem?: string;
  /** --api-audiences; default: the issuers. */
  apiAudiences?: string[];
  /** --service-account-max-token-expiration in seconds (0: no cap). */
  maxExpirationSeconds?: number;
  /** --service-account-jwks-uri. */
  jwksUri?: string;
  /** host:port the API server is reached at, for the default jwks_uri (kube's ExternalAddress). */
  externalAddress?: string;
}

export interface ServiceAccountServing {
  authenticator: ServiceAccountTokenAuthenticator;
  /** The API's audiences (--api-audiences, or the issuers): what a TokenReview without audiences asks for. */
  audiences: string[];
  /** The serviceaccounts/token handler, when a signing key was given. */
  tokenRequest?: SubresourceHandler;
  /** /.well-known/openid-configuration and /openid/v1/jwks, when the issuer is one OIDC allows (an https URL). */
  oidc?: Router;
  /** A new ServiceAccount admission plugin reading through the shared lookup. */
  admission(): ServiceAccountAdmission;
  stop(): void;
}

export async function serviceAccountServing(c: ServiceAccountConfig, o: { storeOf: (plural: string) => Getter; storage: Storage }): Promise<ServiceAccountServing> {
  if (!c.issuers.length) throw new Error('service-account-issuer is a required flag');
  // Without key files, what this server signs is verified with the signing key's own public half.
  const publicKeysPem = c.publicKeysPem.length ? c.publicKeysPem : c.signingKeyPem ? [c.signingKeyPem] : [];
  if (!publicKeysPem.length) throw new Error('service-account-key-file is a required flag');
  const audiences = c.apiAudiences?.length ? c.apiAudiences : c.issuers;
  const lookup = new StoreLookup({ storeOf: o.storeOf, storage: o.storage });
  lookup.start();
  const authenticator = new ServiceAccountTokenAuthenticator({ publicKeysPem, issuers: c.issuers, audiences, lookup });
  const tokenRequest = c.signingKeyPem
    ? tokenRequestHandler({ issuer: new TokenIssuer({ signingKeyPem: c.signingKeyPem, issuer: c.issuers[0], audiences, maxExpirationSeconds: c.maxExpirationSeconds }) })
    : undefined;
  let oidc: Router | undefined;
  try {
    oidc = await oidcRouter({ issuer: c.issuers[0], jwksUri: c.jwksUri, externalAddress: c.externalAddress, publicKeysPem });
  } catch (e) {
    // As kube-apiserver: discovery is simply not served, the rest works.
    log.warn('ServiceAccount issuer discovery is not served', { error: (e as Error).message });
  }
  return {
    authenticator,
    audiences,
    tokenRequest,
    oidc,
    admission: () => new ServiceAccountAdmission({ getServiceAccount: (ns, name) => lookup.serviceAccount(ns, name) }),
    stop: () => lookup.stop(),
  };
}

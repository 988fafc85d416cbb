// The contracts of the API server's filter chain (k8s.io/apiserver's
// authentication, authorization and admission interfaces). Every request
// passes authentication, then authorization, and writes then pass admission
// inside the store; nothing routes around them.

import type http from 'node:http';
import type { ResourceInfo } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';

// Identities and authorization attributes are shared with the kubelet, which authenticates and authorizes its own API.
export { anonymousUser, groups } from '../../api/auth.js';
export type { Attributes, AuthorizerResult, Decision, UserInfo } from '../../api/auth.js';
import type { Attributes, AuthorizerResult, UserInfo } from '../../api/auth.js';

/**
 * authenticator.Request: undefined when the request carries no credential
 * this authenticator understands (the next one is asked); a StatusError 401
 * when it carries one that is invalid (kube answers 401 then, it does not
 * fall back to anonymous).
 */
export interface Authenticator {
  authenticate(req: http.IncomingMessage): Promise<UserInfo | undefined>;
}

/** Token authenticators (bearer tokens: ServiceAccount JWTs, bootstrap tokens). Same contract as Authenticator. */
export interface TokenAuthenticator {
  authenticateToken(token: string, audiences?: string[]): Promise<UserInfo | undefined>;
}

/** A rule set as SelfSubjectRulesReview reports it. */
export interface ResourceRule { verbs: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[] }
export interface NonResourceRule { verbs: string[]; nonResourceURLs?: string[] }
export interface RulesResult { resourceRules: ResourceRule[]; nonResourceRules: NonResourceRule[]; incomplete: boolean; evaluationError?: string }

export interface Authorizer {
  authorize(a: Attributes): Promise<AuthorizerResult>;
  /** RuleResolver, for SelfSubjectRulesReview; authorizers that cannot list rules leave it out. */
  rulesFor?(user: UserInfo, namespace: string): Promise<RulesResult>;
}

/** admission.Attributes. */
export interface AdmissionAttributes {
  user: UserInfo;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  resource: ResourceInfo;
  subresource: string;
  namespace: string;
  name: string;
  /** The object being written (mutable in mutating plugins); on DELETE, undefined. */
  object?: KubeObject;
  /** The stored object on UPDATE and DELETE. */
  oldObject?: KubeObject;
  dryRun: boolean;
  /** Filled with warnings a plugin wants the client to see (Pod Security's warn mode). */
  warnings: string[];
}

/**
 * An admission plugin. `admit` may change the object (mutating admission,
 * run before the object is validated); `validate` may only refuse (run after
 * the object's own validation). Refusal is a thrown StatusError (403 Forbidden
 * as kube's plugins answer, or 422).
 */
export interface AdmissionPlugin {
  readonly name: string;
  admit?(a: AdmissionAttributes): Promise<void> | void;
  validate?(a: AdmissionAttributes): Promise<void> | void;
}

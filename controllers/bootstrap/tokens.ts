// Reading bootstrap token Secrets (bootstrap.kubernetes.io/token in
// kube-system) as kube's bootstrap helpers do.

import type { Secret } from '../../api/types.js';
import { bootstrapTokenSecretType } from '../../api/auth.js';

export const clusterInfoNamespace = 'kube-public';
export const clusterInfoName = 'cluster-info';
export const jwsKeyPrefix = 'jws-kubeconfig-';

const field = (s: Secret, k: string): string | undefined => (typeof s.data?.[k] === 'string' ? Buffer.from(s.data[k], 'base64').toString('utf8') : undefined);

export function isBootstrapTokenSecret(s: Secret): boolean {
  return s.metadata.namespace === 'kube-system' && s.type === bootstrapTokenSecretType;
}

/** The expiration time in ms, undefined when the token never expires (or the field does not parse: kube then keeps it). */
export function expirationOf(s: Secret): number | undefined {
  const exp = field(s, 'expiration');
  if (!exp) return undefined;
  const t = Date.parse(exp);
  return Number.isNaN(t) ? undefined : t;
}

/** A token id and secret usable for signing cluster-info (ValidateBootstrapTokenSecret with usage-bootstrap-signing). */
export function signingToken(s: Secret, now = Date.now()): { id: string; secret: string } | undefined {
  if (!isBootstrapTokenSecret(s) || s.metadata.deletionTimestamp) return undefined;
  const id = field(s, 'token-id');
  const secret = field(s, 'token-secret');
  if (!id || !secret || !/^[a-z0-9]{6}$/.test(id) || !/^[a-z0-9]{16}$/.test(secret)) return undefined;
  if (s.metadata.name !== `bootstrap-token-${id}`) return undefined;
  if (field(s, 'usage-bootstrap-signing') !== 'true') return undefined;
  const exp = expirationOf(s);
  if (exp !== undefined && exp <= now) return undefined;
  return { id, secret };
}

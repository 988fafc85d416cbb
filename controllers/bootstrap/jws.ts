// k8s.io/cluster-bootstrap/token/jws: the detached JWS (HS256, keyed by the
// token secret, kid the token id) that signs cluster-info's kubeconfig for
// each bootstrap token, so a joining node holding the token can tell the
// kubeconfig (and so the CA in it) came from someone who knows the token.

import crypto from 'node:crypto';
import { CompactSign, compactVerify } from 'jose';

/** "<header>..<signature>": the compact serialization without its payload. */
export async function computeDetachedSignature(content: string, tokenID: string, tokenSecret: string): Promise<string> {
  const full = await new CompactSign(new TextEncoder().encode(content)).setProtectedHeader({ alg: 'HS256', kid: tokenID }).sign(new TextEncoder().encode(tokenSecret));
  const [h, , s] = full.split('.');
  return `${h}..${s}`;
}

/** Whether `detached` signs `content` with this token (DetachedTokenIsValid). */
export async function detachedSignatureValid(detached: string, content: string, tokenID: string, tokenSecret: string): Promise<boolean> {
  const parts = detached.split('.');
  if (parts.length !== 3 || parts[1] !== '') return false;
  const payload = Buffer.from(content).toString('base64url');
  try {
    const { protectedHeader } = await compactVerify(`${parts[0]}.${payload}.${parts[2]}`, new TextEncoder().encode(tokenSecret), { algorithms: ['HS256'] });
    return protectedHeader.kid === tokenID;
  } catch {
    return false;
  }
}

/** Constant-time comparison for callers that recompute rather than verify. */
export function sameSignature(a: string, b: string): boolean {
  return a.length === b.length && crypto.timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

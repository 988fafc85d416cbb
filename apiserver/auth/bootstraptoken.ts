// Bootstrap tokens (kube's plugin/pkg/auth/authenticator/token/bootstrap):
// "<id>.<secret>" checked against the Secret bootstrap-token-<id> in
// kube-system, of type bootstrap.kubernetes.io/token. They authenticate a
// joining node as system:bootstrap:<id> in group system:bootstrappers, which
// may only do what a node needs to join.

import crypto from 'node:crypto';
import { bootstrapTokenPattern, bootstrapTokenSecretType } from '../../api/auth.js';
import type { KubeObject } from '../../api/types.js';
import { logger } from '../../lib/log.js';
import { groups, type TokenAuthenticator, type UserInfo } from './types.js';

const log = logger('apiserver');

const extraGroupPattern = /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/;

/** Reads a Secret in kube-system, undefined when absent. */
export type SecretLookup = (name: string) => Promise<KubeObject | undefined>;

const field = (s: KubeObject, key: string): string | undefined => {
  const v = s.data?.[key];
  return typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : undefined;
};

export class BootstrapTokenAuthenticator implements TokenAuthenticator {
  constructor(private readonly lookup: SecretLookup, private readonly now: () => number = Date.now) {}

  async authenticateToken(token: string): Promise<UserInfo | undefined> {
    const m = bootstrapTokenPattern.exec(token);
    if (!m) return undefined;
    const [, id, secret] = m;
    const s = await this.lookup(`bootstrap-token-${id}`);
    // kube logs why a token failed without saying it to the client, and never logs the secret part.
    const refuse = (why: string) => {
      log.info('bootstrap token refused', { tokenID: id, reason: why });
      return undefined;
    };
    if (!s || s.type !== bootstrapTokenSecretType) return refuse('no secret');
    if (s.metadata.deletionTimestamp) return refuse('secret is being deleted');
    const stored = field(s, 'token-secret') ?? '';
    if (field(s, 'token-id') !== id || stored.length !== secret.length || !crypto.timingSafeEqual(Buffer.from(stored), Buffer.from(secret))) {
      return refuse('token does not match');
    }
    const exp = field(s, 'expiration');
    if (exp && !(Date.parse(exp) > this.now())) return refuse('expired');
    if (field(s, 'usage-bootstrap-authentication') !== 'true') return refuse('not marked for authentication');
    const extra = (field(s, 'auth-extra-groups') ?? '').split(',').map((g) => g.trim()).filter(Boolean);
    if (extra.some((g) => !extraGroupPattern.test(g))) return refuse('invalid auth-extra-groups');
    return { username: `system:bootstrap:${id}`, groups: [groups.bootstrappers, ...extra] };
  }
}

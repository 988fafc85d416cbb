import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../api/types.js';
import { BootstrapTokenAuthenticator } from './bootstraptoken.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
function secret(data: Record<string, string>, extra: Partial<KubeObject> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', type: 'bootstrap.kubernetes.io/token', metadata: { name: 'bootstrap-token-abcdef', namespace: 'kube-system' },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])), ...extra };
}
const valid = { 'token-id': 'abcdef', 'token-secret': '0123456789abcdef', 'usage-bootstrap-authentication': 'true' };

// Cases after kube's plugin/pkg/auth/authenticator/token/bootstrap/bootstrap_test.go.
describe('BootstrapTokenAuthenticator', () => {
  const now = Date.parse('2026-12-06T00:00:00Z');
  const auth = (s: KubeObject | undefined) => new BootstrapTokenAuthenticator(async (name) => (name === 'bootstrap-token-abcdef' ? s : undefined), () => now);

  it('authenticates a matching token as system:bootstrap:<id> with its extra groups', async () => {
    const u = await auth(secret({ ...valid, 'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token' })).authenticateToken('abcdef.0123456789abcdef');
    expect(u).toEqual({ username: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:bootstrappers:kubeadm:default-node-token'] });
  });

  it('accepts nothing else', async () => {
    const cases: [string, KubeObject | undefined, string][] = [
      ['wrong secret', secret(valid), 'abcdef.0123456789abcdee'],
      ['no such token', undefined, 'abcdef.0123456789abcdef'],
      ['not a bootstrap token at all', secret(valid), 'garbage'],
      ['wrong type', secret(valid, { type: 'Opaque' }), 'abcdef.0123456789abcdef'],
      ['expired', secret({ ...valid, expiration: '2026-12-05T23:59:59Z' }), 'abcdef.0123456789abcdef'],
      ['not for authentication', secret({ ...valid, 'usage-bootstrap-authentication': 'false' }), 'abcdef.0123456789abcdef'],
      ['being deleted', secret(valid, { metadata: { name: 'bootstrap-token-abcdef', deletionTimestamp: '2026-12-05T00:00:00Z' } }), 'abcdef.0123456789abcdef'],
      ['a group outside system:bootstrappers:', secret({ ...valid, 'auth-extra-groups': 'system:masters' }), 'abcdef.0123456789abcdef'],
    ];
    for (const [why, s, token] of cases) expect(await auth(s).authenticateToken(token), why).toBeUndefined();
    expect(await auth(secret({ ...valid, expiration: '2026-12-06T00:00:01Z' })).authenticateToken('abcdef.0123456789abcdef')).toBeDefined();
  });
});

import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { ConfigMap, Secret } from '../../api/types.js';
import { FakeInformerFactory, RecordingClient } from '../testing/fake.js';
import { BootstrapSigner } from './bootstrapsigner.js';
import { computeDetachedSignature, detachedSignatureValid } from './jws.js';
import { TokenCleaner } from './tokencleaner.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
function tokenSecret(id: string, secret: string, extra: Record<string, string> = {}): Secret {
  const data: Record<string, string> = { 'token-id': id, 'token-secret': secret, 'usage-bootstrap-signing': 'true', 'usage-bootstrap-authentication': 'true', ...extra };
  return {
    apiVersion: 'v1', kind: 'Secret', type: 'bootstrap.kubernetes.io/token', metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system', uid: `uid-${id}` },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}
const clusterInfo = (data: Record<string, string>): ConfigMap => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cluster-info', namespace: 'kube-public', resourceVersion: '3' }, data });

describe('detached JWS (cluster-bootstrap/token/jws)', () => {
  it('is "<header>..<signature>", HS256 with kid, and verifies only with the same token and content', async () => {
    const sig = await computeDetachedSignature('content', 'abcdef', '0123456789abcdef');
    const [h, payload] = sig.split('.');
    expect(payload).toBe('');
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg: 'HS256', kid: 'abcdef' });
    expect(await detachedSignatureValid(sig, 'content', 'abcdef', '0123456789abcdef')).toBe(true);
    expect(await detachedSignatureValid(sig, 'content', 'abcdef', '0123456789abcdeX')).toBe(false);
    expect(await detachedSignatureValid(sig, 'other', 'abcdef', '0123456789abcdef')).toBe(false);
    expect(await detachedSignatureValid(sig, 'content', 'zzzzzz', '0123456789abcdef')).toBe(false);
  });
});

describe('bootstrapsigner', () => {
  it('signs cluster-info for each signing token and drops the signatures of tokens gone, expired or not for signing', async () => {
    const client = new RecordingClient();
    const informers = new FakeInformerFactory();
    const c = new BootstrapSigner({ client, informers });
    informers.informerFor<ConfigMap>(R.configmaps).set(clusterInfo({ kubeconfig: 'kc', 'jws-kubeconfig-gone00': 'stale' }));
    informers.informerFor<Secret>(R.secrets).set(
      tokenSecret('aaaaaa', '0123456789abcdef'),
      tokenSecret('expird', '0123456789abcdef', { expiration: new Date(Date.now() - 1000).toISOString() }),
      tokenSecret('nosign', '0123456789abcdef', { 'usage-bootstrap-signing': 'false' }),
    );
    await c.sync();
    const [u] = client.of('update');
    expect(u.object!.data).toEqual({ kubeconfig: 'kc', 'jws-kubeconfig-aaaaaa': await computeDetachedSignature('kc', 'aaaaaa', '0123456789abcdef') });
    c.shutDown();
  });

  it('writes nothing when the signatures are already right', async () => {
    const client = new RecordingClient();
    const informers = new FakeInformerFactory();
    const c = new BootstrapSigner({ client, informers });
    informers.informerFor<ConfigMap>(R.configmaps).set(clusterInfo({ kubeconfig: 'kc', 'jws-kubeconfig-aaaaaa': await computeDetachedSignature('kc', 'aaaaaa', '0123456789abcdef') }));
    informers.informerFor<Secret>(R.secrets).set(tokenSecret('aaaaaa', '0123456789abcdef'));
    await c.sync();
    expect(client.of('update')).toEqual([]);
    c.shutDown();
  });
});

describe('tokencleaner', () => {
  it('deletes an expired token with its uid as precondition, and keeps a live or never-expiring one', async () => {
    const client = new RecordingClient();
    const informers = new FakeInformerFactory();
    const c = new TokenCleaner({ client, informers });
    const expired = tokenSecret('old000', '0123456789abcdef', { expiration: new Date(Date.now() - 1000).toISOString() });
    const live = tokenSecret('live00', '0123456789abcdef', { expiration: new Date(Date.now() + 3600_000).toISOString() });
    const forever = tokenSecret('ever00', '0123456789abcdef');
    client.seed('secrets', expired, live, forever);
    informers.informerFor<Secret>(R.secrets).set(expired, live, forever);
    for (const s of [expired, live, forever]) await c.sync(`kube-system/${s.metadata.name}`);
    expect(client.of('delete').map((a) => a.name)).toEqual(['bootstrap-token-old000']);
    c.shutDown();
  });
});

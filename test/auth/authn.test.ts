// Authentication and the filter chain against the real API server, with the
// real kubectl and the official JavaScript client: who may connect, as whom,
// and what an unauthenticated or badly authenticated caller is told.

import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { Kubectl } from '../util/kubectl.js';
import { tlsDispatcher } from '../util/pki.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
let api: ApiServerProcess;
let kubectl: Kubectl;

/** fetch as nobody: the server verified against the test CA, no client certificate. */
function anonymous(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(api.url + path, { headers, dispatcher: tlsDispatcher({ ca: api.admin.ca }) } as RequestInit);
}

function bootstrapSecret(id: string, secret: string, expiration?: string) {
  const data: Record<string, string> = { 'token-id': id, 'token-secret': secret, 'usage-bootstrap-authentication': 'true', 'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token' };
  if (expiration) data.expiration = expiration;
  return {
    apiVersion: 'v1', kind: 'Secret', type: 'bootstrap.kubernetes.io/token', metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

beforeAll(async () => {
  api = await startApiServer();
  kubectl = new Kubectl(api.url);
});
afterAll(async () => {
  await api?.stop();
});

describe('authentication', () => {
  it('answers an anonymous list of pods 401 Unauthorized, through the official client too, and leaves /version, /healthz, /livez and /readyz public', async () => {
    const r = await anonymous('/api/v1/namespaces/default/pods');
    expect(r.status).toBe(401);
    expect(await r.json()).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    for (const p of ['/version', '/healthz', '/livez', '/readyz']) expect((await anonymous(p)).status, p).toBe(200);
    for (const p of ['/api', '/apis', '/openapi/v3', '/metrics']) expect((await anonymous(p)).status, p).toBe(401);

    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: api.url, caData: b64(api.admin.ca!) }], users: [{ name: 'u' }],
      contexts: [{ name: 'c', cluster: 'c', user: 'u' }], currentContext: 'c',
    });
    const err = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: 'default' }).then(() => undefined, (e) => e);
    expect(err?.code).toBe(401);
  });

  it('refuses a bearer token nobody issued with 401, rather than falling back to anonymous', async () => {
    expect((await anonymous('/api/v1/pods', { Authorization: 'Bearer garbage' })).status).toBe(401);
    expect((await anonymous('/version', { Authorization: 'Bearer garbage' })).status).toBe(401);
  });

  it('authenticates a client certificate as its CN and O, as `kubectl auth whoami` shows', async () => {
    const whoami = await kubectl.ok(['auth', 'whoami', '-o', 'json']);
    expect(JSON.parse(whoami).status.userInfo).toEqual({ username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] });
    const alice = new Kubectl(api.url, await api.kubeconfigFor('alice', ['dev', 'qa']));
    expect(await alice.ok(['auth', 'whoami'])).toMatch(/Username\s+alice\s*\n\s*Groups\s+\[dev qa system:authenticated\]/);
  });

  it('authenticates a bootstrap token until it expires or is deleted', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify(bootstrapSecret('abcdef', '0123456789abcdef')) });
    await kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify(bootstrapSecret('expire', '0123456789abcdef', '2020-01-01T00:00:00Z')) });
    const review = await fetch(`${api.url}/apis/authentication.k8s.io/v1/selfsubjectreviews`, {
      method: 'POST', headers: { Authorization: 'Bearer abcdef.0123456789abcdef', 'Content-Type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
      dispatcher: tlsDispatcher({ ca: api.admin.ca }),
    } as RequestInit);
    expect(review.status).toBe(201);
    expect((await review.json()).status.userInfo).toEqual({ username: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:bootstrappers:kubeadm:default-node-token', 'system:authenticated'] });
    expect((await anonymous('/api/v1/pods', { Authorization: 'Bearer expire.0123456789abcdef' })).status).toBe(401);
    expect((await anonymous('/api/v1/pods', { Authorization: 'Bearer abcdef.0123456789abcdee' })).status).toBe(401);
    await kubectl.ok(['-n', 'kube-system', 'delete', 'secret', 'bootstrap-token-abcdef']);
    expect((await anonymous('/api/v1/pods', { Authorization: 'Bearer abcdef.0123456789abcdef' })).status).toBe(401);
  });

  it('answers a TokenReview for the kubelet\'s webhook: who a token is, or authenticated false', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify(bootstrapSecret('review', '0123456789abcdef')) });
    const ask = async (token: string) => (await fetch(`${api.url}/apis/authentication.k8s.io/v1/tokenreviews`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } }),
    })).json();
    const yes = await ask('review.0123456789abcdef');
    expect(yes.status).toMatchObject({ authenticated: true, user: { username: 'system:bootstrap:review' } });
    expect(yes.spec.token).toBeUndefined();
    expect((await ask('garbage')).status.authenticated).toBe(false);
  });

  it('impersonates only for those allowed to, as kubectl --as shows', async () => {
    expect(JSON.parse(await kubectl.ok(['auth', 'whoami', '--as=bob', '--as-group=team', '-o', 'json'])).status.userInfo)
      .toEqual({ username: 'bob', groups: ['team', 'system:authenticated'] });
    const alice = new Kubectl(api.url, await api.kubeconfigFor('alice'));
    const r = await alice.run(['get', '--raw', '/api/v1/pods', '--as=kubernetes-admin']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('users "kubernetes-admin" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope');
  });
});

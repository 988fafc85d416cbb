// ServiceAccounts, their tokens and Secrets against the real API server
// (RBAC on), with the real kubectl: a token from TokenRequest authenticates
// as its ServiceAccount and is refused once expired, once its ServiceAccount
// or bound pod is gone, or outside its audience; Secrets are created, listed
// and described by kubectl and never show their values in an error.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { writeKubeconfig } from '../../client/kubeconfig.js';
import { issue } from '../../lib/pki.js';
import { TokenIssuer } from '../../apiserver/auth/serviceaccount/issuer.js';
import { serviceAccountIssuer, startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { Kubectl } from '../util/kubectl.js';
import { freePort } from '../util/ports.js';
import { testPKISync, tlsDispatcher } from '../util/pki.js';

let api: ApiServerProcess;
let kubectl: Kubectl;
let dir: string;
let controllerManager: ChildProcess | undefined;

beforeAll(async () => {
  api = await startApiServer({ serviceAccounts: true, args: ['--authorization-mode=Node,RBAC'] });
  kubectl = new Kubectl(api.url);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-sa-test-'));
});
afterAll(async () => {
  if (controllerManager && controllerManager.exitCode === null) {
    const exited = new Promise((r) => controllerManager!.once('exit', r));
    controllerManager.kill('SIGKILL');
    await exited;
  }
  await api?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A request with only a bearer token: the server verified, no client certificate offered. */
function withToken(token: string, p: string, init: RequestInit = {}): Promise<Response> {
  return fetch(api.url + p, { ...init, headers: { ...(init.headers ?? {}), Authorization: `Bearer ${token}` }, dispatcher: tlsDispatcher({ ca: api.admin.ca }) } as RequestInit);
}

/** kubectl holding nothing but this token. */
function kubectlWithToken(token: string): Kubectl {
  const file = path.join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  writeKubeconfig(file, { server: api.url, name: 'sa', ca: api.admin.ca, token });
  return new Kubectl(api.url, file);
}

async function adminJSON(p: string, init: RequestInit = {}): Promise<any> {
  const r = await fetch(api.url + p, { ...init, headers: { 'content-type': 'application/json', ...(init.headers ?? {}) } });
  const body = await r.json();
  if (!r.ok) throw new Error(`${init.method ?? 'GET'} ${p}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

describe('ServiceAccounts and their tokens', () => {
  it('kubectl creates a ServiceAccount and a token that authenticates as it, limited to what RBAC grants it', async () => {
    await kubectl.ok(['create', 'serviceaccount', 'robot']);
    expect(await kubectl.ok(['get', 'serviceaccount', 'robot'])).toMatch(/^NAME\s+SECRETS\s+AGE\nrobot\s+0\s+\d+s\n$/);
    const sa = await kubectl.json(['get', 'sa', 'robot']);
    const described = await kubectl.ok(['describe', 'serviceaccount', 'robot']);
    expect(described).toMatch(/^Name:\s+robot\nNamespace:\s+default\n/);
    expect(described).toMatch(/Mountable secrets:\s+<none>\nTokens:\s+<none>\n/);
    const token = (await kubectl.ok(['create', 'token', 'robot'])).trim();
    expect(token.split('.')).toHaveLength(3);

    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    expect(claims['kubernetes.io'].serviceaccount).toEqual({ name: 'robot', uid: sa.metadata.uid });

    // RBAC's refusal names the user the token authenticated as.
    const denied = await withToken(token, '/api/v1/namespaces/default/configmaps');
    expect(denied.status).toBe(403);
    expect((await denied.json()).message).toBe('configmaps is forbidden: User "system:serviceaccount:default:robot" cannot list resource "configmaps" in API group "" in the namespace "default"');
    await kubectl.ok(['create', 'role', 'cm-reader', '--verb=list', '--resource=configmaps']);
    await kubectl.ok(['create', 'rolebinding', 'robot-reads', '--role=cm-reader', '--serviceaccount=default:robot']);
    await expect.poll(async () => (await withToken(token, '/api/v1/namespaces/default/configmaps')).status, { timeout: 10_000 }).toBe(200);
  });

  it('answers TokenRequest with kube\'s shape, defaults and limits', async () => {
    await kubectl.ok(['create', 'serviceaccount', 'shaped']);
    const tr = await adminJSON('/api/v1/namespaces/default/serviceaccounts/shaped/token', { method: 'POST', body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} }) });
    expect(tr).toMatchObject({ kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1', metadata: { name: 'shaped', namespace: 'default' }, spec: { audiences: [serviceAccountIssuer], expirationSeconds: 3600 } });
    const claims = JSON.parse(Buffer.from(tr.status.token.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ iss: serviceAccountIssuer, sub: 'system:serviceaccount:default:shaped', aud: [serviceAccountIssuer] });
    expect(Date.parse(tr.status.expirationTimestamp) / 1000).toBe(claims.exp);
    const short = await kubectl.run(['create', 'token', 'shaped', '--duration=5m']);
    expect(short.code).not.toBe(0);
    expect(short.stderr).toContain('may not specify a duration less than 10 minutes');
    const missing = await kubectl.run(['create', 'token', 'ghost']);
    expect(missing.stderr).toContain('serviceaccounts "ghost" not found');
  });

  it('refuses a token past its expiry with 401', async () => {
    await kubectl.ok(['create', 'serviceaccount', 'expiring']);
    const sa = await kubectl.json(['get', 'sa', 'expiring']);
    const signingKeyPem = fs.readFileSync(testPKISync().saKeyFile, 'utf8');
    // Tokens signed with the server's own key: one issued two hours ago for an hour, and one issued now.
    const past = new TokenIssuer({ signingKeyPem, issuer: serviceAccountIssuer, now: () => Date.now() - 2 * 3600_000 });
    const present = new TokenIssuer({ signingKeyPem, issuer: serviceAccountIssuer });
    const expired = await past.issue({ serviceAccount: sa, audiences: [serviceAccountIssuer], expirationSeconds: 3600 });
    const fresh = await present.issue({ serviceAccount: sa, audiences: [serviceAccountIssuer], expirationSeconds: 3600 });
    // The fresh one authenticates (RBAC then refuses it); the expired one does not get that far.
    expect((await withToken(fresh.token, '/api/v1/namespaces/default/configmaps')).status).toBe(403);
    const r = await withToken(expired.token, '/api/v1/namespaces/default/configmaps');
    expect(r.status).toBe(401);
    expect(await r.json()).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    expect((await kubectlWithToken(expired.token).run(['get', 'pods'])).stderr).toContain('You must be logged in to the server (the server has asked for the client to provide credentials)');
  });

  it('refuses tokens of a deleted ServiceAccount, of a deleted bound pod, and for another audience', async () => {
    await kubectl.ok(['create', 'serviceaccount', 'doomed']);
    const token = (await kubectl.ok(['create', 'token', 'doomed'])).trim();
    expect((await withToken(token, '/version')).status).toBe(200);
    await kubectl.ok(['delete', 'serviceaccount', 'doomed']);
    expect((await withToken(token, '/version')).status).toBe(401);

    await kubectl.ok(['create', 'serviceaccount', 'podded']);
    await kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bound' }, spec: { serviceAccountName: 'podded', automountServiceAccountToken: false, containers: [{ name: 'c', image: 'busybox' }] } }) });
    const bound = (await kubectl.ok(['create', 'token', 'podded', '--bound-object-kind=Pod', '--bound-object-name=bound'])).trim();
    const claims = JSON.parse(Buffer.from(bound.split('.')[1], 'base64url').toString());
    expect(claims['kubernetes.io'].pod.name).toBe('bound');
    expect((await withToken(bound, '/version')).status).toBe(200);
    await kubectl.ok(['delete', 'pod', 'bound', '--wait=false']);
    await expect.poll(async () => (await withToken(bound, '/version')).status, { timeout: 10_000 }).toBe(401);

    const vault = (await kubectl.ok(['create', 'token', 'podded', '--audience=vault'])).trim();
    expect((await withToken(vault, '/version')).status).toBe(401);
  });

  it('serves issuer discovery to ServiceAccounts, with the keys tokens are signed with', async () => {
    const token = (await kubectl.ok(['create', 'token', 'robot'])).trim();
    const config = await withToken(token, '/.well-known/openid-configuration');
    expect(config.status).toBe(200);
    const md = await config.json();
    expect(md).toEqual({
      issuer: serviceAccountIssuer, jwks_uri: `https://127.0.0.1:${api.port}/openid/v1/jwks`,
      response_types_supported: ['id_token'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['ES256'],
    });
    const keys = await (await withToken(token, '/openid/v1/jwks')).json();
    const kid = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).kid;
    expect(keys.keys).toEqual([expect.objectContaining({ kid, use: 'sig', alg: 'ES256', kty: 'EC' })]);
    expect((await fetch(api.url + '/openid/v1/jwks', { dispatcher: tlsDispatcher({ ca: api.admin.ca }) } as RequestInit)).status).toBe(401);
  });
});

describe('Secrets', () => {
  it('kubectl creates generic, TLS and docker-registry Secrets, lists them and describes them by size only', async () => {
    await kubectl.ok(['create', 'secret', 'generic', 'db', '--from-literal=password=hunter2-value', '--from-literal=user=admin']);
    const got = await kubectl.json(['get', 'secret', 'db']);
    expect(got.type).toBe('Opaque');
    expect(got.data).toEqual({ password: Buffer.from('hunter2-value').toString('base64'), user: Buffer.from('admin').toString('base64') });

    const pair = await issue(testPKISync().ca, { cn: 'web.test', sans: ['web.test'], usage: 'server' });
    fs.writeFileSync(path.join(dir, 'tls.crt'), pair.cert);
    fs.writeFileSync(path.join(dir, 'tls.key'), pair.key);
    await kubectl.ok(['create', 'secret', 'tls', 'web-tls', `--cert=${path.join(dir, 'tls.crt')}`, `--key=${path.join(dir, 'tls.key')}`]);
    await kubectl.ok(['create', 'secret', 'docker-registry', 'pull', '--docker-server=registry.test', '--docker-username=u', '--docker-password=registry-pass']);
    const pull = await kubectl.json(['get', 'secret', 'pull']);
    expect(pull.type).toBe('kubernetes.io/dockerconfigjson');
    expect(JSON.parse(Buffer.from(pull.data['.dockerconfigjson'], 'base64').toString()).auths['registry.test'].username).toBe('u');

    const table = await kubectl.ok(['get', 'secrets']);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+TYPE\s+DATA\s+AGE$/);
    expect(table).toMatch(/\ndb\s+Opaque\s+2\s+\d+s\n/);
    expect(table).toMatch(/\nweb-tls\s+kubernetes\.io\/tls\s+2\s+\d+s\n/);
    expect(table).toMatch(/\npull\s+kubernetes\.io\/dockerconfigjson\s+1\s+\d+s\n/);
    const tlsOnly = await kubectl.ok(['get', 'secrets', '--field-selector', 'type=kubernetes.io/tls', '-o', 'name']);
    expect(tlsOnly.trim()).toBe('secret/web-tls');

    const described = await kubectl.ok(['describe', 'secret', 'db']);
    expect(described).toMatch(/Type:\s+Opaque/);
    expect(described).toMatch(/password:\s+13 bytes/);
    expect(described).toMatch(/user:\s+5 bytes/);
    expect(described).not.toContain('hunter2');
  });

  it('merges stringData into data, and never shows a value in an error', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'plain' }, stringData: { token: 'tok-123' } }) });
    const plain = await kubectl.json(['get', 'secret', 'plain']);
    expect(plain.stringData).toBeUndefined();
    expect(Buffer.from(plain.data.token, 'base64').toString()).toBe('tok-123');

    const bad = await kubectl.run(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bad' }, data: { password: 'sup3r-s3cret!' } }) });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('data[password]: Invalid value: "<secret contents redacted>": illegal base64 data at input byte');
    expect(bad.stderr).not.toContain('sup3r');
    const raw = await fetch(`${api.url}/api/v1/namespaces/default/secrets`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cfg' }, type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': '{"auths":{"r":{"password":"sup3r-s3cret"}' } }),
    });
    expect(raw.status).toBe(422);
    expect(await raw.text()).not.toContain('sup3r');

    await kubectl.ok(['patch', 'secret', 'plain', '-p', '{"immutable":true}']);
    const frozen = await kubectl.run(['patch', 'secret', 'plain', '-p', '{"stringData":{"token":"tok-456"}}']);
    expect(frozen.stderr).toContain('data: Forbidden: field is immutable when `immutable` is set');
    expect(frozen.stderr).not.toContain('tok-456');
  });
});

describe('the ServiceAccount admission plugin and its controllers', () => {
  it('refuses pods until the serviceaccount controller has made "default", then mounts the token volume; kube-root-ca.crt is published and kept', async () => {
    await kubectl.ok(['create', 'namespace', 'lonely']);
    const pod = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'lonely' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    const refused = await kubectl.run(['create', '-f', '-'], { input: pod });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('pods "p" is forbidden: error looking up service account lonely/default: serviceaccount "default" not found');

    // The two controllers as kube-controller-manager runs them, with the cluster CA to publish.
    const caFile = testPKISync().caFile;
    const mainJs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'controllers', 'main.js');
    controllerManager = spawn(process.execPath, [
      mainJs, `--kubeconfig=${await api.kubeconfigFor('system:kube-controller-manager')}`, '--leader-elect=false', `--port=${await freePort()}`,
      '--controllers=serviceaccount,root-ca-cert-publisher', `--root-ca-file=${caFile}`,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let cmLog = '';
    controllerManager.stderr!.on('data', (d) => { cmLog = (cmLog + d).slice(-8000); });
    // Its recent log when anything below fails. (expect.poll's message is a string fixed when the poll starts, not a callback.)
    onTestFailed(() => { console.error(`kube-controller-manager log (last 8000 chars):\n${cmLog}`); });

    await expect.poll(async () => (await kubectl.run(['get', 'serviceaccount', 'default', '-n', 'lonely'])).code, { timeout: 30_000 }).toBe(0);
    const created = JSON.parse(await kubectl.ok(['create', '-f', '-', '-o', 'json'], { input: pod }));
    expect(created.spec.serviceAccountName).toBe('default');
    const volume = created.spec.volumes.find((v: { name: string }) => v.name.startsWith('kube-api-access-'));
    expect(volume.name).toMatch(/^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(volume.projected.sources[0]).toEqual({ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } });
    expect(created.spec.containers[0].volumeMounts).toEqual([{ name: volume.name, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }]);

    const rootCA = async () => JSON.parse((await kubectl.run(['get', 'configmap', 'kube-root-ca.crt', '-n', 'lonely', '-o', 'json'])).stdout || '{}');
    await expect.poll(async () => (await rootCA()).data?.['ca.crt'], { timeout: 30_000 }).toBe(fs.readFileSync(caFile, 'utf8'));
    expect((await rootCA()).metadata.annotations['kubernetes.io/description']).toMatch(/^Contains a CA bundle that can be used to verify the kube-apiserver/);
    await kubectl.ok(['patch', 'configmap', 'kube-root-ca.crt', '-n', 'lonely', '-p', '{"data":{"ca.crt":"forged"}}']);
    await expect.poll(async () => (await rootCA()).data?.['ca.crt'], { timeout: 30_000 }).toBe(fs.readFileSync(caFile, 'utf8'));

    const before = (await kubectl.json(['get', 'sa', 'default', '-n', 'lonely'])).metadata.uid;
    await kubectl.ok(['delete', 'serviceaccount', 'default', '-n', 'lonely']);
    await expect.poll(async () => JSON.parse((await kubectl.run(['get', 'sa', 'default', '-n', 'lonely', '-o', 'json'])).stdout || '{}').metadata?.uid, { timeout: 30_000 })
      .toSatisfy((uid) => typeof uid === 'string' && uid !== before);
  });
});

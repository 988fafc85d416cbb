// `skiff join` against a real etcd, API server (Node,RBAC) and
// controller-manager (csrapproving, csrsigning with the cluster CA,
// bootstrapsigner, tokencleaner) on loopback: a good token yields a kubelet
// client certificate for system:node:<name> signed by the cluster CA and the
// real kubelet (on the real Docker engine) registers the Node; a wrong token,
// an expired one, a CA hash that does not match, or no hash at all are
// refused with a clear message and leave no CSR and no Node behind.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { ConfigMap } from '../../api/types.js';
import { loadKubeconfig } from '../../client/kubeconfig.js';
import { RestClient } from '../../client/rest.js';
import { prepareJoin } from '../../cli/join.js';
import { createToken } from '../../cli/token.js';
import { bootstrapTokenSecretType } from '../../api/auth.js';
import { caCertHash } from '../../lib/pki.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { freePort, waitFor } from '../util/ports.js';
import { testPKISync, tlsDispatcher } from '../util/pki.js';

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const skiff = path.join(repo, 'dist', 'cli', 'main.js');

let api: ApiServerProcess;
let admin: RestClient;
let cm: ChildProcess | undefined;
let cmLog = '';
let dir: string;
let token: string;
let hash: string;
const homes: string[] = [];
const clusterName = `jt${process.pid}`;

function runSkiff(args: string[], home: string, timeoutMs = 180_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [skiff, ...args, `--home=${home}`], { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function newHome(): string {
  const h = fs.mkdtempSync(path.join(dir, 'node-'));
  homes.push(h);
  return h;
}

async function csrNames(): Promise<string[]> {
  return (await admin.resource(R.certificatesigningrequests).list()).items.map((c) => c.metadata.name!);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-join-'));
  api = await startApiServer({ serviceAccounts: true });
  admin = new RestClient(api.admin, { component: 'join-test' });
  const pki = testPKISync();
  const cmPort = await freePort();
  cm = spawn(process.execPath, [path.join(repo, 'dist', 'controllers', 'main.js'),
    `--kubeconfig=${await api.kubeconfigFor('system:kube-controller-manager')}`, `--port=${cmPort}`, '--leader-elect=false',
    '--controllers=csrapproving,csrsigning,bootstrapsigner,tokencleaner,serviceaccount',
    `--cluster-signing-cert-file=${pki.caFile}`, `--cluster-signing-key-file=${path.join(path.dirname(pki.caFile), 'ca.key')}`, '--log-format=text'], { stdio: ['ignore', 'pipe', 'pipe'] });
  cm.stdout!.on('data', (d) => { cmLog = (cmLog + d).slice(-20_000); });
  cm.stderr!.on('data', (d) => { cmLog = (cmLog + d).slice(-20_000); });
  await waitFor('kube-public', async () => (await fetch(`${api.url}/api/v1/namespaces/kube-public`)).ok, 30_000);
  await prepareJoin(admin, { server: api.url, ca: pki.ca.cert });
  token = await createToken(admin, { ttlSeconds: 3600 });
  hash = caCertHash(pki.ca.cert);
  const id = token.split('.')[0];
  await waitFor('cluster-info signed for the token', async () => {
    const info = await admin.resource<ConfigMap>(R.configmaps, 'kube-public').get('cluster-info');
    return !!info.data?.[`jws-kubeconfig-${id}`];
  }, 30_000).catch((e) => { throw new Error(`${(e as Error).message}\ncontroller-manager:\n${cmLog.slice(-4000)}`); });
}, 120_000);

afterAll(async () => {
  for (const h of homes) runSkiff(['leave'], h, 120_000);
  if (cm && cm.exitCode === null) {
    const exited = new Promise((r) => cm!.once('exit', r));
    cm.kill('SIGKILL');
    await exited;
  }
  admin?.close();
  await api?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, 180_000);

describe('skiff join', () => {
  it('reads cluster-info anonymously: the server and CA, no credentials, signed per token', async () => {
    const r = await fetch(`${api.url}/api/v1/namespaces/kube-public/configmaps/cluster-info`, { dispatcher: tlsDispatcher({ ca: api.admin.ca }) } as RequestInit);
    expect(r.status).toBe(200);
    const info = await r.json();
    expect(info.data.kubeconfig).toContain(`server: ${api.url}`);
    expect(info.data.kubeconfig).not.toMatch(/token|client-key/);
    expect(Object.keys(info.data).filter((k) => k.startsWith('jws-kubeconfig-'))).toContain(`jws-kubeconfig-${token.split('.')[0]}`);
    // Anonymous gets only that one object.
    const other = await fetch(`${api.url}/api/v1/namespaces/kube-public/configmaps`, { dispatcher: tlsDispatcher({ ca: api.admin.ca }) } as RequestInit);
    expect(other.status).toBe(401);
  });

  it('refuses a wrong token with a clear message and registers nothing', async () => {
    const before = await csrNames();
    const [id] = token.split('.');
    const wrongSecret = runSkiff(['join', api.url, '--token', `${id}.0000000000000000`, '--ca-cert-hash', hash, '--node-name', 'wrong-secret'], newHome());
    expect(wrongSecret.code).toBe(1);
    expect(wrongSecret.stderr).toContain('join refused: failed to verify JWS signature of received cluster info object');
    const unknownId = runSkiff(['join', api.url, '--token', 'zzzzzz.0000000000000000', '--ca-cert-hash', hash, '--node-name', 'wrong-id'], newHome());
    expect(unknownId.code).toBe(1);
    expect(unknownId.stderr).toContain('This token id "zzzzzz" is invalid for this cluster');
    // The API server itself refuses the token: a CSR made with it cannot exist.
    const direct = await fetch(`${api.url}/apis/certificates.k8s.io/v1/certificatesigningrequests`, {
      method: 'POST', headers: { Authorization: `Bearer ${id}.0000000000000000`, 'content-type': 'application/json' }, body: '{}', dispatcher: tlsDispatcher({ ca: api.admin.ca }),
    } as RequestInit);
    expect(direct.status).toBe(401);
    expect(await csrNames()).toEqual(before);
    const nodes = (await admin.resource(R.nodes).list()).items.map((n) => n.metadata.name);
    expect(nodes).not.toContain('wrong-secret');
    expect(nodes).not.toContain('wrong-id');
  });

  it('refuses a CA hash that does not match, and no hash without the unsafe flag', async () => {
    const before = await csrNames();
    const mismatch = runSkiff(['join', api.url, '--token', token, '--ca-cert-hash', `sha256:${'0'.repeat(64)}`, '--node-name', 'bad-hash'], newHome());
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toContain(`none of the public keys "${hash}" are pinned`);
    const none = runSkiff(['join', api.url, '--token', token, '--node-name', 'no-hash'], newHome());
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('refusing to trust the API server without --ca-cert-hash');
    expect(await csrNames()).toEqual(before);
  });

  it('refuses an expired token, which the token cleaner then deletes', async () => {
    const id = 'expird';
    const data = { 'token-id': id, 'token-secret': 'abcdefghij012345', 'usage-bootstrap-authentication': 'true', 'usage-bootstrap-signing': 'true', expiration: new Date(Date.now() - 60_000).toISOString() };
    await admin.resource(R.secrets, 'kube-system').create({
      apiVersion: 'v1', kind: 'Secret', type: bootstrapTokenSecretType, metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    });
    const r = runSkiff(['join', api.url, '--token', `${id}.abcdefghij012345`, '--ca-cert-hash', hash, '--node-name', 'expired'], newHome());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`This token id "${id}" is invalid for this cluster`);
    await waitFor('the expired token deleted', async () => !(await admin.resource(R.secrets, 'kube-system').get(`bootstrap-token-${id}`).then(() => true, () => false)), 30_000);
  });

  it('with a good token: a signed kubelet client certificate for system:node:<name>, the Node registers, leave cleans up', async () => {
    const home = newHome();
    const name = `joined-${process.pid}`;
    const r = runSkiff(['join', api.url, '--token', token, '--ca-cert-hash', hash, '--node-name', name, '--node-ip', '127.0.0.1',
      '--kubelet-port', String(await freePort()), '--kubelet-healthz-port', String(await freePort()),
      '--container-runtime-endpoint', 'unix:///var/run/docker.sock', '--skip-phases', 'network-agent', '--name', clusterName], home);
    expect(r.code, `${r.stdout}\n${r.stderr}\ncontroller-manager:\n${cmLog.slice(-3000)}`).toBe(0);
    expect(r.stdout).toContain(`node ${name} registered`);

    const kubeletConf = path.join(home, 'kubelet.conf');
    expect(fs.statSync(kubeletConf).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(home, 'pki', 'kubelet.key')).mode & 0o777).toBe(0o600);
    const conn = loadKubeconfig(kubeletConf);
    const cert = new X509Certificate(conn.cert!);
    expect(cert.subject).toBe(`O=system:nodes\nCN=system:node:${name}`);
    expect(cert.checkIssued(new X509Certificate(testPKISync().ca.cert))).toBe(true);
    const serving = new X509Certificate(fs.readFileSync(path.join(home, 'pki', 'kubelet.crt')));
    expect(serving.subjectAltName).toContain('IP Address:127.0.0.1');
    const proxy = new X509Certificate(loadKubeconfig(path.join(home, 'kube-proxy.conf')).cert!);
    expect(proxy.subject).toBe('CN=system:kube-proxy');

    // The API server knows the kubelet as that node (x509 identity), and the Node is there.
    const whoami = await fetch(`${api.url}/apis/authentication.k8s.io/v1/selfsubjectreviews`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
      dispatcher: tlsDispatcher(conn),
    } as RequestInit);
    expect((await whoami.json()).status.userInfo).toMatchObject({ username: `system:node:${name}`, groups: expect.arrayContaining(['system:nodes', 'system:authenticated']) });
    const node = await admin.resource(R.nodes).get(name);
    expect(node.status?.addresses).toEqual(expect.arrayContaining([{ type: 'InternalIP', address: '127.0.0.1' }]));

    // Every CSR of the join was approved by the controller and issued.
    const csrs = (await admin.resource(R.certificatesigningrequests).list()).items;
    const mine = csrs.filter((c) => c.spec.username === `system:node:${name}` || c.spec.username === `system:bootstrap:${token.split('.')[0]}`);
    expect(mine.map((c) => c.spec.signerName).sort()).toEqual(['kubernetes.io/kube-apiserver-client', 'kubernetes.io/kube-apiserver-client-kubelet', 'kubernetes.io/kubelet-serving']);
    for (const c of mine) {
      expect(c.status.conditions.find((x: { type: string }) => x.type === 'Approved')).toMatchObject({ status: 'True', reason: 'AutoApproved' });
      expect(c.status.certificate).toBeTruthy();
    }

    const left = runSkiff(['leave'], home, 120_000);
    expect(left.code, left.stdout + left.stderr).toBe(0);
    expect(fs.existsSync(path.join(home, 'state.json'))).toBe(false);
    expect(fs.existsSync(kubeletConf)).toBe(false);
    // Nothing in the API is deleted by leave.
    expect((await admin.resource(R.nodes).get(name)).metadata.name).toBe(name);
    await admin.resource(R.nodes).delete(name);
  }, 300_000);
});

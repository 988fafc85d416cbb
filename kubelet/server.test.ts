import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { R } from '../api/resources.js';
import type { Pod } from '../api/types.js';
import { FakeClient, type Action } from '../client/fake.js';
import { SharedInformerFactory } from '../client/informer.js';
import { createCA, issue, type KeyPair } from '../lib/pki.js';
import { waitFor } from '../test/util/ports.js';
import { KubeletAuth } from './auth.js';
import { Kubelet } from './kubelet.js';
import { FakeRuntime } from './runtime/fake.js';
import { createHealthServer, createServer } from './server.js';
import { clientPair, servingPair, testCA } from './testpki.js';

const NODE = 'n1';

/** SubjectAccessReview answers: what each user may do to nodes/<subresource>. */
const grants: Record<string, string[]> = {
  'kube-apiserver-kubelet-client': ['proxy', 'stats', 'log', 'metrics', 'spec'],
  'stats-reader': ['stats'],
  'system:serviceaccount:default:monitor': ['stats'],
};

describe('the kubelet\'s HTTPS API: authentication, authorization and Origin', () => {
  let client: FakeClient;
  let kubelet: Kubelet;
  let server: https.Server;
  let port = 0;
  let ca: KeyPair;
  let admin: KeyPair;
  let alice: KeyPair;
  let dir: string;
  const reviews: { sar: Action[]; tokens: Action[] } = { sar: [], tokens: [] };

  beforeAll(async () => {
    const pod: Pod = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'uid-p' },
      spec: { nodeName: NODE, containers: [{ name: 'c', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }] },
    };
    client = new FakeClient([R.pods, pod]);
    client.prependReactor('create', 'subjectaccessreviews', (a) => {
      reviews.sar.push(a);
      const spec = (a.object as { spec: { user: string; resourceAttributes: { subresource: string } } }).spec;
      const allowed = (grants[spec.user] ?? []).includes(spec.resourceAttributes.subresource);
      return { handled: true, ret: { ...(a.object as object), status: { allowed, reason: allowed ? 'granted' : '' } } };
    });
    client.prependReactor('create', 'tokenreviews', (a) => {
      reviews.tokens.push(a);
      const token = (a.object as { spec: { token: string } }).spec.token;
      const status = token === 'monitor-token'
        ? { authenticated: true, user: { username: 'system:serviceaccount:default:monitor', uid: 'u1', groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'] } }
        : { authenticated: false, error: 'invalid bearer token' };
      return { handled: true, ret: { ...(a.object as object), status } };
    });
    const runtime = new FakeRuntime();
    runtime.execHandler = () => ({ exitCode: 0, stdout: 'hello from exec\n', stderr: '', timedOut: false });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubelet-server-'));
    kubelet = new Kubelet({ client, runtime, nodeName: NODE, nodeIP: '127.0.0.1', rootDir: dir, relistMs: 50 });
    kubelet.start(new SharedInformerFactory(client));
    await waitFor('Running', async () => (await client.resource<Pod>(R.pods, 'default').get('p')).status?.phase === 'Running', 5000);
    ca = await testCA();
    admin = await clientPair('kube-apiserver-kubelet-client', ['kubeadm:cluster-admins']);
    alice = await clientPair('alice', ['devs']);
    const auth = new KubeletAuth({ nodeName: NODE, x509: true, tokenWebhook: client, authorization: { mode: 'Webhook', client } });
    server = createServer({ kubelet, runtime, nodeName: NODE, auth, tls: { ...(await servingPair(NODE)), clientCA: ca.cert } });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => {
    kubelet?.stop();
    server?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const get = (p: string, opts: { pair?: KeyPair; token?: string } = {}) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, path: p, ca: ca.cert, cert: opts.pair?.cert, key: opts.pair?.key,
      headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : {},
    }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });

  /** A WebSocket exec: the output, or the HTTP answer that refused the upgrade. */
  const exec = (opts: { pair?: KeyPair; token?: string; origin?: string } = {}) => new Promise<{ status: number; body: string; output?: string }>((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/exec/default/p/c?command=echo&stdout=true`, ['v5.channel.k8s.io'], {
      ca: ca.cert, cert: opts.pair?.cert, key: opts.pair?.key, origin: opts.origin,
      headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : {},
    });
    let output = '';
    ws.on('message', (d: Buffer) => { if (d[0] === 1) output += d.subarray(1).toString(); });
    ws.on('close', () => resolve({ status: 101, body: '', output }));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('error', (e) => { if (!/Unexpected server response/.test(e.message)) reject(e); });
  });

  it('answers 401 Unauthorized to a request without credentials, plain and upgrade alike', async () => {
    expect(await get('/pods')).toEqual({ status: 401, body: 'Unauthorized' });
    expect(await get('/healthz')).toEqual({ status: 401, body: 'Unauthorized' });
    const r = await exec();
    expect(r).toMatchObject({ status: 401, body: 'Unauthorized' });
    expect(r.output).toBeUndefined();
  });

  it('refuses a certificate from another CA, and one not made for client authentication', async () => {
    const other = await createCA('another-ca');
    const stranger = await issue(other, { cn: 'kube-apiserver-kubelet-client', usage: 'client' });
    expect((await get('/pods', { pair: stranger })).status).toBe(401);
    expect((await exec({ pair: stranger })).status).toBe(401);
    const serverOnly = await clientPair('kube-apiserver-kubelet-client', [], 'server');
    expect((await get('/pods', { pair: serverOnly })).status).toBe(401);
  });

  it('answers 403 as kube\'s kubelet words it to a user the SubjectAccessReview does not allow', async () => {
    expect(await get('/pods', { pair: alice })).toEqual({ status: 403, body: 'Forbidden (user=alice, verb=get, resource=nodes, subresource=proxy)' });
    // An exec over WebSocket is a GET, but runs a command: it needs create.
    expect(await exec({ pair: alice })).toMatchObject({ status: 403, body: 'Forbidden (user=alice, verb=create, resource=nodes, subresource=proxy)' });
    const sar = reviews.sar.map((a) => (a.object as { spec: unknown }).spec).find((s) => (s as { user: string }).user === 'alice');
    expect(sar).toEqual({
      user: 'alice', groups: ['devs', 'system:authenticated'],
      resourceAttributes: { namespace: '', verb: 'get', group: '', version: 'v1', resource: 'nodes', subresource: 'proxy', name: NODE },
    });
  });

  it('serves the API server\'s client: pods, stats and a WebSocket exec', async () => {
    const pods = await get('/pods', { pair: admin });
    expect(pods.status).toBe(200);
    expect(JSON.parse(pods.body).items.map((p: Pod) => p.metadata.name)).toEqual(['p']);
    expect((await get('/stats/summary', { pair: admin })).status).toBe(200);
    expect(await exec({ pair: admin })).toEqual({ status: 101, body: '', output: 'hello from exec\n' });
  });

  it('refuses a WebSocket exec from a foreign Origin with 403, and allows its own', async () => {
    const r = await exec({ pair: admin, origin: 'https://evil.example' });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body)).toMatchObject({ kind: 'Status', code: 403, reason: 'Forbidden' });
    expect(r.output).toBeUndefined();
    expect(await exec({ pair: admin, origin: `https://127.0.0.1:${port}` })).toMatchObject({ status: 101, output: 'hello from exec\n' });
  });

  it('authenticates bearer tokens by TokenReview, caches the answer, and maps paths to node subresources', async () => {
    const before = reviews.tokens.length;
    expect((await get('/stats/summary', { token: 'monitor-token' })).status).toBe(200);
    expect(await get('/pods', { token: 'monitor-token' })).toEqual({ status: 403, body: 'Forbidden (user=system:serviceaccount:default:monitor, verb=get, resource=nodes, subresource=proxy)' });
    expect(await exec({ token: 'monitor-token' })).toMatchObject({ status: 403 });
    expect(reviews.tokens.length - before).toBe(1);
    expect(await get('/pods', { token: 'forged' })).toEqual({ status: 401, body: 'Unauthorized' });
    expect(await exec({ token: 'forged' })).toMatchObject({ status: 401 });
  });

  it('speaks nothing but TLS on its port', async () => {
    const r = await new Promise<string>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/pods' }, (res) => resolve(`answered ${res.statusCode}`));
      req.on('error', (e) => resolve(e.message));
    });
    // Node's TLS server answers a plain HTTP request with 400 and closes; it never reaches a handler.
    expect(r).not.toBe('answered 200');
    expect(r).not.toBe('answered 401');
  });

  it('serves /healthz without credentials on the plain-HTTP health port, and nothing else there', async () => {
    const health = createHealthServer();
    await new Promise<void>((r) => health.listen(0, '127.0.0.1', r));
    try {
      const hp = (health.address() as AddressInfo).port;
      const h = await fetch(`http://127.0.0.1:${hp}/healthz`);
      expect([h.status, await h.text()]).toEqual([200, 'ok']);
      expect((await fetch(`http://127.0.0.1:${hp}/pods`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${hp}/exec/default/p/c?command=id`)).status).toBe(404);
    } finally {
      health.close();
    }
  });
});

// Issue #15's API parity items against the real API server: boolean query
// parameters as apimachinery decodes them, status.qosClass, and the proxy
// subresources (pods/proxy, services/proxy, nodes/proxy). The pod behind the
// proxies is an HTTP server on an address added to lo for the test (pod IPs
// must be global unicast, as kube requires, so 127.0.0.1 will not do), and
// the node's kubelet a stand-in HTTPS server signed by the test CA.

import { execFileSync } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issue } from '../../lib/pki.js';
import { testPKI, tlsDispatcher } from '../util/pki.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { client, pod, watch } from './helpers.js';

// One address per test process, so parallel runs of this file do not collide; removed in afterAll.
const podIP = `10.253.${process.pid % 250}.${1 + (Math.floor(process.pid / 250) % 250)}`;
let addedIP = false;
let srv: ApiServerProcess;
let api: ReturnType<typeof client>;
let backend: http.Server;
let backendPort = 0;
let kubelet: https.Server;
const kubeletSeen: { url: string; cn: string }[] = [];

beforeAll(async () => {
  execFileSync('ip', ['addr', 'add', `${podIP}/32`, 'dev', 'lo']);
  addedIP = true;
  // The "pod": echoes what it was asked, and echoes bytes back on an upgrade.
  backend = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (req.url === '/redirect') {
        res.writeHead(302, { Location: `http://${podIP}:${backendPort}/landing` });
        res.end();
        return;
      }
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('X-Backend', 'pod');
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify({ method: req.method, url: req.url, body, authorization: req.headers.authorization ?? null, impersonate: req.headers['impersonate-user'] ?? null }));
    });
  });
  backend.on('upgrade', (_req, socket: net.Socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    socket.pipe(socket);
  });
  await new Promise<void>((r) => backend.listen(0, podIP, () => r()));
  backendPort = (backend.address() as net.AddressInfo).port;

  const pki = await testPKI();
  const serving = await issue(pki.ca, { cn: 'system:node:fake', sans: ['127.0.0.1'], usage: 'server' });
  kubelet = https.createServer({ ...serving, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    kubeletSeen.push({ url: req.url!, cn: String((req.socket as tls.TLSSocket).getPeerCertificate().subject?.CN) });
    res.end('kubelet ok');
  });
  await new Promise<void>((r) => kubelet.listen(0, '127.0.0.1', () => r()));

  srv = await startApiServer();
  api = client(srv.url);
  const node = await api.post('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'fake' } });
  expect(node.status, node.text).toBe(201);
  const st = await api.put('/api/v1/nodes/fake/status', { ...node.body, status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: (kubelet.address() as net.AddressInfo).port } } } });
  expect(st.status, st.text).toBe(200);

  const web = pod('web', { metadata: { labels: { app: 'web' } }, spec: { nodeName: 'fake', containers: [{ name: 'c', image: 'busybox:latest', ports: [{ containerPort: backendPort }] }] } });
  const created = await api.post('/api/v1/namespaces/default/pods', web);
  expect(created.status, created.text).toBe(201);
  const ps = await api.put('/api/v1/namespaces/default/pods/web/status', { ...created.body, status: { ...created.body.status, phase: 'Running', podIP, podIPs: [{ ip: podIP }] } });
  expect(ps.status, ps.text).toBe(200);
  const svc = await api.post('/api/v1/namespaces/default/services', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: backendPort }] },
  });
  expect(svc.status, svc.text).toBe(201);
  const eps = await api.put('/api/v1/namespaces/default/endpoints/web', {
    apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', namespace: 'default' },
    subsets: [{ addresses: [{ ip: podIP, targetRef: { kind: 'Pod', name: 'web', namespace: 'default' } }], ports: [{ name: 'http', port: backendPort, protocol: 'TCP' }] }],
  });
  expect(eps.status, eps.text).toBeLessThan(300);
  // A Service whose only endpoint is not a pod: the API server must not be aimed at it.
  await api.post('/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'stray' }, spec: { ports: [{ name: 'http', port: 80 }] } });
  await api.put('/api/v1/namespaces/default/endpoints/stray', {
    apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'stray', namespace: 'default' },
    subsets: [{ addresses: [{ ip: podIP }], ports: [{ name: 'http', port: backendPort, protocol: 'TCP' }] }],
  });
}, 60_000);

afterAll(async () => {
  await srv?.stop();
  backend?.closeAllConnections();
  kubelet?.closeAllConnections();
  await new Promise((r) => (backend ? backend.close(r) : r(undefined)));
  await new Promise((r) => (kubelet ? kubelet.close(r) : r(undefined)));
  if (addedIP) execFileSync('ip', ['addr', 'del', `${podIP}/32`, 'dev', 'lo']);
});

describe('boolean query parameters (apimachinery Convert_Slice_string_To_bool)', () => {
  it.each(['True', 't', '1', 'TRUE', 'yes'])('watch=%s watches', async (v) => {
    const w = watch(srv.url, `/api/v1/namespaces/default/configmaps?watch=${v}`);
    try {
      expect(await w.status).toBe(200);
      await api.post('/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `w-${v.toLowerCase()}-${Math.random().toString(36).slice(2, 7)}` } });
      const events = await w.waitFor(1, 5000);
      expect(events[0].type).toBe('ADDED');
    } finally {
      w.close();
    }
  });

  it.each(['false', 'False', 'FALSE', '0'])('watch=%s lists', async (v) => {
    const r = await api.get(`/api/v1/namespaces/default/configmaps?watch=${v}`);
    expect(r.status).toBe(200);
    expect(r.body.kind).toBe('ConfigMapList');
  });

  it('authorizes a watch however it is spelled as watch, so list alone never opens one', async () => {
    const user = 'list-only';
    await api.post('/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'cm-list' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['list'] }] });
    await api.post('/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'cm-list' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-list' }, subjects: [{ kind: 'User', name: user }] });
    const conn = await srv.connectionFor(user);
    const dispatcher = tlsDispatcher({ ca: conn.ca!, cert: conn.cert!, key: conn.key! });
    const as = (q: string) => fetch(`${srv.url}/api/v1/namespaces/default/configmaps${q}`, { dispatcher } as RequestInit);
    await expect.poll(async () => (await as('')).status, { timeout: 10_000 }).toBe(200);
    for (const q of ['?watch=yes', '?watch=True', '?watch', '?watch=t']) expect((await as(q)).status, q).toBe(403);
  });

  it('pretty prints for pretty=true and never refuses a pretty it cannot parse', async () => {
    const pretty = await api.get('/api/v1/namespaces/default/pods/web?pretty=True');
    expect(pretty.text).toMatch(/^\{\n {2}"/);
    const plain = await api.get('/api/v1/namespaces/default/pods/web?pretty=yes');
    expect(plain.status).toBe(200);
    expect(plain.text).not.toContain('\n');
  });

  it('force=True forces a conflicting server-side apply', async () => {
    const cm = (v: string) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'forced' }, data: { k: v } });
    const apply = (manager: string, v: string, force: string) => fetch(`${srv.url}/api/v1/namespaces/default/configmaps/forced?fieldManager=${manager}${force}`, { method: 'PATCH', headers: { 'Content-Type': 'application/apply-patch+yaml' }, body: cm(v) });
    expect((await apply('one', 'a', '')).status).toBe(201);
    expect((await apply('two', 'b', '')).status).toBe(409);
    expect((await apply('two', 'b', '&force=True')).status).toBe(200);
  });
});

describe('status.qosClass', () => {
  const both = (cpu: string, memory: string) => ({ cpu, memory });
  it.each([
    ['best', undefined, 'BestEffort'],
    ['burst', { requests: { cpu: '100m' } }, 'Burstable'],
    // Limits alone: requests default to them (SetDefaults_Pod), so the pod is Guaranteed.
    ['guar', { limits: both('100m', '64Mi') }, 'Guaranteed'],
  ])('a pod %s is created with its class', async (name, resources, qos) => {
    const r = await api.post('/api/v1/namespaces/default/pods', pod(`qos-${name}`, { spec: { containers: [{ name: 'c', image: 'busybox:latest', ...(resources ? { resources } : {}) }] } }));
    expect(r.status, r.text).toBe(201);
    expect(r.body.status.qosClass).toBe(qos);
  });

  it('counts init containers and keeps the class across a status write that leaves it out', async () => {
    const r = await api.post('/api/v1/namespaces/default/pods', pod('qos-init', {
      spec: { initContainers: [{ name: 'i', image: 'busybox:latest' }], containers: [{ name: 'c', image: 'busybox:latest', resources: { limits: both('1', '1Gi') } }] },
    }));
    expect(r.body.status.qosClass).toBe('Burstable');
    const { qosClass: _q, ...status } = r.body.status;
    const u = await api.put('/api/v1/namespaces/default/pods/qos-init/status', { ...r.body, status: { ...status, phase: 'Running' } });
    expect(u.status, u.text).toBe(200);
    expect(u.body.status.qosClass).toBe('Burstable');
  });
});

describe('proxy subresources', () => {
  const base = '/api/v1/namespaces/default';

  it('pods/proxy passes method, path, query and body to the pod IP, never the user credentials', async () => {
    const r2 = await api.get(`${base}/pods/web:${backendPort}/proxy/some/path?x=1&y=a%20b`);
    expect(r2.status, r2.text).toBe(200);
    expect(r2.body).toMatchObject({ method: 'GET', url: '/some/path?x=1&y=a%20b', authorization: null, impersonate: null });
    expect(r2.headers.get('x-backend')).toBe('pod');
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const m = await fetch(`${srv.url}${base}/pods/http:web:${backendPort}/proxy/m`, { method, body: method === 'OPTIONS' ? undefined : `body-${method}`, headers: { 'Content-Type': 'text/plain' } });
      expect(m.status, method).toBe(200);
      expect(await m.json()).toMatchObject({ method, url: '/m', body: method === 'OPTIONS' ? '' : `body-${method}` });
    }
    const head = await fetch(`${srv.url}${base}/pods/web/proxy/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('pods/proxy takes the first container port, redirects an empty path to "/" and rewrites redirects to the pod', async () => {
    const r = await api.get(`${base}/pods/web/proxy/x`);
    expect(r.body).toMatchObject({ url: '/x' });
    const bare = await fetch(`${srv.url}${base}/pods/web/proxy?q=1`, { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe(`${base}/pods/web/proxy/?q=1`);
    const redirect = await fetch(`${srv.url}${base}/pods/web:${backendPort}/proxy/redirect`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe(`${base}/pods/web:${backendPort}/proxy/landing`);
  });

  it('refuses malformed ids and pods without a usable IP as kube does', async () => {
    const bad = await api.get(`${base}/pods/a:b:c:d/proxy/`);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe('invalid pod request "a:b:c:d"');
    expect((await api.get(`${base}/pods/ftp:web:80/proxy/`)).status).toBe(400);
    expect((await api.get(`${base}/pods/qos-best/proxy/`)).body.message).toBe('address not allowed');
    expect((await api.get(`${base}/pods/nope/proxy/`)).status).toBe(404);
  });

  it('services/proxy reaches a ready endpoint by port number or name, and only pods', async () => {
    for (const id of ['web:80', 'web:http', 'http:web:80']) {
      const r = await api.get(`${base}/services/${id}/proxy/svc?a=1`);
      expect(r.status, `${id}: ${r.text}`).toBe(200);
      expect(r.body).toMatchObject({ url: '/svc?a=1' });
    }
    const noPort = await api.get(`${base}/services/web:81/proxy/`);
    expect(noPort.status).toBe(503);
    expect(noPort.body.message).toBe('no service port 81 found for service "web"');
    expect((await api.get(`${base}/services/stray:80/proxy/`)).status).toBe(503);
  });

  it('nodes/proxy reaches the kubelet as the API server kubelet client', async () => {
    const r = await api.get('/api/v1/nodes/fake/proxy/healthz?verbose');
    expect(r.status, r.text).toBe(200);
    expect(r.text).toBe('kubelet ok');
    expect(kubeletSeen.at(-1)).toEqual({ url: '/healthz?verbose', cn: 'kube-apiserver-kubelet-client' });
    // Another port of a loopback node is refused, as kube refuses non-proxyable addresses.
    expect((await api.get('/api/v1/nodes/fake:1234/proxy/')).body.message).toBe('address not allowed');
  });

  it('authorizes the */proxy subresource with the request verb', async () => {
    const user = 'proxy-user';
    await api.post('/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'pods-proxy-get' }, rules: [{ apiGroups: [''], resources: ['pods/proxy'], verbs: ['get'] }] });
    await api.post('/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'pods-proxy-get' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pods-proxy-get' }, subjects: [{ kind: 'User', name: user }] });
    const conn = await srv.connectionFor(user);
    const dispatcher = tlsDispatcher({ ca: conn.ca!, cert: conn.cert!, key: conn.key! });
    const as = (method: string, path: string) => fetch(`${srv.url}${path}`, { method, dispatcher } as RequestInit);
    await expect.poll(async () => (await as('GET', `${base}/pods/web/proxy/`)).status, { timeout: 10_000 }).toBe(200);
    expect((await as('POST', `${base}/pods/web/proxy/`)).status).toBe(403);
    expect((await as('GET', `${base}/services/web/proxy/`)).status).toBe(403);
  });

  it('relays an upgrade through pods/proxy byte for byte', async () => {
    const { ca, cert, key } = srv.admin;
    const sock = tls.connect({ port: srv.port, host: '127.0.0.1', ca, cert, key });
    await new Promise((r) => sock.once('secureConnect', r));
    sock.write(`GET ${base}/pods/web/proxy/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
    let data = '';
    sock.on('data', (d) => { data += d; });
    await expect.poll(() => data, { timeout: 5000 }).toContain('101 Switching Protocols');
    sock.write('ping-through-proxy');
    await expect.poll(() => data, { timeout: 5000 }).toContain('ping-through-proxy');
    sock.destroy();
  });
});

// pods/log, pods/exec and pods/eviction against a stand-in kubelet on
// loopback: the API server must find the node's kubelet endpoint, reach it
// over TLS as its kubelet client (verifying the kubelet's certificate) and
// relay the stream (plain or upgraded) unchanged.

import https from 'node:https';
import type net from 'node:net';
import tls from 'node:tls';
import { issue } from '../../lib/pki.js';
import { testPKI } from '../util/pki.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { client, pod } from './helpers.js';

let srv: ApiServerProcess;
let api: ReturnType<typeof client>;
let kubelet: https.Server;
const seen: string[] = [];
const callers: string[] = [];

beforeAll(async () => {
  const pki = await testPKI();
  const serving = await issue(pki.ca, { cn: 'system:node:fake', sans: ['127.0.0.1'], usage: 'server' });
  kubelet = https.createServer({ ...serving, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    seen.push(req.url!);
    callers.push(String((req.socket as tls.TLSSocket).getPeerCertificate().subject?.CN));
    res.setHeader('Content-Type', 'text/plain');
    res.end('line 1\nline 2\n');
  });
  // An upgraded connection that echoes bytes back, as a stand-in for an exec stream.
  kubelet.on('upgrade', (req, socket: net.Socket) => {
    seen.push(req.url!);
    callers.push(String((socket as tls.TLSSocket).getPeerCertificate().subject?.CN));
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n');
    socket.pipe(socket);
  });
  await new Promise<void>((r) => kubelet.listen(0, '127.0.0.1', () => r()));
  srv = await startApiServer();
  api = client(srv.url);
  const port = (kubelet.address() as net.AddressInfo).port;
  const node = await api.post('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'fake' } });
  expect(node.status, node.text).toBe(201);
  const st = await api.put('/api/v1/nodes/fake/status', { ...node.body, status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: port } } } });
  expect(st.status, st.text).toBe(200);
  await api.post('/api/v1/namespaces/default/pods', { ...pod('p'), spec: { ...pod('p').spec, nodeName: 'fake' } });
});
afterAll(async () => {
  await srv?.stop();
  kubelet?.closeAllConnections();
  await new Promise((r) => kubelet?.close(r));
});

describe('kubelet proxies', () => {
  it('relays logs with their query', async () => {
    const r = await api.get('/api/v1/namespaces/default/pods/p/log?tailLines=2&timestamps=true');
    expect(r.status).toBe(200);
    expect(r.text).toBe('line 1\nline 2\n');
    expect(seen).toContain('/containerLogs/default/p/c?tailLines=2&timestamps=true');
    // As its own kubelet client, never as the user who asked.
    expect(callers).toEqual(['kube-apiserver-kubelet-client']);
    const bad = await api.get('/api/v1/namespaces/default/pods/p/log?container=nope');
    expect(bad.status).toBe(400);
  });

  it('pipes an upgraded exec connection both ways', async () => {
    const { ca, cert, key } = srv.admin;
    const sock = tls.connect({ port: srv.port, host: '127.0.0.1', ca, cert, key });
    await new Promise((r) => sock.once('secureConnect', r));
    sock.write('POST /api/v1/namespaces/default/pods/p/exec?command=sh&stdin=true&stdout=true HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n');
    let data = '';
    sock.on('data', (d) => { data += d; });
    await expect.poll(() => data, { timeout: 5000 }).toContain('101 Switching Protocols');
    sock.write('ping');
    await expect.poll(() => data, { timeout: 5000 }).toContain('ping');
    sock.destroy();
    expect(seen).toContain('/exec/default/p/c?command=sh&stdin=true&stdout=true');
  });

  it('evicts a pod gracefully', async () => {
    const r = await api.post('/api/v1/namespaces/default/pods/p/eviction', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'p' } });
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ kind: 'Status', status: 'Success' });
    const p = await api.get('/api/v1/namespaces/default/pods/p');
    expect(p.body.metadata.deletionTimestamp).toBeTruthy();
    expect(p.body.metadata.deletionGracePeriodSeconds).toBe(30);
  });
});

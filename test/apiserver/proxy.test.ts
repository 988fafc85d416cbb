// pods/log, pods/exec and pods/eviction against a stand-in kubelet on
// loopback: the API server must find the node's kubelet endpoint and relay
// the stream (plain or upgraded) unchanged.

import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { client, pod } from './helpers.js';

let srv: ApiServerProcess;
let api: ReturnType<typeof client>;
let kubelet: http.Server;
const seen: string[] = [];

beforeAll(async () => {
  kubelet = http.createServer((req, res) => {
    seen.push(req.url!);
    res.setHeader('Content-Type', 'text/plain');
    res.end('line 1\nline 2\n');
  });
  // An upgraded connection that echoes bytes back, as a stand-in for an exec stream.
  kubelet.on('upgrade', (req, socket: net.Socket) => {
    seen.push(req.url!);
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
    const bad = await api.get('/api/v1/namespaces/default/pods/p/log?container=nope');
    expect(bad.status).toBe(400);
  });

  it('pipes an upgraded exec connection both ways', async () => {
    const sock = net.connect((new URL(srv.url)).port as unknown as number, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
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

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import crypto from 'node:crypto';
import { createCA, issue, type KeyPair } from '../../lib/pki.js';
import { KubeletClient, tunneledProtocols } from './proxy.js';

let ca: KeyPair;
let kubeletServing: KeyPair;
let apiClient: KeyPair;
beforeAll(async () => {
  ca = await createCA('test-ca');
  kubeletServing = await issue(ca, { cn: 'system:node:n1', o: ['system:nodes'], sans: ['127.0.0.1', 'n1'], usage: 'server' });
  apiClient = await issue(ca, { cn: 'kube-apiserver-kubelet-client', usage: 'client' });
});

// A stand-in kubelet over TLS: answers the SPDY upgrade as configured, then upper-cases whatever it
// receives; records each request head and the client certificate's subject.
function fakeKubelet(answer: (head: string) => string, greeting = '', serving = kubeletServing) {
  const seen: string[] = [];
  const clients: (string | undefined)[] = [];
  const server = tls.createServer({ cert: serving.cert, key: serving.key, ca: ca.cert, requestCert: true, rejectUnauthorized: false }, (sock) => {
    clients.push(sock.authorized ? String(sock.getPeerCertificate().subject?.CN) : undefined);
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      const i = buf.indexOf('\r\n\r\n');
      if (i < 0) return;
      sock.off('data', onData);
      const head = buf.slice(0, i);
      seen.push(head);
      sock.write(answer(head) + greeting);
      sock.on('data', (x: Buffer) => sock.write(x.toString().toUpperCase()));
    };
    sock.on('data', onData);
  });
  return { server, seen, clients };
}

/**
 * A bare WebSocket client: ws (the library) refuses "SPDY/3.1+..." as a
 * subprotocol, kubectl's gorilla/websocket does not, so the test speaks the
 * handshake and small frames itself.
 */
async function rawWebSocket(port: number, path: string, protocol: string, extra: Record<string, string> = {}) {
  const key = crypto.randomBytes(16).toString('base64');
  const req = http.request({ host: '127.0.0.1', port, path, headers: {
    Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Protocol': protocol, ...extra,
  } });
  req.end();
  return new Promise<{ status: number; protocol?: string; messages: { opcode: number; data: string }[]; send(d: string): void; close(): void }>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => { res.resume(); resolve({ status: res.statusCode ?? 0, messages: [], send() {}, close() {} }); });
    req.on('upgrade', (res, socket, head) => {
      const messages: { opcode: number; data: string }[] = [];
      let buf = head;
      const parse = () => {
        while (buf.length >= 2) {
          const len = buf[1] & 0x7f; // the test only sends and expects small frames
          if (buf.length < 2 + len) return;
          messages.push({ opcode: buf[0] & 0x0f, data: buf.subarray(2, 2 + len).toString() });
          buf = buf.subarray(2 + len);
        }
      };
      parse();
      socket.on('data', (d: Buffer) => { buf = Buffer.concat([buf, d]); parse(); });
      resolve({
        status: res.statusCode ?? 0,
        protocol: res.headers['sec-websocket-protocol'] as string | undefined,
        messages,
        send(d: string) {
          const payload = Buffer.from(d);
          const mask = crypto.randomBytes(4);
          const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
          socket.write(Buffer.concat([Buffer.from([0x82, 0x80 | payload.length]), mask, masked]));
        },
        close() { socket.destroy(); },
      });
    });
  });
}

const listen = (s: net.Server) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as net.AddressInfo).port)));

describe('port-forward WebSocket tunnel', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => { while (cleanup.length) cleanup.pop()!(); });

  // The API server's side (plain HTTP here: only its connection to the kubelet is under test).
  async function front(kubeletPort: number, client = new KubeletClient({ ca: ca.cert, cert: apiClient.cert, key: apiClient.key })) {
    const api = http.createServer();
    const failures: string[] = [];
    api.on('upgrade', (req, socket, head) => {
      client.tunnelSpdy(req, socket as net.Socket, head, { host: '127.0.0.1', port: kubeletPort }, '/portForward/ns/p?x=1', tunneledProtocols(req))
        .catch((e: Error) => { failures.push(e.message); socket.destroy(); });
    });
    const port = await listen(api);
    cleanup.push(() => { api.closeAllConnections(); api.close(); client.close(); });
    return { port, failures };
  }

  it('asks the kubelet for SPDY and relays bytes both ways inside binary messages', async () => {
    const k = fakeKubelet(() => 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n', 'hello');
    const kport = await listen(k.server);
    cleanup.push(() => k.server.close());
    const { port, failures } = await front(kport);
    const ws = await rawWebSocket(port, '/api/v1/namespaces/ns/pods/p/portforward', 'SPDY/3.1+portforward.k8s.io', {
      Authorization: 'Bearer users-own-token', 'Impersonate-User': 'someone', Origin: 'https://127.0.0.1', Cookie: 'c=1', 'X-Request-Id': 'r1',
    });
    cleanup.push(() => ws.close());
    expect(ws.status).toBe(101);
    expect(ws.protocol).toBe('SPDY/3.1+portforward.k8s.io');
    ws.send('abc');
    await expect.poll(() => ws.messages.map((m) => m.data).join('')).toBe('helloABC');
    expect(ws.messages.every((m) => m.opcode === 2)).toBe(true);
    const head = k.seen[0];
    expect(head).toMatch(/^POST \/portForward\/ns\/p\?x=1 HTTP\/1\.1\r\n/);
    expect(head).toMatch(/\r\nUpgrade: SPDY\/3\.1(\r\n|$)/);
    expect(head).toMatch(/\r\nX-Stream-Protocol-Version: portforward\.k8s\.io(\r\n|$)/);
    expect(head.toLowerCase()).not.toContain('sec-websocket');
    // The kubelet sees the API server's certificate, not the user's credentials.
    expect(k.clients).toEqual(['kube-apiserver-kubelet-client']);
    expect(head).toMatch(/\r\nx-request-id: r1(\r\n|$)/);
    for (const h of ['authorization', 'impersonate-user', 'origin', 'cookie']) expect(head.toLowerCase()).not.toContain(`\r\n${h}:`);
  });

  it('refuses a kubelet whose certificate does not chain to --kubelet-certificate-authority', async () => {
    const other = await createCA('impostor-ca');
    const impostor = await issue(other, { cn: 'system:node:n1', sans: ['127.0.0.1'], usage: 'server' });
    const k = fakeKubelet(() => 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n', '', impostor);
    const kport = await listen(k.server);
    cleanup.push(() => k.server.close());
    const { port, failures } = await front(kport);
    const ws = await rawWebSocket(port, '/x', 'SPDY/3.1+portforward.k8s.io').catch(() => undefined);
    expect(ws?.status).not.toBe(101);
    await expect.poll(() => failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^error dialing backend: .*(self-signed|unable to (get|verify)|certificate)/i);
    expect(k.seen).toEqual([]);
  });

  it('refuses a kubelet whose certificate names another address', async () => {
    const wrongHost = await issue(ca, { cn: 'system:node:n2', sans: ['10.1.2.3', 'n2'], usage: 'server' });
    const k = fakeKubelet(() => 'HTTP/1.1 101 Switching Protocols\r\n\r\n', '', wrongHost);
    const kport = await listen(k.server);
    cleanup.push(() => k.server.close());
    const { port, failures } = await front(kport);
    await rawWebSocket(port, '/x', 'SPDY/3.1+portforward.k8s.io').catch(() => undefined);
    await expect.poll(() => failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^error dialing backend: .*IP: 127\.0\.0\.1 is not in the cert's list/);
    expect(k.seen).toEqual([]);
  });

  it('with no CA configured, trusts no kubelet at all', async () => {
    const k = fakeKubelet(() => 'HTTP/1.1 101 Switching Protocols\r\n\r\n');
    const kport = await listen(k.server);
    cleanup.push(() => k.server.close());
    const { port, failures } = await front(kport, new KubeletClient({ cert: apiClient.cert, key: apiClient.key }));
    await rawWebSocket(port, '/x', 'SPDY/3.1+portforward.k8s.io').catch(() => undefined);
    await expect.poll(() => failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^error dialing backend: /);
    expect(k.seen).toEqual([]);
  });

  it('passes a refused upgrade through as the kubelet answered it', async () => {
    const body = '{"kind":"Status","code":400}';
    const k = fakeKubelet(() => `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    const kport = await listen(k.server);
    cleanup.push(() => k.server.close());
    const { port, failures } = await front(kport);
    const ws = await rawWebSocket(port, '/x', 'SPDY/3.1+portforward.k8s.io');
    cleanup.push(() => ws.close());
    const status = ws.status;
    expect(status).toBe(400);
  });

  it('only tunnels WebSocket upgrades offering a SPDY/3.1+*.k8s.io protocol', () => {
    const req = (h: Record<string, string>) => ({ headers: h }) as unknown as http.IncomingMessage;
    expect(tunneledProtocols(req({ upgrade: 'websocket', 'sec-websocket-protocol': 'SPDY/3.1+portforward.k8s.io, v4.channel.k8s.io' }))).toEqual(['portforward.k8s.io']);
    expect(tunneledProtocols(req({ upgrade: 'SPDY/3.1', 'sec-websocket-protocol': 'SPDY/3.1+portforward.k8s.io' }))).toEqual([]);
    expect(tunneledProtocols(req({ upgrade: 'websocket', 'sec-websocket-protocol': 'v5.channel.k8s.io' }))).toEqual([]);
  });
});

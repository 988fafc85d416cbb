import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import crypto from 'node:crypto';
import { tunnelSpdy, tunneledProtocols } from './proxy.js';

// A stand-in kubelet: answers the SPDY upgrade as configured, then upper-cases whatever it receives.
function fakeKubelet(answer: (head: string) => string, greeting = '') {
  const seen: string[] = [];
  const server = net.createServer((sock) => {
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
  return { server, seen };
}

/**
 * A bare WebSocket client: ws (the library) refuses "SPDY/3.1+..." as a
 * subprotocol, kubectl's gorilla/websocket does not, so the test speaks the
 * handshake and small frames itself.
 */
async function rawWebSocket(port: number, path: string, protocol: string) {
  const key = crypto.randomBytes(16).toString('base64');
  const req = http.request({ host: '127.0.0.1', port, path, headers: {
    Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Protocol': protocol,
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

  async function front(kubeletPort: number) {
    const api = http.createServer();
    api.on('upgrade', (req, socket, head) => {
      tunnelSpdy(req, socket as net.Socket, head, { host: '127.0.0.1', port: kubeletPort }, '/portForward/ns/p?x=1', tunneledProtocols(req))
        .catch(() => socket.destroy());
    });
    const port = await listen(api);
    cleanup.push(() => { api.closeAllConnections(); api.close(); });
    return port;
  }

  it('asks the kubelet for SPDY and relays bytes both ways inside binary messages', async () => {
    const k = fakeKubelet(() => 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n', 'hello');
    const kport = await listen(k.server);
    cleanup.push(() => k.server.close());
    const port = await front(kport);
    const ws = await rawWebSocket(port, '/api/v1/namespaces/ns/pods/p/portforward', 'SPDY/3.1+portforward.k8s.io');
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
  });

  it('passes a refused upgrade through as the kubelet answered it', async () => {
    const body = '{"kind":"Status","code":400}';
    const k = fakeKubelet(() => `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    const kport = await listen(k.server);
    cleanup.push(() => k.server.close());
    const port = await front(kport);
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

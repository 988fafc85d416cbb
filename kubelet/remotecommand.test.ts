import { describe, expect, it } from 'vitest';
import type http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import { negotiate, serveRemoteCommandSpdy, type ChannelSocket } from './remotecommand.js';
import { controlFrame, dataFrame, encodeHeaderBlock, FrameType, SPDY_DICTIONARY } from './spdy.js';

const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b; };

async function until<T>(fn: () => T | undefined, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The client half: kubectl's spdystream, as far as a test needs it. */
async function connect(protocols: string[], query: string, session: (ch: ChannelSocket) => void) {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const sock = await accepted;
  server.close();
  const rawHeaders = ['Upgrade', 'SPDY/3.1', 'Connection', 'Upgrade', ...protocols.flatMap((p) => ['X-Stream-Protocol-Version', p])];
  const req = { url: `/exec/ns/p/c?${query}`, headers: { upgrade: 'SPDY/3.1' }, rawHeaders } as unknown as http.IncomingMessage;
  let raw = Buffer.alloc(0);
  const frames: { control: boolean; type: number; flags: number; id: number; payload: Buffer }[] = [];
  let head: string | undefined;
  client.on('data', (d: Buffer) => {
    raw = Buffer.concat([raw, d]);
    if (head === undefined) {
      const i = raw.indexOf('\r\n\r\n');
      if (i < 0) return;
      head = raw.subarray(0, i).toString();
      raw = raw.subarray(i + 4);
    }
    while (raw.length >= 8 && raw.length >= 8 + (raw.readUInt32BE(4) & 0xffffff)) {
      const len = raw.readUInt32BE(4) & 0xffffff;
      const control = !!(raw[0] & 0x80);
      frames.push({ control, type: control ? raw.readUInt16BE(2) : 0, flags: raw[4], id: control ? raw.readUInt32BE(8) & 0x7fffffff : raw.readUInt32BE(0), payload: raw.subarray(8, 8 + len) });
      raw = raw.subarray(8 + len);
    }
  });
  const closed = new Promise<void>((r) => client.on('close', () => r()));
  serveRemoteCommandSpdy(req, sock, Buffer.alloc(0), new URLSearchParams(query), session);
  const deflate = zlib.createDeflate({ dictionary: SPDY_DICTIONARY });
  const compress = (block: Buffer) => new Promise<Buffer>((resolve) => {
    deflate.write(block);
    deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      const out: Buffer[] = [];
      let c: Buffer | null;
      while ((c = deflate.read() as Buffer | null) !== null) out.push(c);
      resolve(Buffer.concat(out));
    });
  });
  let nextId = 1;
  const ids = new Map<string, number>();
  const open = async (streamtype: string) => {
    const id = nextId;
    nextId += 2;
    ids.set(streamtype, id);
    const block = await compress(encodeHeaderBlock({ streamtype }));
    client.write(controlFrame(FrameType.SYN_STREAM, 0, Buffer.concat([u32(id), u32(0), Buffer.from([0, 0]), block])));
  };
  /** What the server sent on a stream, and whether it has FINished it. */
  const received = (streamtype: string) => {
    const id = ids.get(streamtype);
    const fs = frames.filter((f) => !f.control && f.id === id);
    return { data: Buffer.concat(fs.map((f) => f.payload)).toString(), fin: fs.some((f) => f.flags & 1) };
  };
  return { client, head: () => head, frames, open, received, ids, closed };
}

describe('kubelet remotecommand over SPDY/3.1', () => {
  it('negotiates in the client\'s order among v4, v3, v2 and v1', () => {
    expect(negotiate(['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io'])).toBe('v4.channel.k8s.io');
    expect(negotiate(['v2.channel.k8s.io', 'v4.channel.k8s.io'])).toBe('v2.channel.k8s.io');
    expect(negotiate(['v5.channel.k8s.io'])).toBeUndefined();
  });

  it('v4: starts the session once every stream asked for is open; stdin in and closed, stdout, stderr and the Status out, then FINs and GOAWAY', async () => {
    const got: Buffer[] = [];
    let sessions = 0;
    const c = await connect(['v5.channel.k8s.io', 'v4.channel.k8s.io', 'channel.k8s.io'], 'command=sh&stdin=1&stdout=1&stderr=1', (ch) => {
      sessions++;
      ch.on('message', (d) => {
        got.push(d);
        if (d[0] === 255) {
          ch.send(Buffer.concat([Buffer.from([1]), Buffer.from('out')]));
          ch.send(Buffer.concat([Buffer.from([2]), Buffer.from('err')]));
          ch.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } }))]));
          ch.close();
        }
      });
    });
    await c.open('error');
    await c.open('stdin');
    await c.open('stdout');
    await until(() => c.head());
    expect(c.head()).toContain('HTTP/1.1 101 Switching Protocols');
    expect(c.head()).toContain('X-Stream-Protocol-Version: v4.channel.k8s.io');
    await new Promise((r) => setTimeout(r, 50));
    // stderr is still missing: no session yet.
    expect(sessions).toBe(0);
    await c.open('stderr');
    await until(() => (sessions === 1 ? true : undefined));
    c.client.write(dataFrame(c.ids.get('stdin')!, 0, Buffer.from('typed')));
    c.client.write(dataFrame(c.ids.get('stdin')!, 1, Buffer.alloc(0)));
    await c.closed;
    expect(got.map((d) => [d[0], d.subarray(1).toString('latin1')])).toEqual([[0, 'typed'], [255, '\0']]);
    expect(c.received('stdout')).toEqual({ data: 'out', fin: true });
    expect(c.received('stderr')).toEqual({ data: 'err', fin: true });
    const status = c.received('error');
    expect(status.fin).toBe(true);
    expect(JSON.parse(status.data)).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode' });
    expect(c.frames.filter((f) => f.control && f.type === FrameType.SYN_REPLY)).toHaveLength(4);
    expect(c.frames.some((f) => f.control && f.type === FrameType.GOAWAY)).toBe(true);
  });

  it('v3 with a tty: waits for the resize stream and hands each size over as a resize frame', async () => {
    const got: string[] = [];
    const c = await connect(['v3.channel.k8s.io'], 'command=sh&stdout=1&tty=1&stderr=1', (ch) => {
      ch.on('message', (d) => {
        got.push(`${d[0]}:${d.subarray(1)}`);
        if (got.length === 2) ch.close();
      });
    });
    await c.open('error');
    await c.open('stdout');
    await c.open('resize');
    await until(() => c.head());
    c.client.write(dataFrame(c.ids.get('resize')!, 0, Buffer.from('{"Width":80,"Height":24}\n{"Width":1')));
    c.client.write(dataFrame(c.ids.get('resize')!, 0, Buffer.from('00,"Height":30}\n')));
    await c.closed;
    expect(got).toEqual(['4:{"Width":80,"Height":24}', '4:{"Width":100,"Height":30}']);
  });

  it('v2: a failure is its message as text on the error stream, a success nothing', async () => {
    for (const [status, want] of [[{ status: 'Failure', message: 'command terminated with non-zero exit code: exit code 2' }, 'command terminated with non-zero exit code: exit code 2'], [{ status: 'Success' }, '']] as const) {
      const c = await connect(['v2.channel.k8s.io'], 'command=false&stdout=1', (ch) => {
        ch.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(status))]));
        ch.close();
      });
      await c.open('error');
      await c.open('stdout');
      await c.closed;
      expect(c.received('error')).toEqual({ data: want, fin: true });
    }
  });

  it('refuses a client with no protocol in common, and a request for no stream at all', async () => {
    const none = await connect(['v5.channel.k8s.io'], 'command=sh&stdout=1', () => { throw new Error('no session expected'); });
    await none.closed;
    expect(none.head()).toMatch(/^HTTP\/1.1 403 Forbidden/);
    const empty = await connect(['v4.channel.k8s.io'], 'command=sh', () => { throw new Error('no session expected'); });
    await empty.closed;
    expect(empty.head()).toMatch(/^HTTP\/1.1 400 Bad Request/);
  });
});

import { describe, expect, it } from 'vitest';
import net from 'node:net';
import zlib from 'node:zlib';
import { adler32, controlFrame, dataFrame, decodeHeaderBlock, encodeHeaderBlock, FrameType, HeaderCompressor, HeaderDecompressor, SPDY_DICTIONARY, SpdyConnection, type SpdyStream } from './spdy.js';

/** A real zlib deflater with the SPDY dictionary, flushed per block as Go's framer does. */
function clientCompressor() {
  const d = zlib.createDeflate({ dictionary: SPDY_DICTIONARY, level: 9 });
  return (block: Buffer) => new Promise<Buffer>((resolve) => {
    d.write(block);
    d.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      const out: Buffer[] = [];
      let c: Buffer | null;
      while ((c = d.read() as Buffer | null) !== null) out.push(c);
      resolve(Buffer.concat(out));
    });
  });
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}

/** Reads frames the server writes; header blocks inflated with one shared context. */
function frameReader(sock: net.Socket) {
  let buf = Buffer.alloc(0);
  const frames: { control: boolean; type: number; flags: number; id: number; payload: Buffer }[] = [];
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 8 && buf.length >= 8 + (buf.readUInt32BE(4) & 0xffffff)) {
      const len = buf.readUInt32BE(4) & 0xffffff;
      const control = !!(buf[0] & 0x80);
      frames.push({ control, type: control ? buf.readUInt16BE(2) : 0, flags: buf[4], id: control ? buf.readUInt32BE(8) & 0x7fffffff : buf.readUInt32BE(0), payload: buf.subarray(8, 8 + len) });
      buf = buf.subarray(8 + len);
    }
  });
  return frames;
}

async function until<T>(fn: () => T | undefined, ms = 2000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('SPDY/3.1 header compression', () => {
  it('has the draft dictionary (its Adler-32 is what peers put in the zlib header)', () => {
    expect(SPDY_DICTIONARY.length).toBe(1423);
    expect(adler32(SPDY_DICTIONARY)).toBe(0xe3c6a7c2);
    expect(SPDY_DICTIONARY.subarray(0, 11).toString('latin1')).toBe('\0\0\0\x07options');
  });

  it('writes blocks a real inflater with the dictionary reads one after another', async () => {
    const c = new HeaderCompressor();
    const blocks = [encodeHeaderBlock({}), encodeHeaderBlock({ streamtype: 'data', port: '8080' }), encodeHeaderBlock({ big: 'y'.repeat(70_000) })];
    const wire = blocks.map((b) => c.compress(b));
    // One inflate context over the concatenation, as the peer reads them.
    const out = zlib.inflateSync(Buffer.concat(wire), { dictionary: SPDY_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    expect(out.equals(Buffer.concat(blocks))).toBe(true);
    // Every block ends with the sync-flush marker so a frame-by-frame reader can hand out its bytes.
    for (const w of wire) expect(w.subarray(-5).equals(Buffer.from([0, 0, 0, 0xff, 0xff]))).toBe(true);
  });

  it('reads blocks from a real deflater across frames with one context', async () => {
    const compress = clientCompressor();
    const d = new HeaderDecompressor();
    const headers: Record<string, string | string[]>[] = [{ streamtype: 'error', port: '80', requestid: '0' }, { streamtype: 'data', port: '80', requestid: '0' }, { a: ['1', '2'] }];
    for (const h of headers) {
      const got = decodeHeaderBlock(await d.decompress(await compress(encodeHeaderBlock(h))));
      expect(Object.fromEntries([...got].map(([k, v]) => [k, v.length > 1 ? v : v[0]]))).toEqual(h);
    }
    d.close();
  });

  it('refuses header names that are not lowercase, as Go\'s framer does', () => {
    const b = Buffer.concat([u32(1), u32(4), Buffer.from('Port'), u32(2), Buffer.from('80')]);
    expect(() => decodeHeaderBlock(b)).toThrow(/lowercased/);
  });
});

describe('SpdyConnection', () => {
  async function pair() {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const sock = await accepted;
    server.close();
    const conn = new SpdyConnection(sock);
    const streams: SpdyStream[] = [];
    conn.on('stream', (s) => streams.push(s));
    const compress = clientCompressor();
    const syn = async (id: number, headers: Record<string, string>, flags = 0) => {
      const block = await compress(encodeHeaderBlock(headers));
      client.write(controlFrame(FrameType.SYN_STREAM, flags, Buffer.concat([u32(id), u32(0), Buffer.from([0, 0]), block])));
    };
    return { client, sock, conn, streams, syn, frames: frameReader(client) };
  }

  it('hands out streams with their headers, replies, carries data both ways and half-closes with FIN', async () => {
    const { client, conn, streams, syn, frames } = await pair();
    await syn(1, { streamtype: 'error', port: '80', requestid: '7' });
    await syn(3, { streamtype: 'data', port: '80', requestid: '7' });
    await until(() => (streams.length === 2 ? true : undefined));
    expect(streams.map((s) => [s.id, s.header('streamtype'), s.header('requestid')])).toEqual([[1, 'error', '7'], [3, 'data', '7']]);
    for (const s of streams) s.reply();
    const data = streams[1];
    let got = '';
    data.on('data', (d: Buffer) => (got += d));
    const ended = new Promise((r) => data.on('end', r));
    client.write(dataFrame(3, 0, Buffer.from('hello ')));
    client.write(dataFrame(3, 1, Buffer.from('world')));
    await ended;
    expect(got).toBe('hello world');
    data.write(Buffer.alloc(200_000, 'z'));
    data.end();
    await until(() => (frames.some((f) => !f.control && f.id === 3 && f.flags & 1) ? true : undefined));
    const replies = frames.filter((f) => f.control && f.type === FrameType.SYN_REPLY).map((f) => f.id);
    expect(replies).toEqual([1, 3]);
    const body = frames.filter((f) => !f.control && f.id === 3);
    expect(body.reduce((n, f) => n + f.payload.length, 0)).toBe(200_000);
    expect(body.every((f) => f.payload.length <= 1 << 16)).toBe(true);
    // Both sides have sent FIN: the stream is gone from the session.
    expect(conn.openStreams).toBe(1);
    client.destroy();
  });

  it('answers pings, ends streams the peer resets and closes on GOAWAY', async () => {
    const { client, conn, streams, syn, frames } = await pair();
    client.write(controlFrame(FrameType.PING, 0, u32(1)));
    await until(() => frames.find((f) => f.control && f.type === FrameType.PING));
    await syn(1, { streamtype: 'data', port: '1' });
    await until(() => streams[0]);
    const closed = new Promise((r) => streams[0].on('close', r));
    client.write(controlFrame(FrameType.RST_STREAM, 0, Buffer.concat([u32(1), u32(5)])));
    await closed;
    expect(conn.openStreams).toBe(0);
    const gone = new Promise<void>((r) => conn.on('close', () => r()));
    client.write(controlFrame(FrameType.GOAWAY, 0, Buffer.concat([u32(0), u32(0)])));
    await gone;
    client.destroy();
  });

  it('stops reading the connection while a stream\'s reader lags, and resumes when it reads', async () => {
    const { client, sock, streams, syn } = await pair();
    await syn(1, { streamtype: 'data', port: '1' });
    await until(() => streams[0]);
    streams[0].reply();
    const chunk = Buffer.alloc(60_000, 'q');
    for (let i = 0; i < 80; i++) client.write(dataFrame(1, i === 79 ? 1 : 0, chunk));
    await until(() => (sock.isPaused() ? true : undefined));
    let total = 0;
    streams[0].on('data', (d: Buffer) => (total += d.length));
    await new Promise((r) => streams[0].on('end', r));
    expect(total).toBe(80 * 60_000);
    expect(sock.isPaused()).toBe(false);
    client.destroy();
  });

  it('still delivers what came before a RST_STREAM, then ends the stream', async () => {
    // kubectl resets its data stream as soon as its side is done; the bytes before it must reach the pod.
    const { client, streams, syn } = await pair();
    await syn(1, { streamtype: 'data', port: '1' });
    await until(() => streams[0]);
    streams[0].reply();
    // One write, so the RST is read together with the data while the reader has not started yet.
    client.write(Buffer.concat([dataFrame(1, 0, Buffer.alloc(20_000, 'a')), dataFrame(1, 1, Buffer.alloc(20_000, 'b')), controlFrame(FrameType.RST_STREAM, 0, Buffer.concat([u32(1), u32(5)]))]));
    await new Promise((r) => setTimeout(r, 100));
    let total = 0;
    streams[0].on('data', (d: Buffer) => (total += d.length));
    await new Promise((r) => streams[0].on('close', r));
    expect(total).toBe(40_000);
    client.destroy();
  });

  it('resets a stream whose ID a client may not use', async () => {
    const { client, streams, syn, frames } = await pair();
    await syn(2, { streamtype: 'data', port: '1' });
    const rst = await until(() => frames.find((f) => f.control && f.type === FrameType.RST_STREAM));
    expect(rst.id).toBe(2);
    expect(rst.payload.readUInt32BE(4)).toBe(1);
    expect(streams).toHaveLength(0);
    client.destroy();
  });
});

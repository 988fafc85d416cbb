// The server side of SPDY/3.1 as Kubernetes streams use it (moby/spdystream
// on the client): the client opens streams with SYN_STREAM and headers such
// as streamtype/port/requestid, the server answers each with SYN_REPLY, and
// both ends send DATA, half-close with FIN and abort with RST_STREAM. There
// is no HTTP inside the streams, which is why the HTTP-shaped npm SPDY
// packages (spdy, spdy-transport, unmaintained since 2018) do not fit.
//
// Header blocks are zlib-compressed with one context per direction for the
// whole connection, primed with the dictionary of the SPDY/3 draft
// (section 2.6.10.1). Outgoing blocks are written as stored (uncompressed)
// deflate blocks: valid for any inflater, and synchronous.

import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { logger } from '../lib/log.js';

const log = logger('kubelet-spdy');

/** The SPDY/3 header compression dictionary, 1423 bytes. */
export const SPDY_DICTIONARY = Buffer.from('AAAAB29wdGlvbnMAAAAEaGVhZAAAAARwb3N0AAAAA3B1dAAAAAZkZWxldGUAAAAFdHJhY2UAAAAGYWNjZXB0AAAADmFjY2VwdC1jaGFyc2V0AAAAD2FjY2VwdC1lbmNvZGluZwAAAA9hY2NlcHQtbGFuZ3VhZ2UAAAANYWNjZXB0LXJhbmdlcwAAAANhZ2UAAAAFYWxsb3cAAAANYXV0aG9yaXphdGlvbgAAAA1jYWNoZS1jb250cm9sAAAACmNvbm5lY3Rpb24AAAAMY29udGVudC1iYXNlAAAAEGNvbnRlbnQtZW5jb2RpbmcAAAAQY29udGVudC1sYW5ndWFnZQAAAA5jb250ZW50LWxlbmd0aAAAABBjb250ZW50LWxvY2F0aW9uAAAAC2NvbnRlbnQtbWQ1AAAADWNvbnRlbnQtcmFuZ2UAAAAMY29udGVudC10eXBlAAAABGRhdGUAAAAEZXRhZwAAAAZleHBlY3QAAAAHZXhwaXJlcwAAAARmcm9tAAAABGhvc3QAAAAIaWYtbWF0Y2gAAAARaWYtbW9kaWZpZWQtc2luY2UAAAANaWYtbm9uZS1tYXRjaAAAAAhpZi1yYW5nZQAAABNpZi11bm1vZGlmaWVkLXNpbmNlAAAADWxhc3QtbW9kaWZpZWQAAAAIbG9jYXRpb24AAAAMbWF4LWZvcndhcmRzAAAABnByYWdtYQAAABJwcm94eS1hdXRoZW50aWNhdGUAAAATcHJveHktYXV0aG9yaXphdGlvbgAAAAVyYW5nZQAAAAdyZWZlcmVyAAAAC3JldHJ5LWFmdGVyAAAABnNlcnZlcgAAAAJ0ZQAAAAd0cmFpbGVyAAAAEXRyYW5zZmVyLWVuY29kaW5nAAAAB3VwZ3JhZGUAAAAKdXNlci1hZ2VudAAAAAR2YXJ5AAAAA3ZpYQAAAAd3YXJuaW5nAAAAEHd3dy1hdXRoZW50aWNhdGUAAAAGbWV0aG9kAAAAA2dldAAAAAZzdGF0dXMAAAAGMjAwIE9LAAAAB3ZlcnNpb24AAAAISFRUUC8xLjEAAAADdXJsAAAABnB1YmxpYwAAAApzZXQtY29va2llAAAACmtlZXAtYWxpdmUAAAAGb3JpZ2luMTAwMTAxMjAxMjAyMjA1MjA2MzAwMzAyMzAzMzA0MzA1MzA2MzA3NDAyNDA1NDA2NDA3NDA4NDA5NDEwNDExNDEyNDEzNDE0NDE1NDE2NDE3NTAyNTA0NTA1MjAzIE5vbi1BdXRob3JpdGF0aXZlIEluZm9ybWF0aW9uMjA0IE5vIENvbnRlbnQzMDEgTW92ZWQgUGVybWFuZW50bHk0MDAgQmFkIFJlcXVlc3Q0MDEgVW5hdXRob3JpemVkNDAzIEZvcmJpZGRlbjQwNCBOb3QgRm91bmQ1MDAgSW50ZXJuYWwgU2VydmVyIEVycm9yNTAxIE5vdCBJbXBsZW1lbnRlZDUwMyBTZXJ2aWNlIFVuYXZhaWxhYmxlSmFuIEZlYiBNYXIgQXByIE1heSBKdW4gSnVsIEF1ZyBTZXB0IE9jdCBOb3YgRGVjIDAwOjAwOjAwIE1vbiwgVHVlLCBXZWQsIFRodSwgRnJpLCBTYXQsIFN1biwgR01UY2h1bmtlZCx0ZXh0L2h0bWwsaW1hZ2UvcG5nLGltYWdlL2pwZyxpbWFnZS9naWYsYXBwbGljYXRpb24veG1sLGFwcGxpY2F0aW9uL3hodG1sK3htbCx0ZXh0L3BsYWluLHRleHQvamF2YXNjcmlwdCxwdWJsaWNwcml2YXRlbWF4LWFnZT1nemlwLGRlZmxhdGUsc2RjaGNoYXJzZXQ9dXRmLThjaGFyc2V0PWlzby04ODU5LTEsdXRmLSwqLGVucT0wLg==', 'base64');

export const FrameType = { SYN_STREAM: 1, SYN_REPLY: 2, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, HEADERS: 8, WINDOW_UPDATE: 9 } as const;
export const RstStatus = { PROTOCOL_ERROR: 1, INVALID_STREAM: 2, REFUSED_STREAM: 3, CANCEL: 5, INTERNAL_ERROR: 6, STREAM_ALREADY_CLOSED: 9 } as const;
const FLAG_FIN = 0x01;
const VERSION = 3;
/** Go's spdy framer refuses larger frames; DATA is split to this size. */
const MAX_DATA = 1 << 16;

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8000 | VERSION, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(((flags & 0xff) << 24 | payload.length) >>> 0, 4);
  return Buffer.concat([h, payload]);
}

export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h.writeUInt32BE(((flags & 0xff) << 24 | data.length) >>> 0, 4);
  return Buffer.concat([h, data]);
}

/** The uncompressed name/value block: lowercase names, multiple values joined by NUL. */
export function encodeHeaderBlock(headers: Record<string, string | string[]>): Buffer {
  const parts: Buffer[] = [];
  const n = Buffer.alloc(4);
  const entries = Object.entries(headers);
  n.writeUInt32BE(entries.length);
  parts.push(n);
  for (const [k, v] of entries) {
    const name = Buffer.from(k.toLowerCase());
    const value = Buffer.from(Array.isArray(v) ? v.join('\0') : v);
    const ln = Buffer.alloc(4);
    ln.writeUInt32BE(name.length);
    const lv = Buffer.alloc(4);
    lv.writeUInt32BE(value.length);
    parts.push(ln, name, lv, value);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(b: Buffer): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let off = 0;
  const u32 = () => {
    if (off + 4 > b.length) throw new Error('truncated header block');
    const v = b.readUInt32BE(off);
    off += 4;
    return v;
  };
  const bytes = (len: number) => {
    if (off + len > b.length) throw new Error('truncated header block');
    const s = b.subarray(off, off + len).toString();
    off += len;
    return s;
  };
  const count = u32();
  for (let i = 0; i < count; i++) {
    const name = bytes(u32());
    if (name !== name.toLowerCase()) throw new Error('header was not lowercased');
    if (out.has(name)) throw new Error('multiple headers with same name');
    out.set(name, bytes(u32()).split('\0'));
  }
  return out;
}

/**
 * The compressing side of a header context. Stored blocks need no real
 * compression state; the stream header names the dictionary (by its
 * Adler-32) because the peer's inflater expects it to.
 */
export class HeaderCompressor {
  private started = false;

  compress(block: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.started) {
      this.started = true;
      const dictId = Buffer.alloc(4);
      dictId.writeUInt32BE(adler32(SPDY_DICTIONARY));
      // CMF 0x78 (deflate, 32K window), FLG 0xbb (FDICT set, check bits valid).
      parts.push(Buffer.from([0x78, 0xbb]), dictId);
    }
    for (let off = 0; off < block.length; off += 0xffff) {
      const chunk = block.subarray(off, off + 0xffff);
      const h = Buffer.alloc(5);
      h[0] = 0; // BFINAL 0, BTYPE 00 (stored); the rest of the byte is padding.
      h.writeUInt16LE(chunk.length, 1);
      h.writeUInt16LE(~chunk.length & 0xffff, 3);
      parts.push(h, chunk);
    }
    // An empty stored block, as Z_SYNC_FLUSH ends with: Go's inflater hands out
    // a stored block's bytes only when it reaches the next block, and must find
    // that block inside this frame.
    parts.push(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]));
    return Buffer.concat(parts);
  }
}

/** The decompressing side: one inflater for the connection, fed block by block. */
export class HeaderDecompressor {
  private readonly inflate = zlib.createInflate({ dictionary: SPDY_DICTIONARY, readableHighWaterMark: 1 << 20 } as zlib.ZlibOptions);
  private failed?: Error;

  constructor() {
    this.inflate.on('error', (e) => { this.failed = e; });
  }

  decompress(block: Buffer): Promise<Buffer> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.inflate.once('error', onError);
      this.inflate.write(block);
      // Output of everything written is pushed before the flush completes; paused mode keeps it buffered for read().
      this.inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.inflate.off('error', onError);
        if (this.failed) return reject(this.failed);
        const out: Buffer[] = [];
        let c: Buffer | null;
        while ((c = this.inflate.read() as Buffer | null) !== null) out.push(c);
        resolve(Buffer.concat(out));
      });
    });
  }

  close(): void {
    this.inflate.destroy();
  }
}

export function adler32(b: Buffer): number {
  let a = 1;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    a = (a + b[i]) % 65521;
    s = (s + a) % 65521;
  }
  return ((s << 16) | a) >>> 0;
}

/** One stream: readable is what the peer sends, writable what we send; end() sends FIN. */
export class SpdyStream extends Duplex {
  remoteFin = false;
  localFin = false;
  private resetDone = false;

  constructor(private readonly conn: SpdyConnection, readonly id: number, readonly headers: Map<string, string[]>) {
    super({ allowHalfOpen: true });
  }

  header(name: string): string | undefined {
    return this.headers.get(name.toLowerCase())?.[0];
  }

  /** SYN_REPLY: the client's CreateStream waits for it. */
  reply(headers: Record<string, string> = {}): void {
    this.conn.send(controlFrame(FrameType.SYN_REPLY, 0, Buffer.concat([u32(this.id), this.conn.compressHeaders(headers)])));
  }

  /** RST_STREAM: abort both directions. */
  reset(status: number = RstStatus.CANCEL): void {
    if (this.resetDone) return;
    this.resetDone = true;
    this.conn.send(controlFrame(FrameType.RST_STREAM, 0, Buffer.concat([u32(this.id), u32(status)])));
    this.conn.forget(this.id);
    this.destroy();
  }

  /** The peer aborted the stream. */
  /**
   * The peer aborted the stream. What it sent before the RST is still
   * delivered (spdystream hands every frame to the reader in order), then
   * the reader sees the end; nothing more is sent.
   */
  onReset(): void {
    this.resetDone = true;
    this.conn.forget(this.id);
    if (!this.remoteFin) {
      this.remoteFin = true;
      this.push(null);
    }
    if (this.readableEnded || this.readableLength === 0) this.destroy();
    else this.once('end', () => this.destroy());
  }

  onData(data: Buffer, fin: boolean): void {
    // A reader that falls behind stalls the whole connection, as spdystream's blocking frame handler does.
    if (data.length && !this.remoteFin && !this.push(data)) this.conn.hold(this.id);
    if (fin && !this.remoteFin) {
      this.remoteFin = true;
      this.push(null);
      this.maybeDone();
    }
  }

  private maybeDone(): void {
    if (this.remoteFin && this.localFin) this.conn.forget(this.id);
  }

  override _read(): void {
    // SPDY windows are not used (spdystream ignores them); TCP back-pressure is what slows the peer.
    this.conn.release(this.id);
  }

  override _destroy(e: Error | null, cb: (e?: Error | null) => void): void {
    this.conn.release(this.id);
    cb(e);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.resetDone) return cb(new Error('stream reset'));
    for (let off = 0; off < chunk.length; off += MAX_DATA) this.conn.send(dataFrame(this.id, 0, chunk.subarray(off, off + MAX_DATA)));
    this.conn.whenDrained(cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    if (!this.resetDone) this.conn.send(dataFrame(this.id, FLAG_FIN, Buffer.alloc(0)));
    this.localFin = true;
    this.maybeDone();
    cb();
  }
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

export interface SpdyConnectionEvents {
  stream: [SpdyStream];
  close: [];
}

/**
 * A server-side SPDY/3.1 session on an upgraded socket. Emits 'stream' for
 * each SYN_STREAM (the handler replies or resets), answers PINGs, and
 * closes on GOAWAY or when the socket ends.
 */
export class SpdyConnection extends EventEmitter<SpdyConnectionEvents> {
  private buf: Buffer = Buffer.alloc(0);
  private readonly streams = new Map<number, SpdyStream>();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  /** Frames are handled one at a time: a header block's inflation is asynchronous. */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private lastStreamId = 0;

  constructor(private readonly socket: Duplex, head?: Buffer) {
    super();
    socket.on('data', (d: Buffer) => this.onBytes(d));
    socket.on('end', () => this.close());
    socket.on('close', () => this.close());
    socket.on('error', () => this.close());
    if (head?.length) this.onBytes(head);
  }

  get openStreams(): number {
    return this.streams.size;
  }

  compressHeaders(h: Record<string, string>): Buffer {
    return this.compressor.compress(encodeHeaderBlock(h));
  }

  send(frame: Buffer): void {
    if (!this.closed && this.socket.writable) this.socket.write(frame);
  }

  whenDrained(cb: () => void): void {
    const s = this.socket as Duplex & { writableNeedDrain?: boolean };
    if (this.closed || !s.writableNeedDrain) return cb();
    const done = () => {
      s.off('drain', done);
      s.off('close', done);
      cb();
    };
    s.on('drain', done);
    s.on('close', done);
  }

  forget(id: number): void {
    this.streams.delete(id);
  }

  private readonly held = new Set<number>();

  /** Stop reading the socket until the stream's reader catches up. */
  hold(id: number): void {
    this.held.add(id);
    this.socket.pause();
  }

  release(id: number): void {
    if (this.held.delete(id) && this.held.size === 0 && !this.closed) this.socket.resume();
  }

  /** GOAWAY, then the socket closes once written. */
  goAway(status = 0): void {
    if (this.closed) return;
    this.send(controlFrame(FrameType.GOAWAY, 0, Buffer.concat([u32(this.lastStreamId), u32(status)])));
    this.socket.end();
    this.close();
  }

  close(): void {
    if (this.closed) return;
    log.debug('SPDY connection closed', { streams: this.streams.size });
    this.closed = true;
    for (const s of this.streams.values()) s.destroy();
    this.streams.clear();
    this.decompressor.close();
    this.socket.destroy();
    this.emit('close');
  }

  private onBytes(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4) & 0xffffff;
      if (this.buf.length < 8 + len) break;
      const frame = this.buf.subarray(0, 8 + len);
      this.buf = this.buf.subarray(8 + len);
      this.queue = this.queue.then(() => this.onFrame(frame)).catch((e: Error) => {
        log.warn('SPDY protocol error, closing the connection', { error: e.message });
        this.goAway(1);
      });
    }
  }

  private async onFrame(f: Buffer): Promise<void> {
    if (this.closed) return;
    log.silly('frame', { control: !!(f[0] & 0x80), type: f.readUInt16BE(2), flags: f[4], length: f.length - 8 });
    const flags = f[4];
    const payload = f.subarray(8);
    if (!(f[0] & 0x80)) {
      const id = f.readUInt32BE(0) & 0x7fffffff;
      const s = this.streams.get(id);
      if (!s) {
        if (payload.length || !(flags & FLAG_FIN)) this.send(controlFrame(FrameType.RST_STREAM, 0, Buffer.concat([u32(id), u32(RstStatus.INVALID_STREAM)])));
        return;
      }
      s.onData(payload, !!(flags & FLAG_FIN));
      return;
    }
    const version = f.readUInt16BE(0) & 0x7fff;
    if (version !== VERSION) throw new Error(`unsupported SPDY version ${version}`);
    const type = f.readUInt16BE(2);
    switch (type) {
      case FrameType.SYN_STREAM: {
        const id = payload.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await this.decompressor.decompress(payload.subarray(10)));
        // Client-initiated streams are odd and increasing.
        if (id % 2 === 0 || id <= this.lastStreamId) {
          this.send(controlFrame(FrameType.RST_STREAM, 0, Buffer.concat([u32(id), u32(RstStatus.PROTOCOL_ERROR)])));
          return;
        }
        this.lastStreamId = id;
        const s = new SpdyStream(this, id, headers);
        this.streams.set(id, s);
        if (flags & FLAG_FIN) s.onData(Buffer.alloc(0), true);
        this.emit('stream', s);
        return;
      }
      case FrameType.HEADERS:
      case FrameType.SYN_REPLY: {
        // Keep the shared inflate context in step even though the content is not needed.
        await this.decompressor.decompress(payload.subarray(4));
        const id = payload.readUInt32BE(0) & 0x7fffffff;
        if (flags & FLAG_FIN) this.streams.get(id)?.onData(Buffer.alloc(0), true);
        return;
      }
      case FrameType.RST_STREAM:
        this.streams.get(payload.readUInt32BE(0) & 0x7fffffff)?.onReset();
        return;
      case FrameType.PING:
        // Echo the peer's pings (odd IDs from a client); ours would be even.
        if (payload.readUInt32BE(0) % 2 === 1) this.send(f);
        return;
      case FrameType.GOAWAY:
        this.goAway();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE, CREDENTIAL: spdystream does no flow control, nor do we.
        return;
    }
  }
}

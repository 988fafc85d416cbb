// etcd's KV service (Range, Txn, Compact) as unary gRPC calls over node's
// own http2, with the few protobuf messages encoded by hand. Every API write
// is one etcd call, and through the etcd3 package (cockatiel policies,
// protobufjs' dynamic codec, grpc-js' channel, interceptor and filter stack)
// a Txn cost the API server ~0.3 ms of CPU against ~0.18 ms here (20-line
// microbenchmark, 5,000 Txns at concurrency 50). Watches (etcdwatch.ts) use
// the same codec over their own streams.

import http2 from 'node:http2';

/** A failed call: `code` is the gRPC status (14 Unavailable, 4 DeadlineExceeded, ...). */
export class EtcdCallError extends Error {
  /**
   * `mayHaveApplied`: the request left for etcd and no answer came back (a deadline, a broken stream, etcd's
   * own "request timed out"), so a write may have been committed. False when it certainly never got there.
   */
  constructor(readonly code: number, message: string, readonly mayHaveApplied = false) {
    super(message);
    this.name = 'EtcdCallError';
  }
}

/** etcd's own answers that leave a proposal's fate open (etcdserver.ErrTimeout, ErrLeaderChanged, ...). */
const ambiguousEtcdMessage = /timed out|leader changed|deadline/i;

export const grpcCode = { cancelled: 1, deadlineExceeded: 4, unavailable: 14 } as const;

export interface KeyValue {
  key: Buffer;
  value: Buffer;
  createRevision: number;
  modRevision: number;
}

export interface RangeRequest {
  key: Buffer;
  rangeEnd?: Buffer;
  limit?: number;
  revision?: number;
  countOnly?: boolean;
}

export interface RangeResponse { revision: number; kvs: KeyValue[]; more: boolean; count: number }

export type RequestOp =
  | { range: RangeRequest }
  | { put: { key: Buffer; value: Buffer } }
  | { deleteRange: { key: Buffer; prevKv?: boolean } };

export interface Compare {
  key: Buffer;
  target: 'create' | 'mod';
  /** Only Equal is used: a key's create or mod revision equals this. */
  revision: number;
}

export interface TxnRequest { compare: Compare[]; success: RequestOp[]; failure: RequestOp[] }

export interface ResponseOp { range?: RangeResponse }

export interface TxnResponse { revision: number; succeeded: boolean; responses: ResponseOp[] }

// --- encoding -------------------------------------------------------------

export class Writer {
  private readonly parts: Buffer[] = [];
  private scratch: number[] = [];
  length = 0;

  private varint(n: number): void {
    while (n > 127) {
      this.scratch.push((n % 128) | 128);
      n = Math.floor(n / 128);
    }
    this.scratch.push(n);
  }

  private flush(): void {
    if (!this.scratch.length) return;
    const b = Buffer.from(this.scratch);
    this.parts.push(b);
    this.length += b.length;
    this.scratch = [];
  }

  uint(field: number, n: number | undefined, always = false): this {
    if (!n && !always) return this;
    this.varint(field << 3);
    this.varint(n ?? 0);
    return this;
  }

  bool(field: number, b: boolean | undefined): this {
    return b ? this.uint(field, 1) : this;
  }

  bytes(field: number, b: Buffer | undefined): this {
    if (!b) return this;
    this.varint((field << 3) | 2);
    this.varint(b.length);
    this.flush();
    this.parts.push(b);
    this.length += b.length;
    return this;
  }

  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }

  finish(): Buffer {
    this.flush();
    return this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.length);
  }
}

function rangeRequest(r: RangeRequest): Writer {
  return new Writer().bytes(1, r.key).bytes(2, r.rangeEnd).uint(3, r.limit).uint(4, r.revision).bool(9, r.countOnly);
}

function requestOp(op: RequestOp): Writer {
  if ('range' in op) return new Writer().message(1, rangeRequest(op.range));
  if ('put' in op) return new Writer().message(2, new Writer().bytes(1, op.put.key).bytes(2, op.put.value));
  return new Writer().message(3, new Writer().bytes(1, op.deleteRange.key).bool(3, op.deleteRange.prevKv));
}

function txnRequest(t: TxnRequest): Buffer {
  const w = new Writer();
  for (const c of t.compare) {
    // result EQUAL is 0 (the default, not written); target CREATE = 1 with create_revision (5), MOD = 2 with mod_revision (6).
    const cmp = new Writer().uint(2, c.target === 'create' ? 1 : 2).bytes(3, c.key).uint(c.target === 'create' ? 5 : 6, c.revision, true);
    w.message(1, cmp);
  }
  for (const op of t.success) w.message(2, requestOp(op));
  for (const op of t.failure) w.message(3, requestOp(op));
  return w.finish();
}

// --- decoding -------------------------------------------------------------

export class Reader {
  pos: number;
  constructor(readonly buf: Buffer, start = 0, readonly end = buf.length) {
    this.pos = start;
  }

  more(): boolean {
    return this.pos < this.end;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (;;) {
      if (this.pos >= this.end) throw new EtcdCallError(grpcCode.unavailable, 'malformed etcd response: truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 127) * mul;
      if (b < 128) return result;
      mul *= 128;
    }
  }

  /** The sub-reader of a length-delimited field. */
  sub(): Reader {
    const len = this.varint();
    const r = new Reader(this.buf, this.pos, this.pos + len);
    this.pos += len;
    return r;
  }

  bytes(): Buffer {
    const len = this.varint();
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 2) {
      // Not `this.pos += this.varint()`: that adds the length to the position from before the length was read.
      const len = this.varint();
      this.pos += len;
    }
    else if (wire === 1) this.pos += 8;
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
}

export function headerRevision(r: Reader): number {
  let revision = 0;
  while (r.more()) {
    const tag = r.varint();
    if (tag === (3 << 3)) revision = r.varint();
    else r.skip(tag & 7);
  }
  return revision;
}

export function keyValue(r: Reader): KeyValue {
  const kv: KeyValue = { key: Buffer.alloc(0), value: Buffer.alloc(0), createRevision: 0, modRevision: 0 };
  while (r.more()) {
    const tag = r.varint();
    switch (tag) {
      case (1 << 3) | 2: kv.key = r.bytes(); break;
      case 2 << 3: kv.createRevision = r.varint(); break;
      case 3 << 3: kv.modRevision = r.varint(); break;
      case (5 << 3) | 2: kv.value = r.bytes(); break;
      default: r.skip(tag & 7);
    }
  }
  return kv;
}

function rangeResponse(r: Reader): RangeResponse {
  const res: RangeResponse = { revision: 0, kvs: [], more: false, count: 0 };
  while (r.more()) {
    const tag = r.varint();
    switch (tag) {
      case (1 << 3) | 2: res.revision = headerRevision(r.sub()); break;
      case (2 << 3) | 2: res.kvs.push(keyValue(r.sub())); break;
      case 3 << 3: res.more = r.varint() !== 0; break;
      case 4 << 3: res.count = r.varint(); break;
      default: r.skip(tag & 7);
    }
  }
  return res;
}

function txnResponse(r: Reader): TxnResponse {
  const res: TxnResponse = { revision: 0, succeeded: false, responses: [] };
  while (r.more()) {
    const tag = r.varint();
    switch (tag) {
      case (1 << 3) | 2: res.revision = headerRevision(r.sub()); break;
      case 2 << 3: res.succeeded = r.varint() !== 0; break;
      case (3 << 3) | 2: {
        const op = r.sub();
        const out: ResponseOp = {};
        while (op.more()) {
          const t = op.varint();
          if (t === ((1 << 3) | 2)) out.range = rangeResponse(op.sub());
          else op.skip(t & 7);
        }
        res.responses.push(out);
        break;
      }
      default: r.skip(tag & 7);
    }
  }
  return res;
}

// --- transport ------------------------------------------------------------

/** One gRPC message on the wire: an uncompressed flag byte and a 4-byte length before it. */
export function grpcFrame(body: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(5 + body.length);
  frame[0] = 0;
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  return frame;
}

export interface EtcdKVOptions {
  hosts: string[];
  /** Deadline of each call. */
  timeoutMs: number;
}

/** Moves one encoded request to etcd and its encoded response back: `method` is the KV service's (Range, Txn, Compact). */
export interface Transport {
  call(method: string, body: Buffer): Promise<Buffer>;
  close(): void;
}

/** Unary calls to etcd's KV service: the messages are encoded here, the transport carries them. */
export class EtcdKV {
  constructor(private readonly transport: Transport) {}

  range(req: RangeRequest): Promise<RangeResponse> {
    return this.transport.call('Range', rangeRequest(req).finish()).then((b) => rangeResponse(new Reader(b)));
  }

  txn(req: TxnRequest): Promise<TxnResponse> {
    return this.transport.call('Txn', txnRequest(req)).then((b) => txnResponse(new Reader(b)));
  }

  async compact(revision: number, physical: boolean): Promise<void> {
    await this.transport.call('Compact', new Writer().uint(1, revision).bool(2, physical).finish());
  }

  close(): void {
    this.transport.close();
  }
}

/** gRPC over node's http2: one session per endpoint, the next endpoint after a connection failure. */
export class Http2Transport implements Transport {
  private session?: http2.ClientHttp2Session;
  /** Sessions that completed their handshake: a request on one may have reached etcd. */
  private readonly connected = new WeakSet<http2.ClientHttp2Session>();
  private hostIndex = 0;
  private closed = false;

  constructor(private readonly opts: EtcdKVOptions) {}

  close(): void {
    this.closed = true;
    this.session?.destroy();
    this.session = undefined;
  }

  private connect(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const host = this.opts.hosts[this.hostIndex % this.opts.hosts.length]!;
    // Range responses can be many MiB; the default 64 KiB windows would cost a round trip per window.
    const session = http2.connect(host, { settings: { initialWindowSize: 16 << 20 } });
    session.on('connect', () => {
      this.connected.add(session);
      session.setLocalWindowSize(32 << 20);
    });
    const drop = () => {
      if (this.session === session) this.session = undefined;
    };
    session.on('error', () => {
      drop();
      this.hostIndex++;
    });
    session.on('goaway', drop);
    session.on('close', drop);
    this.session = session;
    return session;
  }

  call(method: string, body: Buffer): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      if (this.closed) {
        reject(new EtcdCallError(grpcCode.cancelled, 'client closed'));
        return;
      }
      let session: http2.ClientHttp2Session;
      try {
        session = this.connect();
      } catch (e) {
        reject(new EtcdCallError(grpcCode.unavailable, (e as Error).message));
        return;
      }
      const stream = session.request({
        ':method': 'POST',
        ':path': `/etcdserverpb.KV/${method}`,
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': `${this.opts.timeoutMs}m`,
      });
      const chunks: Buffer[] = [];
      let status: number | undefined;
      let message = '';
      let settled = false;
      // The failure is built only when it is the outcome: an Error captures a stack, and every call's stream closes.
      const finish = (fail?: (mayHaveApplied: boolean) => Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (fail) {
          stream.close(http2.constants.NGHTTP2_CANCEL);
          // Over a session that never connected, nothing was sent.
          reject(fail(this.connected.has(session)));
          return;
        }
        if (status !== 0) {
          const why = message || `etcd ${method} ended without a gRPC status`;
          reject(new EtcdCallError(status ?? grpcCode.unavailable, why, status === undefined || status === grpcCode.deadlineExceeded || ambiguousEtcdMessage.test(why)));
          return;
        }
        const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        // One length-prefixed message: a compressed flag byte and a 4-byte length.
        if (data.length < 5 || data[0] !== 0) {
          reject(new EtcdCallError(grpcCode.unavailable, `etcd ${method}: malformed response`));
          return;
        }
        resolve(data.subarray(5, 5 + data.readUInt32BE(1)));
      };
      const timer = setTimeout(() => finish((sent) => new EtcdCallError(grpcCode.deadlineExceeded, `etcd ${method}: deadline exceeded`, sent)), this.opts.timeoutMs);
      const readStatus = (headers: http2.IncomingHttpHeaders) => {
        const s = headers['grpc-status'];
        if (s !== undefined) {
          status = Number(s);
          message = decodeURIComponent(String(headers['grpc-message'] ?? ''));
        }
      };
      // A failure without a body comes as a trailers-only response: the status is in the headers.
      stream.on('response', readStatus);
      stream.on('trailers', readStatus);
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('end', () => finish());
      stream.on('error', (e: Error) => finish((sent) => new EtcdCallError(grpcCode.unavailable, e.message, sent)));
      stream.on('close', () => finish((sent) => new EtcdCallError(grpcCode.unavailable, `etcd ${method}: stream closed`, sent)));
      stream.end(grpcFrame(body));
    });
  }
}

// One etcd watch stream that survives etcd restarts without gaps or
// duplicates: etcd's Watch service as a gRPC stream over node's own http2,
// its WatchResponse decoded by hand with the KV codec (etcdkv.ts). Every
// write the API server makes comes back on the watch of its resource (the
// watch cache, the Node authorizer's graph, every watcher), so this is
// per-write cost: through etcd3 (grpc-js' stream, interceptor and filter
// stack, protobufjs' toObject with Long revisions) an event cost the API
// server's main thread ~0.05 ms before its JSON was even parsed. A broken
// stream is opened again from the last revision delivered, as clientv3 does.

import http2 from 'node:http2';
import { logger } from '../../lib/log.js';
import { decode, prefixEnd, withRevision } from './codec.js';
import { EtcdCallError, EtcdKV, grpcCode, grpcFrame, keyValue, headerRevision, Reader, Writer, type KeyValue } from './etcdkv.js';
import { StorageError, type StorageEvent } from './interface.js';

const log = logger('storage');

export interface EtcdWatchSink {
  onEvents(events: StorageEvent[]): void;
  onProgress(revision: number): void;
  onError(e: Error): void;
}

export interface EtcdWatch {
  close(): void;
}

/** What a broken stream waits before it is opened again (the etcd3 client's watch backoff was the same). */
const reconnectMs = 250;

/** The streams' http2 session to etcd: one per storage, the next endpoint after a failure. */
export class WatchSession {
  private session?: http2.ClientHttp2Session;
  private hostIndex = 0;
  private closed = false;

  constructor(private readonly hosts: string[]) {}

  get isClosed(): boolean {
    return this.closed;
  }

  connect(): http2.ClientHttp2Session {
    if (this.closed) throw new EtcdCallError(grpcCode.cancelled, 'client closed');
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const host = this.hosts[this.hostIndex % this.hosts.length]!;
    // With a 64 KiB window etcd blocks on a watch whenever the event loop is busy for a moment, demotes
    // the watcher to "unsynced" and replays thousands of events in one burst seconds later.
    const session = http2.connect(host, { settings: { initialWindowSize: 16 << 20 } });
    session.on('connect', () => session.setLocalWindowSize(32 << 20));
    const drop = () => {
      if (this.session === session) this.session = undefined;
    };
    session.on('error', () => {
      drop();
      this.hostIndex++;
    });
    session.on('goaway', drop);
    session.on('close', drop);
    // Watch streams are long-lived and expected: they must not keep a process alive that is otherwise done.
    session.unref();
    this.session = session;
    return session;
  }

  close(): void {
    this.closed = true;
    this.session?.destroy();
    this.session = undefined;
  }
}

interface WatchResponse {
  revision: number;
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
  events: { isDelete: boolean; kv: KeyValue; prev?: KeyValue }[];
}

function watchResponse(r: Reader): WatchResponse {
  const res: WatchResponse = { revision: 0, created: false, canceled: false, compactRevision: 0, cancelReason: '', events: [] };
  while (r.more()) {
    const tag = r.varint();
    switch (tag) {
      case (1 << 3) | 2: res.revision = headerRevision(r.sub()); break;
      case 3 << 3: res.created = r.varint() !== 0; break;
      case 4 << 3: res.canceled = r.varint() !== 0; break;
      case 5 << 3: res.compactRevision = r.varint(); break;
      case (6 << 3) | 2: res.cancelReason = r.bytes().toString(); break;
      case (11 << 3) | 2: {
        // mvccpb.Event: type (PUT 0, DELETE 1), kv, prev_kv.
        const e = r.sub();
        let isDelete = false;
        let kv: KeyValue | undefined;
        let prev: KeyValue | undefined;
        while (e.more()) {
          const t = e.varint();
          if (t === 1 << 3) isDelete = e.varint() === 1;
          else if (t === ((2 << 3) | 2)) kv = keyValue(e.sub());
          else if (t === ((3 << 3) | 2)) prev = keyValue(e.sub());
          else e.skip(t & 7);
        }
        if (kv) res.events.push({ isDelete, kv, prev });
        break;
      }
      default: r.skip(tag & 7);
    }
  }
  return res;
}

function createRequest(prefix: string, recursive: boolean, startRevision: number): Buffer {
  const create = new Writer().bytes(1, Buffer.from(prefix)).bytes(2, recursive ? prefixEnd(prefix) : undefined).uint(3, startRevision).bool(6, true);
  return grpcFrame(new Writer().message(1, create).finish());
}

export function openEtcdWatch(session: WatchSession, kv: EtcdKV, prefix: string, recursive: boolean, fromRevision: number, sink: EtcdWatchSink, onClosed: () => void): EtcdWatch {
  let delivered = fromRevision - 1;
  let closed = false;
  let stream: http2.ClientHttp2Stream | undefined;
  let retry: NodeJS.Timeout | undefined;
  let warned = false;

  const end = (e?: Error) => {
    if (closed) return;
    closed = true;
    clearTimeout(retry);
    stream?.close(http2.constants.NGHTTP2_CANCEL);
    onClosed();
    if (e) sink.onError(e);
  };

  const reopen = (why: string) => {
    if (closed || retry) return;
    stream = undefined;
    if (session.isClosed) {
      end();
      return;
    }
    if (!warned) log.warn('etcd watch disconnected, resuming', { prefix, fromRevision: delivered + 1, error: why });
    warned = true;
    retry = setTimeout(() => {
      retry = undefined;
      open();
    }, reconnectMs);
  };

  const open = () => {
    if (closed) return;
    let s: http2.ClientHttp2Stream;
    try {
      s = session.connect().request({ ':method': 'POST', ':path': '/etcdserverpb.Watch/Watch', 'content-type': 'application/grpc', te: 'trailers' });
    } catch (e) {
      reopen((e as Error).message);
      return;
    }
    stream = s;
    let pending: Buffer | undefined;
    s.on('data', (chunk: Buffer) => {
      if (closed || stream !== s) return;
      let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      // Length-prefixed messages: a compressed flag byte and a 4-byte length each.
      while (buf.length >= 5) {
        const len = buf.readUInt32BE(1);
        if (buf.length < 5 + len) break;
        let res: WatchResponse;
        try {
          res = watchResponse(new Reader(buf, 5, 5 + len));
        } catch (e) {
          end(new StorageError('Unavailable', prefix, `etcd watch: ${(e as Error).message}`));
          return;
        }
        buf = buf.subarray(5 + len);
        if (!handle(res)) return;
      }
      pending = buf.length ? buf : undefined;
    });
    s.on('error', (e: Error) => {
      if (stream === s) reopen(e.message);
    });
    s.on('close', () => {
      if (stream === s) reopen('stream closed');
    });
    s.write(createRequest(prefix, recursive, delivered + 1));
  };

  /** False when the watch ended. */
  const handle = (res: WatchResponse): boolean => {
    if (res.canceled) {
      // etcd ends a watch whose start revision it compacted away, and says up to where.
      if (res.compactRevision > 0) end(tooOld(prefix, delivered, res.compactRevision));
      else end(new StorageError('Unavailable', prefix, `etcd watch canceled: ${res.cancelReason || 'no reason given'}`));
      return false;
    }
    if (res.created) {
      warned = false;
      return true;
    }
    if (res.events.length === 0) {
      // A progress notification: everything up to the header revision has been sent.
      delivered = Math.max(delivered, res.revision);
      sink.onProgress(delivered);
      return true;
    }
    const events = res.events.map((ev) => toEvent(ev.isDelete, ev.kv, ev.prev));
    delivered = events[events.length - 1]!.revision;
    sink.onEvents(events);
    return true;
  };

  open();
  return { close: () => end() };
}

function toEvent(isDelete: boolean, kv: KeyValue, prev: KeyValue | undefined): StorageEvent {
  const key = kv.key.toString();
  const revision = kv.modRevision;
  const prevObject = prev ? decode(prev.value.toString(), prev.modRevision) : undefined;
  if (isDelete) {
    // A delete's kv has no value: the last state comes from prev_kv, stamped with the delete revision.
    const object = prevObject ? withRevision(prevObject, revision) : { metadata: { name: key.slice(key.lastIndexOf('/') + 1), resourceVersion: String(revision) } };
    return { type: 'DELETED', key, object, prevObject, revision };
  }
  const object = decode(kv.value.toString(), revision);
  if (kv.createRevision === kv.modRevision) return { type: 'ADDED', key, object, revision };
  return { type: 'MODIFIED', key, object, prevObject, revision };
}

/** Whether revision r can still be read; false when etcd compacted it away. */
async function readable(kv: EtcdKV, r: number): Promise<boolean> {
  try {
    await kv.range({ key: Buffer.from('/'), revision: r, countOnly: true });
    return true;
  } catch (e) {
    const message = (e as Error).message;
    if (/compacted/.test(message)) return false;
    // A future revision is not gone, merely not yet written.
    if (/future revision/.test(message)) return true;
    throw new StorageError('Unavailable', '/', `etcd unavailable: ${message}`);
  }
}

/**
 * True when etcd still holds every event after `since` (a watch from resourceVersion
 * `since` can be served), else etcd's compaction revision, found by bisecting between
 * the first unreadable revision and the current one; this runs only when a watcher
 * already asked for history that is gone.
 */
export async function watchableFrom(kv: EtcdKV, since: number): Promise<true | number> {
  if (await readable(kv, since)) return true;
  const res = await kv.range({ key: Buffer.from('/'), countOnly: true }).catch((e: Error) => {
    throw new StorageError('Unavailable', '/', `etcd unavailable: ${e.message}`);
  });
  let lo = since; // unreadable
  let hi = res.revision; // readable: etcd never compacts past its current revision
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (await readable(kv, mid)) hi = mid;
    else lo = mid;
  }
  // A watch from `since` starts at since+1, which etcd serves when it is the compaction revision.
  return hi === since + 1 ? true : hi;
}

/** kube's cacher message for a watch from before the oldest revision it can serve (compacted - 1). */
export function tooOld(key: string, since: number, compactedAt: number): StorageError {
  return new StorageError('ResourceVersionTooOld', key, `too old resource version: ${since} (${compactedAt - 1})`);
}

// etcd's unary calls carried by a worker thread. The API server's main
// thread is what saturates under write load, and node's http2 client
// (creating each stream and its headers, nghttp2's framing, the socket
// writes) was a third of that thread's CPU per create: bench:apiserver's
// main-thread CPU went from 0.46 to 0.30 ms per create with this transport,
// creates/s up 10-20% on 2 cores. The main thread only encodes requests and
// decodes responses; the worker thread, on another core, runs the same
// Http2Transport. Calls made in one turn of the event loop travel in one
// message, as do the results that complete in one turn of the worker's.
// The price is paid when the server is nearly idle, and more on a VM: a lone
// call wakes the other thread and its answer wakes this one, each wake-up a
// cross-CPU interrupt. Serial writes measured 0.15-0.17 ms of CPU on each
// side per call for postMessage alone, and the worker thread 0.6-0.9 ms per
// call in all, more than the call costs inline. So LoadAwareTransport sends a
// call to the worker only while the main thread is busy, and carries it
// inline otherwise; a quiet server never starts the worker (nor pays its
// heap). --etcd-transport-thread=false keeps every call inline.

import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { reclaimWhenIdle } from '../../lib/idlegc.js';
import { EtcdCallError, grpcCode, Http2Transport, type EtcdKVOptions, type Transport } from './etcdkv.js';

interface Call { id: number; method: string; body: Uint8Array }
type Result = { id: number; data: Uint8Array } | { id: number; code: number; message: string; mayHaveApplied: boolean };

const role = 'skiff-etcd-transport';

export class ThreadTransport implements Transport {
  private worker?: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>();
  private outbox: Call[] = [];
  private closed = false;

  constructor(private readonly opts: EtcdKVOptions) {}

  call(method: string, body: Buffer): Promise<Buffer> {
    if (this.closed) return Promise.reject(new EtcdCallError(grpcCode.cancelled, 'client closed'));
    return new Promise<Buffer>((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      if (this.outbox.length === 0) setImmediate(() => this.flush());
      // An exact copy, transferred: the encoder's Buffer is a slice of node's 8 KiB pool, and
      // structured clone copies a view's whole ArrayBuffer (8 KiB for a 260-byte Txn).
      this.outbox.push({ id, method, body: new Uint8Array(body) });
    });
  }

  close(): void {
    this.closed = true;
    this.outbox = [];
    this.fail(new EtcdCallError(grpcCode.cancelled, 'client closed'));
    void this.worker?.terminate();
    this.worker = undefined;
  }

  private flush(): void {
    const calls = this.outbox;
    this.outbox = [];
    if (!calls.length) return;
    const w = this.start();
    // Calls in flight keep the process alive, as a socket would; an idle worker must not.
    w.ref();
    w.postMessage(calls, calls.map((c) => c.body.buffer as ArrayBuffer));
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL(import.meta.url), { workerData: { role, opts: this.opts } });
    w.on('message', (results: Result[]) => {
      for (const r of results) {
        const p = this.pending.get(r.id);
        if (!p) continue;
        this.pending.delete(r.id);
        if ('data' in r) p.resolve(Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength));
        else p.reject(new EtcdCallError(r.code, r.message, r.mayHaveApplied));
      }
      if (this.pending.size === 0) w.unref();
    });
    // A dead worker fails what it carried; the next call starts a new one.
    const lost = (why: string) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      // What it carried may have reached etcd before it died.
      this.fail(new EtcdCallError(grpcCode.unavailable, `etcd transport thread ${why}`, true));
    };
    w.on('error', (e) => lost(`failed: ${e.message}`));
    w.on('exit', (code) => lost(`exited with ${code}`));
    this.worker = w;
    return w;
  }

  private fail(e: Error): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(e);
  }
}

/**
 * The worker thread while this thread is the bottleneck, inline otherwise:
 * every `periodMs` the main thread's event-loop utilization since the last
 * look decides where the next calls go. Both carry the same calls to the same
 * etcd with the same errors; calls in flight on one finish there.
 */
export class LoadAwareTransport implements Transport {
  private readonly inline: Http2Transport;
  private readonly thread: ThreadTransport;
  private last = performance.eventLoopUtilization();
  private lookedAt = performance.now();
  private offload = false;

  constructor(opts: EtcdKVOptions, private readonly busyFraction = 0.5, private readonly periodMs = 100) {
    this.inline = new Http2Transport(opts);
    this.thread = new ThreadTransport(opts);
  }

  call(method: string, body: Buffer): Promise<Buffer> {
    const now = performance.now();
    if (now - this.lookedAt >= this.periodMs) {
      const elu = performance.eventLoopUtilization();
      this.offload = performance.eventLoopUtilization(elu, this.last).utilization >= this.busyFraction;
      this.last = elu;
      this.lookedAt = now;
    }
    return (this.offload ? this.thread : this.inline).call(method, body);
  }

  /** Where the next call would go (for tests). */
  get offloading(): boolean {
    return this.offload;
  }

  close(): void {
    this.inline.close();
    this.thread.close();
  }
}

/** The worker's side: Http2Transport behind a message port. */
function serve(opts: EtcdKVOptions): void {
  const port = parentPort!;
  const transport = new Http2Transport(opts);
  // This thread's own heap: the first lists' responses grow its young generation too.
  reclaimWhenIdle();
  let outbox: Result[] = [];
  let transfer: ArrayBuffer[] = [];
  const send = (r: Result) => {
    if (outbox.length === 0) setImmediate(() => {
      const batch = outbox;
      const buffers = transfer;
      outbox = [];
      transfer = [];
      port.postMessage(batch, buffers);
    });
    outbox.push(r);
    if ('data' in r) transfer.push(r.data.buffer as ArrayBuffer);
  };
  port.on('message', (calls: Call[]) => {
    for (const c of calls) {
      transport.call(c.method, Buffer.from(c.body.buffer, c.body.byteOffset, c.body.byteLength)).then(
        // An exact copy, transferred, as the calls come: a response is a view of the http2 session's
        // read buffer, up to 64 KiB that structured clone would copy whole for a 300-byte answer.
        (data) => send({ id: c.id, data: new Uint8Array(data) }),
        (e: unknown) => send({ id: c.id, code: e instanceof EtcdCallError ? e.code : grpcCode.unavailable, message: (e as Error).message, mayHaveApplied: e instanceof EtcdCallError && e.mayHaveApplied }),
      );
    }
  });
}

if (!isMainThread && (workerData as { role?: string } | undefined)?.role === role) {
  serve((workerData as { opts: EtcdKVOptions }).opts);
}

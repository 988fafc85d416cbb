// The API server's etcd transport on a worker thread, against a real etcd:
// calls and their results are matched up across the thread boundary (also
// many at once, batched per turn of the event loop), failures keep their
// gRPC code, an outage fails calls with Unavailable and the next calls work
// once etcd is back, and close() fails what is in flight. The worker thread
// loads compiled JavaScript, so this suite imports the build in dist/, as the
// API server process does (`npx tsc -p tsconfig.json` first); the whole API
// server suite runs over this transport too.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdProcess } from '../util/etcd.js';

type Etcdkv = typeof import('../../apiserver/storage/etcdkv.js');
type Etcdthread = typeof import('../../apiserver/storage/etcdthread.js');
const dist = '../../dist/apiserver/storage';
const { EtcdKV, EtcdCallError, grpcCode } = (await import(`${dist}/etcdkv.js`)) as Etcdkv;
const { LoadAwareTransport, ThreadTransport } = (await import(`${dist}/etcdthread.js`)) as Etcdthread;

let etcd: EtcdProcess;

beforeAll(async () => {
  etcd = await startEtcd();
});

afterAll(async () => {
  await etcd?.stop();
});

const key = (k: string) => Buffer.from(`/thread-test/${k}`);

function put(kv: InstanceType<Etcdkv['EtcdKV']>, k: string, value: string) {
  // Create-if-absent, as the API server's creates are: the result says whether the compare held.
  return kv.txn({
    compare: [{ key: key(k), target: 'create', revision: 0 }],
    success: [{ put: { key: key(k), value: Buffer.from(value) } }],
    failure: [{ range: { key: key(k) } }],
  });
}

async function callError(p: Promise<unknown>): Promise<InstanceType<Etcdkv['EtcdCallError']>> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(EtcdCallError);
  return e as InstanceType<Etcdkv['EtcdCallError']>;
}

describe('ThreadTransport', () => {
  it('carries calls and their results across the thread, many at once, each to its own caller', async () => {
    const kv = new EtcdKV(new ThreadTransport({ hosts: [etcd.endpoint], timeoutMs: 2000 }));
    try {
      const created = await Promise.all(Array.from({ length: 200 }, (_, i) => put(kv, `k${i}`, `v${i}`)));
      expect(created.every((r) => r.succeeded)).toBe(true);
      // Distinct revisions: 200 separate transactions, not one.
      expect(new Set(created.map((r) => r.revision)).size).toBe(200);

      const again = await put(kv, 'k7', 'other');
      expect(again.succeeded).toBe(false);
      expect(again.responses[0]?.range?.kvs[0]?.value.toString()).toBe('v7');

      const reads = await Promise.all([3, 150, 42].map((i) => kv.range({ key: key(`k${i}`) })));
      expect(reads.map((r) => r.kvs[0]?.value.toString())).toEqual(['v3', 'v150', 'v42']);
      const all = await kv.range({ key: key(''), rangeEnd: key('\x7f'), countOnly: true });
      expect(all.count).toBe(200);
    } finally {
      kv.close();
    }
  });

  it('keeps the gRPC code of a failed call', async () => {
    const kv = new EtcdKV(new ThreadTransport({ hosts: [etcd.endpoint], timeoutMs: 2000 }));
    try {
      const { revision } = await kv.range({ key: key('x') });
      await kv.compact(revision, true);
      // A compaction to a revision already compacted is OutOfRange (11) in etcd.
      const e = await callError(kv.compact(revision - 1, true));
      expect(e.code).toBe(11);
      expect(e.message).toMatch(/compacted/);
    } finally {
      kv.close();
    }
  });

  it('fails calls with Unavailable while etcd is down, and works again when it is back', async () => {
    const kv = new EtcdKV(new ThreadTransport({ hosts: [etcd.endpoint], timeoutMs: 1000 }));
    try {
      await put(kv, 'before-outage', 'x');
      etcd.proc.kill('SIGKILL');
      const e = await callError(kv.range({ key: key('before-outage') }));
      expect([grpcCode.unavailable, grpcCode.deadlineExceeded]).toContain(e.code);
      await etcd.restart();
      await expect.poll(async () => (await kv.range({ key: key('before-outage') }).catch(() => undefined))?.kvs.length, { timeout: 20_000 }).toBe(1);
      expect((await put(kv, 'after-outage', 'y')).succeeded).toBe(true);
    } finally {
      kv.close();
    }
  });

  it('fails calls in flight and later calls with Cancelled once closed', async () => {
    const kv = new EtcdKV(new ThreadTransport({ hosts: [etcd.endpoint], timeoutMs: 2000 }));
    const inFlight = kv.range({ key: key('k1') });
    kv.close();
    expect((await callError(inFlight)).code).toBe(grpcCode.cancelled);
    expect((await callError(kv.range({ key: key('k1') }))).code).toBe(grpcCode.cancelled);
  });
});

describe('LoadAwareTransport', () => {
  /** Keeps this thread's event loop busy for ms, as a saturated API server's is. */
  const spin = (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until) { /* busy */ }
  };

  it('carries calls inline while the thread is quiet and on the worker while it is busy, with the same results', async () => {
    const transport = new LoadAwareTransport({ hosts: [etcd.endpoint], timeoutMs: 2000 }, 0.5, 20);
    const kv = new EtcdKV(transport);
    try {
      await new Promise((r) => setTimeout(r, 60));
      expect((await put(kv, 'quiet', 'q')).succeeded).toBe(true);
      expect(transport.offloading).toBe(false);

      spin(60);
      const busy = await put(kv, 'busy', 'b');
      expect(transport.offloading).toBe(true);
      expect(busy.succeeded).toBe(true);
      // The other path sees what the first wrote, and the compare still holds across them.
      expect((await put(kv, 'quiet', 'again')).succeeded).toBe(false);
      expect((await kv.range({ key: key('busy') })).kvs[0]?.value.toString()).toBe('b');

      await new Promise((r) => setTimeout(r, 60));
      expect((await kv.range({ key: key('quiet') })).kvs[0]?.value.toString()).toBe('q');
      expect(transport.offloading).toBe(false);
    } finally {
      kv.close();
    }
  });
});

// Watch semantics, compaction, bookmarks, timeouts and etcd outages against
// the compiled API server on a real etcd.

import https from 'node:https';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import type { Status } from '../../api/types.js';
import { client, pod, watch, update, type Reply } from './helpers.js';

let srv: ApiServerProcess;
let api: ReturnType<typeof client>;
const cms = '/api/v1/namespaces/default/configmaps';
const cm = (name: string, data: Record<string, string> = {}, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data });

beforeAll(async () => {
  srv = await startApiServer();
  api = client(srv.url);
});
afterAll(async () => {
  await srv?.stop();
});

describe('watch', () => {
  it('from a resourceVersion sees every later change exactly once, in order, across an API server restart', async () => {
    const start = (await api.post(cms, cm('w-0'))).body.metadata.resourceVersion;
    const w1 = watch(srv.url, `${cms}?watch=1&resourceVersion=${start}`);
    for (let i = 1; i <= 5; i++) await api.post(cms, cm(`w-${i}`));
    const first = await w1.waitFor(5);
    expect(first.map((e) => e.object.metadata.name)).toEqual(['w-1', 'w-2', 'w-3', 'w-4', 'w-5']);
    const last = first[4].object.metadata.resourceVersion;

    await srv.restart();
    w1.close();
    // Changes while no one watches must still arrive when the watch resumes from the last seen rv.
    await api.put(`${cms}/w-1`, { ...cm('w-1', { x: '1' }) });
    await api.del(`${cms}/w-2`);
    const w2 = watch(srv.url, `${cms}?watch=true&resourceVersion=${last}`);
    await api.post(cms, cm('w-6'));
    const after = await w2.waitFor(3);
    w2.close();
    expect(after.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['MODIFIED w-1', 'DELETED w-2', 'ADDED w-6']);
    const rvs = after.map((e) => Number(e.object.metadata.resourceVersion));
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
    expect(rvs[0]).toBeGreaterThan(Number(last));
  });

  it('without a resourceVersion starts with the current state as ADDED', async () => {
    await api.post(cms, cm('snap', {}, { watch: 'snap' }));
    const w = watch(srv.url, `${cms}?watch=1&labelSelector=watch%3Dsnap`);
    const evs = await w.waitFor(1);
    expect(evs[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'snap' } } });
    await update(srv.url, `${cms}/snap`, { data: { a: 'b' } });
    expect((await w.waitFor(2))[1].type).toBe('MODIFIED');
    w.close();
  });

  it('objects moving out of and into a label selector are DELETED and ADDED', async () => {
    const rv = (await api.post(cms, cm('mover', {}, { tier: 'front' }))).body.metadata.resourceVersion;
    const w = watch(srv.url, `${cms}?watch=1&resourceVersion=${rv}&labelSelector=tier%3Dfront`);
    await update(srv.url, `${cms}/mover`, { metadata: { labels: { tier: 'back' } } });
    await update(srv.url, `${cms}/mover`, { data: { ignored: 'yes' } });
    await update(srv.url, `${cms}/mover`, { metadata: { labels: { tier: 'front' } } });
    const evs = await w.waitFor(2);
    await new Promise((r) => setTimeout(r, 300));
    w.close();
    expect(evs.map((e) => e.type)).toEqual(['DELETED', 'ADDED']);
  });

  it('a single object via fieldSelector metadata.name', async () => {
    const rv = (await api.post(cms, cm('solo'))).body.metadata.resourceVersion;
    await api.post(cms, cm('other'));
    const w = watch(srv.url, `${cms}?watch=1&resourceVersion=${rv}&fieldSelector=metadata.name%3Dsolo`);
    await update(srv.url, `${cms}/other`, { data: { a: '1' } });
    await update(srv.url, `${cms}/solo`, { data: { a: '1' } });
    const evs = await w.waitFor(1);
    w.close();
    expect(evs.map((e) => e.object.metadata.name)).toEqual(['solo']);
  });

  it('streams Table rows for kubectl get -w', async () => {
    const rv = (await api.post('/api/v1/namespaces/default/pods', pod('tw'))).body.metadata.resourceVersion;
    const w = watch(srv.url, `/api/v1/namespaces/default/pods?watch=1&resourceVersion=${Number(rv) - 1}&includeObject=Object`, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
    const evs = await w.waitFor(1);
    w.close();
    expect(evs[0].object.kind).toBe('Table');
    expect(evs[0].object.rows).toHaveLength(1);
    expect(evs[0].object.rows[0].object.metadata.name).toBe('tw');
  });

  it('timeoutSeconds ends the stream cleanly', async () => {
    const w = watch(srv.url, `${cms}?watch=1&timeoutSeconds=1&resourceVersion=${(await api.get(cms)).body.metadata.resourceVersion}`);
    const t0 = Date.now();
    await w.ended;
    expect(await w.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('sends BOOKMARKs only when asked', async () => {
    const rv = (await api.get(cms)).body.metadata.resourceVersion;
    const plain = watch(srv.url, `${cms}?watch=1&timeoutSeconds=3&resourceVersion=${rv}`);
    const asked = watch(srv.url, `${cms}?watch=1&timeoutSeconds=3&allowWatchBookmarks=true&resourceVersion=${rv}`);
    await api.post(cms, cm('bm'));
    await Promise.all([plain.ended, asked.ended]);
    expect(plain.events.some((e) => e.type === 'BOOKMARK')).toBe(false);
    const bookmark = asked.events.find((e) => e.type === 'BOOKMARK');
    expect(bookmark, JSON.stringify(asked.events)).toBeTruthy();
    expect(bookmark!.object).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1' });
    expect(Number(bookmark!.object.metadata.resourceVersion)).toBeGreaterThan(Number(rv));
  });
});

describe('compaction', () => {
  it('a compacted resourceVersion is 410 Expired for exact lists and an ERROR event for watches', async () => {
    const old = (await api.post(cms, cm('compact-me'))).body.metadata.resourceVersion;
    for (let i = 0; i < 3; i++) await update(srv.url, `${cms}/compact-me`, { data: { i: String(i) } });
    const latest = (await api.get(cms)).body.metadata.resourceVersion;
    const etcd = new Etcd3({ hosts: srv.etcdEndpoint });
    try {
      await etcd.kv.compact({ revision: latest, physical: true });
    } finally {
      etcd.close();
    }
    const list = await api.get(`${cms}?resourceVersion=${old}&resourceVersionMatch=Exact`);
    expect(list.status).toBe(410);
    expect(list.body.reason).toBe('Expired');

    const w = watch(srv.url, `${cms}?watch=1&resourceVersion=${old}`);
    await w.ended;
    expect(await w.status).toBe(200);
    expect(w.events).toHaveLength(1);
    expect(w.events[0].type).toBe('ERROR');
    expect(w.events[0].object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    expect(w.events[0].object.message).toMatch(/^too old resource version: \d+ \(\d+\)$/);
  });
});

describe('etcd outage', () => {
  it('answers 503 while etcd is down and recovers when it returns', async () => {
    const own = await startApiServer();
    try {
      const ownApi = client(own.url);
      own.etcd!.proc.kill('SIGKILL');
      const t0 = Date.now();
      const down = await ownApi.get(cms);
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable' });
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect((await fetch(`${own.url}/readyz`)).status).toBe(500);
      await own.etcd!.restart();
      await expect.poll(async () => (await ownApi.get(cms)).status, { timeout: 20_000 }).toBe(200);
      expect((await ownApi.post(cms, cm('after-outage'))).status).toBe(201);
    } finally {
      await own.stop();
    }
  });
});

describe('ambiguous etcd outcomes', () => {
  it('answers a write etcd received but never answered 504 "may or may not have been applied", and one that never reached etcd 503', async () => {
    const own = await startApiServer();
    try {
      const ownApi = client(own.url);
      expect((await ownApi.post(cms, cm('before-stall'))).status).toBe(201);
      // A stalled etcd (as a power-starved disk or a stuck leader) takes the request and says nothing.
      own.etcd!.proc.kill('SIGSTOP');
      let stalled: Reply<Status>;
      try {
        stalled = await ownApi.post(cms, cm('during-stall'));
      } finally {
        own.etcd!.proc.kill('SIGCONT');
      }
      expect(stalled.status, stalled.text).toBe(504);
      expect(stalled.body).toMatchObject({ kind: 'Status', reason: 'Timeout' });
      expect(stalled.body.message).toContain('may or may not have been applied');
      // Once etcd is back the object is either there or not; the answer did not pretend to know.
      await expect.poll(async () => (await ownApi.get(`${cms}/before-stall`)).status, { timeout: 20_000 }).toBe(200);

      // A dead etcd refuses the connection: nothing was sent, so nothing happened.
      own.etcd!.proc.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
      const refused = await ownApi.post(cms, cm('while-down'));
      expect(refused.status, refused.text).toBe(503);
      await own.etcd!.restart();
      await expect.poll(async () => (await ownApi.get(cms)).status, { timeout: 20_000 }).toBe(200);
      expect((await ownApi.get(`${cms}/while-down`)).status).toBe(404);
    } finally {
      await own.stop();
    }
  });
});

describe('unresponsive watchers', () => {
  it('drops a watcher that stops reading once its queue passes the bound, counts it, and keeps serving one that reads', async () => {
    const ns = '/api/v1/namespaces/default/configmaps';
    const { ca, cert, key } = srv.admin;
    // A watcher that reads nothing after the headers: its events queue in the server.
    let closed = false;
    let response: import('node:http').IncomingMessage | undefined;
    const stalled = https.get({ host: '127.0.0.1', port: srv.port, path: `${ns}?watch=true&labelSelector=flood%3Dyes`, ca, cert, key, agent: false }, (res) => {
      response = res;
      res.pause();
      res.socket.pause();
      res.on('error', () => { closed = true; });
      res.on('close', () => { closed = true; });
    });
    stalled.on('error', () => { closed = true; });
    const reading = watch(srv.url, `${ns}?watch=true&labelSelector=flood%3Dyes`);
    await new Promise((r) => setTimeout(r, 300));
    const value = 'x'.repeat(16 * 1024);
    const total = 2400; // ~38 MiB of events: past the 8 MiB bound plus what the kernel's socket buffers on both ends hold.
    for (let i = 0; i < total; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => api.post(ns, cm(`flood-${i + j}`, { v: value }, { flood: 'yes' }))));
    }
    // The server counted and dropped the stalled one; its client sees the connection end once it reads again.
    await expect.poll(async () => (await api.get('/metrics')).text, { timeout: 20_000 }).toMatch(/apiserver_terminated_watchers_total\{group="",resource="configmaps"\} 1\b/);
    response?.socket.resume();
    response?.resume();
    await expect.poll(() => closed, { timeout: 20_000 }).toBe(true);
    // The one that reads got every event.
    expect((await reading.waitFor(total, 30_000)).length).toBe(total);
    reading.close();
    await api.del(`${ns}?labelSelector=flood%3Dyes`);
  });

  it('gives 200 watchers that read all 600,000 of their events and terminates none of them', async () => {
    const ns = '/api/v1/namespaces/default/configmaps';
    const before = /apiserver_terminated_watchers_total\{group="",resource="configmaps"\} (\d+)/.exec((await api.get('/metrics')).text)?.[1] ?? '0';
    const watchers = Array.from({ length: 200 }, () => watch(srv.url, `${ns}?watch=true&labelSelector=many%3Dyes`));
    await new Promise((r) => setTimeout(r, 1000));
    const total = 3000;
    for (let i = 0; i < total; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => api.post(ns, cm(`many-${i + j}`, { v: String(i + j) }, { many: 'yes' }))));
    }
    for (const w of watchers) {
      const events = await w.waitFor(total, 120_000);
      expect(events.length).toBe(total);
      w.close();
    }
    const after = /apiserver_terminated_watchers_total\{group="",resource="configmaps"\} (\d+)/.exec((await api.get('/metrics')).text)?.[1] ?? '0';
    expect(after).toBe(before);
    await api.del(`${ns}?labelSelector=many%3Dyes`);
  }, 240_000);
});

// The API server with --workers=2 (node:cluster): each connection lands on
// either worker, so everything a client sees must be the same whichever
// worker answers: writes, allocations, watches from a resourceVersion another
// worker handed out, metrics; and the workers live and die with the primary.

import fs from 'node:fs';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { waitFor } from '../util/ports.js';
import { watch } from './helpers.js';

let srv: ApiServerProcess;
const cms = '/api/v1/namespaces/default/configmaps';
const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: name } });

/** One request on a fresh connection: the primary deals connections to the workers in turn. */
function fresh(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; text: string }> {
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const { ca, cert, key } = srv.admin;
    const req = https.request({ host: '127.0.0.1', port: srv.port, path, method, agent: false, ca, cert, key, headers: data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let parsed: any;
        try { parsed = JSON.parse(text); } catch { parsed = undefined; }
        resolve({ status: res.statusCode ?? 0, body: parsed, text });
      });
    });
    req.on('error', reject);
    // A connection the primary dealt to a dead worker must fail the test, not hang it.
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: no answer in 10 s`)));
    req.end(data);
  });
}

function children(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !/State:\s+Z/.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));

beforeAll(async () => {
  srv = await startApiServer({ args: ['--workers=2'] });
});
afterAll(async () => {
  const workers = srv ? children(srv.proc.pid!) : [];
  await srv?.stop();
  // The workers follow the primary; make sure of it even if a test failed.
  for (const pid of workers) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
});

describe('API server workers', () => {
  it('runs two worker processes under the primary', () => {
    expect(children(srv.proc.pid!)).toHaveLength(2);
  });

  it('a watch from a resourceVersion another worker returned sees exactly the later events', async () => {
    for (let i = 0; i < 6; i++) {
      const first = await fresh('POST', cms, cm(`rv-${i}-a`));
      expect(first.status).toBe(201);
      const rv = first.body.metadata.resourceVersion;
      // Fresh connections alternate between workers, so half of these watches start on the other one.
      const w = watch(srv.url, `${cms}?watch=1&resourceVersion=${rv}`, { Connection: 'close' });
      expect(await w.status).toBe(200);
      expect((await fresh('POST', cms, cm(`rv-${i}-b`))).status).toBe(201);
      expect((await fresh('DELETE', `${cms}/rv-${i}-a`)).status).toBe(200);
      const evs = await w.waitFor(2);
      w.close();
      expect(evs.slice(0, 2).map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual([`ADDED rv-${i}-b`, `DELETED rv-${i}-a`]);
    }
  });

  it('a watch from a resourceVersion etcd has not reached ends with 504 Timeout, ResourceVersionTooLarge after ~3 s', async () => {
    const rv = Number((await fresh('POST', cms, cm('too-large'))).body.metadata.resourceVersion);
    const started = Date.now();
    const w = watch(srv.url, `${cms}?watch=1&resourceVersion=${rv + 1000}`);
    const [ev] = await w.waitFor(1, 10_000);
    await w.ended;
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    expect(ev).toMatchObject({
      type: 'ERROR',
      object: { kind: 'Status', code: 504, reason: 'Timeout', details: { causes: [{ reason: 'ResourceVersionTooLarge' }], retryAfterSeconds: 1 } },
    });
    expect(ev.object.message).toMatch(new RegExp(`^Timeout: Too large resource version: ${rv + 1000}, current: \\d+$`));
  });

  it('ClusterIPs and NodePorts allocated concurrently through both workers are distinct', async () => {
    const svcs = await Promise.all(Array.from({ length: 16 }, (_, i) => fresh('POST', '/api/v1/namespaces/default/services', {
      apiVersion: 'v1', kind: 'Service', metadata: { name: `alloc-${i}` },
      spec: { type: 'NodePort', selector: { app: 'x' }, ports: [{ port: 80 }] },
    })));
    for (const s of svcs) expect(s.status, s.text).toBe(201);
    const ips = svcs.map((s) => s.body.spec.clusterIP);
    const ports = svcs.map((s) => s.body.spec.ports[0].nodePort);
    expect(new Set(ips).size).toBe(16);
    expect(new Set(ports).size).toBe(16);
    // The kubernetes Service keeps the first address, whichever worker started first.
    expect(ips).not.toContain('10.96.0.1');
    const kube = await fresh('GET', '/api/v1/namespaces/default/services/kubernetes');
    expect(kube.body.spec.clusterIP).toBe('10.96.0.1');
  });

  it('/metrics counts the requests of every worker', async () => {
    const before = await createdCount();
    for (let i = 0; i < 10; i++) expect((await fresh('POST', cms, cm(`metrics-${i}`))).status).toBe(201);
    // Whichever worker answers /metrics, it reports all ten.
    for (let i = 0; i < 4; i++) expect(await createdCount()).toBe(before + 10);
  });

  it('a namespace deleted through any worker is emptied and removed once', async () => {
    expect((await fresh('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } })).status).toBe(201);
    for (let i = 0; i < 4; i++) expect((await fresh('POST', '/api/v1/namespaces/doomed/configmaps', cm(`c-${i}`))).status).toBe(201);
    expect((await fresh('DELETE', '/api/v1/namespaces/doomed')).status).toBe(200);
    await waitFor('namespace doomed gone', async () => (await fresh('GET', '/api/v1/namespaces/doomed')).status === 404, 30_000);
    expect((await fresh('GET', '/api/v1/namespaces/doomed/configmaps')).body.items).toEqual([]);
  });

  it('a worker that dies is replaced and the API keeps answering meanwhile', async () => {
    const [victim, survivor] = children(srv.proc.pid!);
    process.kill(victim!, 'SIGKILL');
    // Reaped, not merely a zombie: until the primary has seen the exit, node:cluster may still deal a
    // connection to the dead worker, and that connection hangs (a window of milliseconds in practice).
    await waitFor('victim reaped', async () => !fs.existsSync(`/proc/${victim}`), 10_000);
    // The survivor serves every new connection until the replacement is up.
    for (let i = 0; i < 4; i++) expect((await fresh('GET', '/api/v1/namespaces/default')).status).toBe(200);
    await waitFor('replacement worker', async () => children(srv.proc.pid!).length === 2, 15_000);
    expect(children(srv.proc.pid!)).toContain(survivor);
    await waitFor('replacement serving', async () => {
      const codes = await Promise.all(Array.from({ length: 6 }, () => fresh('GET', '/api/v1/namespaces/default').then((r) => r.status)));
      return codes.every((c) => c === 200);
    }, 15_000);
  });

  it('restart() brings the primary and its workers back on the same port; the old workers exit', async () => {
    const old = children(srv.proc.pid!);
    expect(old).toHaveLength(2);
    await srv.restart();
    await waitFor('old workers gone', async () => old.every((p) => !alive(p)), 10_000);
    expect(children(srv.proc.pid!)).toHaveLength(2);
    expect((await fresh('POST', cms, cm('after-restart'))).status).toBe(201);
  });

  it('SIGTERM stops the primary and every worker', async () => {
    const other = await startApiServer({ etcd: srv.etcdEndpoint, args: ['--workers=2'] });
    const pids = [other.proc.pid!, ...children(other.proc.pid!)];
    expect(pids).toHaveLength(3);
    const exited = new Promise<number | null>((r) => other.proc.once('exit', (code) => r(code)));
    other.proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    await waitFor('workers gone', async () => pids.every((p) => !alive(p)), 10_000);
    await other.stop();
  });
});

async function createdCount(): Promise<number> {
  const text = (await fresh('GET', '/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith('apiserver_request_total{') && l.includes('verb="POST"') && l.includes('resource="configmaps"') && l.includes('code="201"'));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

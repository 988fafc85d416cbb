import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RestClient, Throttle } from './rest.js';
import { R } from '../api/resources.js';
import { errors, isNotFound, StatusError } from '../api/errors.js';
import type { KubeObject } from '../api/types.js';
import type { WatchEventOf } from './interfaces.js';

interface Seen { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }

let server: http.Server;
let seen: Seen[];
let handler: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;
let client: RestClient;

beforeEach(async () => {
  seen = [];
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  client = new RestClient({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, { component: 'test', timeoutMs: 2000 });
});
afterEach(async () => {
  client.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const json = (res: http.ServerResponse, code: number, body: unknown) => {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
};

describe('RestClient', () => {
  it('builds Kubernetes paths, queries, content types and headers', async () => {
    handler = (_req, res) => json(res, 200, { metadata: { name: 'x' } });
    const deps = client.resource(R.deployments, 'ns1');
    await deps.get('d');
    await deps.list({ labelSelector: 'app=web', limit: 5 });
    await deps.patch('d', 'apply', { spec: {} }, { fieldManager: 'me', force: true });
    await deps.patch('d', 'json', [], { subresource: 'scale' });
    await deps.delete('d', { propagationPolicy: 'Foreground' });
    await client.resource(R.nodes).updateStatus({ metadata: { name: 'n1' } });
    await client.resource(R.pods).list();
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /apis/apps/v1/namespaces/ns1/deployments/d',
      'GET /apis/apps/v1/namespaces/ns1/deployments?labelSelector=app%3Dweb&limit=5',
      'PATCH /apis/apps/v1/namespaces/ns1/deployments/d?fieldManager=me&force=true',
      'PATCH /apis/apps/v1/namespaces/ns1/deployments/d/scale',
      'DELETE /apis/apps/v1/namespaces/ns1/deployments/d',
      'PUT /api/v1/nodes/n1/status',
      'GET /api/v1/pods',
    ]);
    expect(seen[2].headers['content-type']).toBe('application/apply-patch+yaml');
    expect(seen[3].headers['content-type']).toBe('application/json-patch+json');
    expect(JSON.parse(seen[4].body)).toEqual({ kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' });
    expect(seen[0].headers['user-agent']).toBe('skiff-test/v1.32.0');
  });

  it('turns Status bodies into StatusError and other error bodies into a synthetic Status', async () => {
    handler = (req, res) => {
      if (req.url!.includes('missing')) json(res, 404, errors.notFound('pods', 'missing').status);
      else {
        res.writeHead(502, { 'Content-Type': 'text/plain' });
        res.end('bad gateway');
      }
    };
    const pods = client.resource(R.pods, 'default');
    await expect(pods.get('missing')).rejects.toSatisfy(isNotFound);
    const e = await pods.get('other').catch((x) => x);
    expect(e).toBeInstanceOf(StatusError);
    expect(e.code).toBe(502);
    expect(e.message).toBe('bad gateway');
  });

  it('reads watch events split across arbitrary chunk boundaries', async () => {
    const events = [
      { type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '1', annotations: { note: 'h\u00e9llo \u{1f600}' } } } },
      { type: 'BOOKMARK', object: { metadata: { resourceVersion: '5' } } },
      { type: 'DELETED', object: { metadata: { name: 'a', resourceVersion: '6' } } },
    ];
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const bytes = Buffer.from(events.map((e) => JSON.stringify(e) + '\n').join(''));
      // Three-byte slices split lines and the multi-byte characters alike.
      let i = 0;
      const t = setInterval(() => {
        if (i >= bytes.length) {
          clearInterval(t);
          res.end();
          return;
        }
        res.write(bytes.subarray(i, i + 3));
        i += 3;
      }, 0);
    };
    const got: WatchEventOf<KubeObject>[] = [];
    const w = client.resource(R.pods, 'default').watch({ resourceVersion: '0', allowWatchBookmarks: true }, (e) => got.push(e));
    await w.done;
    expect(got).toEqual(events);
    expect(seen[0].url).toBe('/api/v1/namespaces/default/pods?resourceVersion=0&allowWatchBookmarks=true&watch=true');
  });

  it('stop() ends an open watch cleanly; an HTTP error rejects done with a StatusError', async () => {
    handler = (req, res) => {
      if (req.url!.includes('resourceVersion=1')) return json(res, 410, errors.expired('too old resource version: 1 (5)').status);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'x' } } }) + '\n');
    };
    const got: unknown[] = [];
    const w = client.resource(R.pods).watch({}, (e) => got.push(e));
    await new Promise<void>((r) => {
      const t = setInterval(() => got.length && (clearInterval(t), r()), 5);
    });
    w.stop();
    await w.done;
    const w2 = client.resource(R.pods).watch({ resourceVersion: '1' }, () => {});
    await expect(w2.done).rejects.toMatchObject({ code: 410, reason: 'Expired' });
  });

  it('times out calls that hang', async () => {
    handler = () => {};
    const c = new RestClient({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, { timeoutMs: 100 });
    await expect(c.resource(R.pods, 'default').get('x')).rejects.toMatchObject({ code: 504 });
    c.close();
  });
});

describe('RestClient watch against a dying server', () => {
  it('rejects done when the connection drops mid-stream', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n{"type":"MOD');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const got: unknown[] = [];
    const w = client.resource(R.pods).watch({}, (e) => got.push(e));
    await expect(w.done).rejects.toThrow();
    expect(got).toHaveLength(1);
  });
});

describe('Throttle', () => {
  it('lets a burst through, then paces callers at qps', async () => {
    vi.useFakeTimers();
    try {
      const t = new Throttle(10, 2);
      let passed = 0;
      for (let i = 0; i < 4; i++) void t.wait().then(() => passed++);
      await vi.advanceTimersByTimeAsync(0);
      expect(passed).toBe(2);
      await vi.advanceTimersByTimeAsync(100);
      expect(passed).toBe(3);
      await vi.advanceTimersByTimeAsync(100);
      expect(passed).toBe(4);
    } finally {
      vi.useRealTimers();
    }
  });
});

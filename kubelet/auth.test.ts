import { describe, expect, it } from 'vitest';
import type http from 'node:http';
import { FakeClient } from '../client/fake.js';
import { KubeletAuth, requestAttributes } from './auth.js';

const user = { username: 'u', groups: ['g'] };

describe('kubelet request attributes (pkg/kubelet/server/auth.go)', () => {
  const cases: [string, string, boolean, string, string][] = [
    // method, path, upgrade, verb, subresource
    ['GET', '/stats/summary', false, 'get', 'stats'],
    ['GET', '/stats', false, 'get', 'stats'],
    ['GET', '/metrics', false, 'get', 'metrics'],
    ['GET', '/metrics/cadvisor', false, 'get', 'metrics'],
    ['GET', '/logs/', false, 'get', 'log'],
    ['GET', '/logs/syslog', false, 'get', 'log'],
    ['GET', '/spec/', false, 'get', 'spec'],
    ['GET', '/pods', false, 'get', 'proxy'],
    ['GET', '/healthz', false, 'get', 'proxy'],
    ['GET', '/containerLogs/ns/pod/c', false, 'get', 'proxy'],
    ['POST', '/exec/ns/pod/c', false, 'create', 'proxy'],
    ['POST', '/run/ns/pod/c', false, 'create', 'proxy'],
    ['POST', '/portForward/ns/pod', false, 'create', 'proxy'],
    // A WebSocket is a GET; running a command or opening a port needs create all the same.
    ['GET', '/exec/ns/pod/c', true, 'create', 'proxy'],
    ['GET', '/attach/ns/pod/c', true, 'create', 'proxy'],
    ['GET', '/portForward/ns/pod', true, 'create', 'proxy'],
    ['GET', '/exec/ns/pod/c', false, 'get', 'proxy'],
    ['PUT', '/pods', false, 'update', 'proxy'],
    ['PATCH', '/pods', false, 'patch', 'proxy'],
    ['DELETE', '/pods', false, 'delete', 'proxy'],
    // Prefixes match whole path segments only.
    ['GET', '/statsfoo', false, 'get', 'proxy'],
    ['GET', '/metricsx/y', false, 'get', 'proxy'],
    ['GET', '/execute', true, 'get', 'proxy'],
  ];
  for (const [method, path, upgrade, verb, subresource] of cases) {
    it(`${method} ${path}${upgrade ? ' (upgrade)' : ''} is ${verb} nodes/${subresource}`, () => {
      expect(requestAttributes(user, 'node-1', method, path, upgrade)).toEqual({
        user, verb, resourceRequest: true, path, apiGroup: '', apiVersion: 'v1', resource: 'nodes', subresource, namespace: '', name: 'node-1',
      });
    });
  }
});

const request = (headers: Record<string, string>, socket: Record<string, unknown> = { encrypted: true, getPeerCertificate: () => ({}) }, url = '/pods', method = 'GET') =>
  ({ headers, socket, url, method }) as unknown as http.IncomingMessage;

describe('KubeletAuth', () => {
  it('answers 401 to anonymous requests unless --anonymous-auth, and then authorizes system:anonymous', async () => {
    const closed = new KubeletAuth({ nodeName: 'n', authorization: { mode: 'AlwaysAllow' } });
    expect(await closed.check(request({}))).toEqual({ ok: false, code: 401, message: 'Unauthorized' });
    const client = new FakeClient();
    const seen: unknown[] = [];
    client.prependReactor('create', 'subjectaccessreviews', (a) => {
      seen.push((a.object as { spec: unknown }).spec);
      return { handled: true, ret: { status: { allowed: false } } };
    });
    const open = new KubeletAuth({ nodeName: 'n', anonymous: true, authorization: { mode: 'Webhook', client } });
    expect(await open.check(request({}))).toEqual({ ok: false, code: 403, message: 'Forbidden (user=system:anonymous, verb=get, resource=nodes, subresource=proxy)' });
    expect(seen[0]).toMatchObject({ user: 'system:anonymous', groups: ['system:unauthenticated'] });
  });

  it('never treats a bearer token it cannot check, or a certificate that does not verify, as anonymous', async () => {
    const a = new KubeletAuth({ nodeName: 'n', anonymous: true, x509: true, authorization: { mode: 'AlwaysAllow' } });
    expect((await a.check(request({ authorization: 'Bearer abc' }))).ok).toBe(false);
    const badCert = { encrypted: true, authorized: false, getPeerCertificate: () => ({ subject: { CN: 'admin', O: 'system:masters' }, raw: Buffer.from('x') }) };
    expect(await a.check(request({}, badCert))).toMatchObject({ ok: false, code: 401 });
  });

  it('caches TokenReview answers for the TTL, by a hash of the token', async () => {
    let now = 0;
    const client = new FakeClient();
    let reviews = 0;
    client.prependReactor('create', 'tokenreviews', (a) => {
      reviews++;
      const ok = (a.object as { spec: { token: string } }).spec.token === 'good';
      return { handled: true, ret: { status: ok ? { authenticated: true, user: { username: 'sa', groups: ['system:serviceaccounts'] } } : { authenticated: false } } };
    });
    const a = new KubeletAuth({ nodeName: 'n', tokenWebhook: client, tokenCacheTTLms: 120_000, authorization: { mode: 'AlwaysAllow' }, now: () => now });
    const good = request({ authorization: 'Bearer good' });
    expect(await a.authenticate(good)).toEqual({ username: 'sa', uid: undefined, groups: ['system:serviceaccounts', 'system:authenticated'], extra: undefined });
    await a.authenticate(good);
    expect(await a.authenticate(request({ authorization: 'Bearer bad' }))).toBeUndefined();
    await a.authenticate(request({ authorization: 'Bearer bad' }));
    expect(reviews).toBe(2);
    now += 120_001;
    await a.authenticate(good);
    expect(reviews).toBe(3);
  });

  it('does not cache a TokenReview that failed, and answers 401 then', async () => {
    const client = new FakeClient();
    let calls = 0;
    client.prependReactor('create', 'tokenreviews', () => {
      calls++;
      return { handled: true, err: new Error('connection refused') };
    });
    const a = new KubeletAuth({ nodeName: 'n', tokenWebhook: client, authorization: { mode: 'AlwaysAllow' } });
    expect(await a.check(request({ authorization: 'Bearer t' }))).toMatchObject({ ok: false, code: 401 });
    await a.check(request({ authorization: 'Bearer t' }));
    expect(calls).toBe(2);
  });

  it('caches allowed decisions 5 minutes and denied ones 30 seconds; an authorizer error is a 500 as kube words it', async () => {
    let now = 0;
    const client = new FakeClient();
    let calls = 0;
    let allow = true;
    let fail = false;
    client.prependReactor('create', 'subjectaccessreviews', () => {
      calls++;
      if (fail) return { handled: true, err: new Error('timeout') };
      return { handled: true, ret: { status: { allowed: allow } } };
    });
    const a = new KubeletAuth({ nodeName: 'n', anonymous: true, authorization: { mode: 'Webhook', client }, now: () => now });
    const attrs = requestAttributes({ username: 'x', groups: [] }, 'n', 'GET', '/pods');
    expect((await a.authorize(attrs)).decision).toBe('Allow');
    now += 299_000;
    expect((await a.authorize(attrs)).decision).toBe('Allow');
    expect(calls).toBe(1);
    now += 2000;
    allow = false;
    expect((await a.authorize(attrs)).decision).toBe('NoOpinion');
    now += 29_000;
    await a.authorize(attrs);
    expect(calls).toBe(2);
    now += 2000;
    fail = true;
    expect(await a.check(request({}))).toEqual({ ok: false, code: 500, message: 'Authorization error (user=system:anonymous, verb=get, resource=nodes, subresource=proxy)' });
  });
});

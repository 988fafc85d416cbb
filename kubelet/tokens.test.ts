import { describe, expect, it } from 'vitest';
import { errors } from '../api/errors.js';
import { FakeClient, type Action } from '../client/fake.js';
import { TokenManager } from './tokens.js';

const HOUR = 3600_000;

/** A TokenRequest endpoint over the fake client: tok-1, tok-2, ... valid for the asked seconds from the clock. */
function tokenAPI(clock: { now: number }, opts: { ttlOverride?: number } = {}) {
  const client = new FakeClient();
  const asked: Action[] = [];
  let n = 0;
  let fail: Error | undefined;
  client.prependReactor('create', 'serviceaccounts', (a) => {
    if (a.subresource !== 'token') return { handled: false };
    asked.push(a);
    if (fail) return { handled: true, err: fail };
    const body = a.object as { spec: { expirationSeconds: number } };
    const ttl = opts.ttlOverride ?? body.spec.expirationSeconds;
    return { handled: true, ret: { ...body, spec: { ...body.spec, expirationSeconds: ttl }, status: { token: `tok-${++n}`, expirationTimestamp: new Date(clock.now + ttl * 1000).toISOString() } } };
  });
  return { client, asked, failWith: (e?: Error) => { fail = e; } };
}

const spec = (uid = 'uid-1', expirationSeconds = 3607) => ({ expirationSeconds, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p', uid } });

describe('TokenManager (kube\'s pkg/kubelet/token)', () => {
  it('asks the TokenRequest API bound to the pod and caches the token', async () => {
    const clock = { now: Date.parse('2025-01-01T00:00:00Z') };
    const api = tokenAPI(clock);
    const m = new TokenManager({ client: api.client, now: () => clock.now, random: () => 0 });
    const first = await m.get('default', 'default', { audiences: ['api'], ...spec() });
    expect(first.status.token).toBe('tok-1');
    expect(api.asked).toHaveLength(1);
    expect(api.asked[0]).toMatchObject({ verb: 'create', resource: 'serviceaccounts', namespace: 'default', name: 'default', subresource: 'token' });
    expect((api.asked[0].object as { spec: unknown }).spec).toEqual({ audiences: ['api'], expirationSeconds: 3607, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p', uid: 'uid-1' } });
    expect((await m.get('default', 'default', { audiences: ['api'], ...spec() })).status.token).toBe('tok-1');
    // Another pod, audience or lifetime is another token.
    expect((await m.get('default', 'default', { audiences: ['api'], ...spec('uid-2') })).status.token).toBe('tok-2');
    expect((await m.get('default', 'default', spec())).status.token).toBe('tok-3');
    expect(api.asked).toHaveLength(3);
  });

  it('refreshes once 80% of the lifetime has passed, not before', async () => {
    const clock = { now: Date.parse('2025-01-01T00:00:00Z') };
    const api = tokenAPI(clock);
    const m = new TokenManager({ client: api.client, now: () => clock.now, random: () => 0 });
    await m.get('ns', 'sa', spec('u', 1000));
    clock.now += 799_000;
    expect((await m.get('ns', 'sa', spec('u', 1000))).status.token).toBe('tok-1');
    clock.now += 2_000;
    expect((await m.get('ns', 'sa', spec('u', 1000))).status.token).toBe('tok-2');
    expect(api.asked).toHaveLength(2);
  });

  it('refreshes a token older than 24 hours even when its lifetime is longer, and uses the lifetime the server granted', async () => {
    const clock = { now: Date.parse('2025-01-01T00:00:00Z') };
    // The server extends the legacy 3607 s lifetime to a year (kube's --service-account-extend-token-expiration).
    const api = tokenAPI(clock, { ttlOverride: 365 * 24 * 3600 });
    const m = new TokenManager({ client: api.client, now: () => clock.now, random: () => 0 });
    await m.get('ns', 'sa', spec());
    clock.now += 2 * HOUR;
    expect((await m.get('ns', 'sa', spec())).status.token).toBe('tok-1');
    clock.now += 22 * HOUR + 1000;
    expect((await m.get('ns', 'sa', spec())).status.token).toBe('tok-2');
  });

  it('keeps the current token when a refresh fails, until it has expired', async () => {
    const clock = { now: Date.parse('2025-01-01T00:00:00Z') };
    const api = tokenAPI(clock);
    const m = new TokenManager({ client: api.client, now: () => clock.now, random: () => 0 });
    await m.get('ns', 'sa', spec('u', 1000));
    api.failWith(errors.serviceUnavailable('apiserver is down'));
    clock.now += 900_000;
    expect((await m.get('ns', 'sa', spec('u', 1000))).status.token).toBe('tok-1');
    clock.now += 101_000;
    await expect(m.get('ns', 'sa', spec('u', 1000))).rejects.toThrow(/expired and refresh failed: apiserver is down/);
    const fresh = new TokenManager({ client: api.client, now: () => clock.now });
    await expect(fresh.get('ns', 'sa', spec())).rejects.toThrow('failed to fetch token: apiserver is down');
  });

  it('forgets a pod\'s tokens, and drops expired ones on cleanup', async () => {
    const clock = { now: Date.parse('2025-01-01T00:00:00Z') };
    const api = tokenAPI(clock);
    const m = new TokenManager({ client: api.client, now: () => clock.now, random: () => 0 });
    await m.get('ns', 'sa', spec('a', 1000));
    await m.get('ns', 'sa', spec('b', 5000));
    expect(m.size()).toBe(2);
    m.deletePodTokens('a');
    expect(m.size()).toBe(1);
    clock.now += 5001_000;
    m.cleanup();
    expect(m.size()).toBe(0);
  });

  it('never puts the token in an error message', async () => {
    const clock = { now: Date.parse('2025-01-01T00:00:00Z') };
    const api = tokenAPI(clock);
    const m = new TokenManager({ client: api.client, now: () => clock.now, random: () => 0 });
    await m.get('ns', 'sa', spec('u', 1000));
    api.failWith(new Error('boom'));
    clock.now += 2000_000;
    const e = await m.get('ns', 'sa', spec('u', 1000)).catch((x: Error) => x);
    expect(String(e)).toMatch(/boom/);
    expect(String(e)).not.toMatch(/tok-1/);
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeClient } from './fake.js';
import { LeaderElector, leaderElectionConfigFromFlags, leaderElectionFlags } from './leaderelection.js';
import { R } from '../api/resources.js';
import { errors } from '../api/errors.js';
import type { Lease } from '../api/types.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function candidate(client: FakeClient, identity: string, releaseOnCancel = false) {
  const events: string[] = [];
  let signal: AbortSignal | undefined;
  const le = new LeaderElector({
    client, namespace: 'kube-system', name: 'test', identity, releaseOnCancel,
    callbacks: {
      onStartedLeading: (s) => { signal = s; events.push('started'); },
      onStoppedLeading: () => events.push('stopped'),
      onNewLeader: (id) => events.push(`leader ${id}`),
    },
  });
  const done = le.run();
  return { le, events, done, signal: () => signal };
}

const lease = (c: FakeClient) => c.resource<Lease>(R.leases, 'kube-system').get('test');

describe('LeaderElector', () => {
  it('of two candidates racing for a new lease exactly one leads', async () => {
    const c = new FakeClient();
    const a = candidate(c, 'a');
    const b = candidate(c, 'b');
    await vi.advanceTimersByTimeAsync(10_000);
    expect([a.le.isLeader(), b.le.isLeader()].filter(Boolean)).toHaveLength(1);
    const leader = a.le.isLeader() ? a : b;
    const other = leader === a ? b : a;
    expect(leader.events).toContain('started');
    expect(other.events).not.toContain('started');
    expect(other.events).toContain(`leader ${leader.le.identity}`);
    expect((await lease(c)).spec).toMatchObject({ holderIdentity: leader.le.identity, leaseDurationSeconds: 15, leaseTransitions: 0 });
    await a.le.stop();
    await b.le.stop();
  });

  it('takes over an abandoned lease only after one lease duration of no change', async () => {
    const c = new FakeClient();
    const a = candidate(c, 'a');
    await vi.advanceTimersByTimeAsync(100);
    expect(a.le.isLeader()).toBe(true);
    const b = candidate(c, 'b');
    await vi.advanceTimersByTimeAsync(100);
    // a stops renewing without releasing, as a crashed process would.
    await a.le.stop();
    expect(a.events).toEqual(['leader a', 'started', 'stopped']);
    expect(a.signal()?.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(12_000);
    expect(b.le.isLeader()).toBe(false);
    await vi.advanceTimersByTimeAsync(6_000);
    expect(b.le.isLeader()).toBe(true);
    expect((await lease(c)).spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await b.le.stop();
  });

  it('releases on graceful stop so a successor takes over at its next retry', async () => {
    const c = new FakeClient();
    const a = candidate(c, 'a', true);
    await vi.advanceTimersByTimeAsync(100);
    const b = candidate(c, 'b');
    await vi.advanceTimersByTimeAsync(100);
    await a.le.stop();
    expect((await lease(c)).spec.holderIdentity).toBeUndefined();
    await vi.advanceTimersByTimeAsync(2_500);
    expect(b.le.isLeader()).toBe(true);
    await b.le.stop();
  });

  it('stops leading when renewals fail for the renew deadline', async () => {
    const c = new FakeClient();
    const a = candidate(c, 'a');
    await vi.advanceTimersByTimeAsync(100);
    expect(a.events).toContain('started');
    c.prependReactor('update', 'leases', () => ({ handled: true, err: errors.serviceUnavailable('etcd down') }));
    await vi.advanceTimersByTimeAsync(8_000);
    expect(a.events).not.toContain('stopped');
    await vi.advanceTimersByTimeAsync(4_500);
    await a.done;
    expect(a.events.at(-1)).toBe('stopped');
    expect(a.signal()?.aborted).toBe(true);
  });

  it('a leader renews with one update per retry period, without reading the lease first (client-go\'s fast path)', async () => {
    const c = new FakeClient();
    const a = candidate(c, 'a');
    await vi.advanceTimersByTimeAsync(100);
    expect(a.le.isLeader()).toBe(true);
    c.actions.length = 0;
    await vi.advanceTimersByTimeAsync(10_000);
    const verbs = c.actions.filter((x) => x.resource === 'leases').map((x) => x.verb);
    expect(verbs).toEqual(['update', 'update', 'update', 'update', 'update']);
    const spec = (await lease(c)).spec;
    expect(spec).toMatchObject({ holderIdentity: 'a', leaseTransitions: 0 });
    expect(Date.parse(spec.renewTime!)).toBeGreaterThan(Date.parse(spec.acquireTime!));
    await a.le.stop();
  });

  it('a leader whose lease someone else changed falls back to reading it, and follows the new holder', async () => {
    const c = new FakeClient();
    const a = candidate(c, 'a');
    await vi.advanceTimersByTimeAsync(100);
    expect(a.le.isLeader()).toBe(true);
    // Another candidate took the lease over (as after a's lease had expired on its clock).
    const leases = c.resource<Lease>(R.leases, 'kube-system');
    const current = await leases.get('test');
    await leases.update({ ...current, spec: { ...current.spec, holderIdentity: 'b', leaseTransitions: 1 } });
    c.actions.length = 0;
    await vi.advanceTimersByTimeAsync(2_100);
    // The optimistic update conflicts, the read shows b holding a lease that has not expired: a stops leading.
    expect(c.actions.filter((x) => x.resource === 'leases').map((x) => x.verb)).toEqual(['update', 'get']);
    expect(a.le.isLeader()).toBe(false);
    expect(a.le.getLeader()).toBe('b');
    expect((await lease(c)).spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await vi.advanceTimersByTimeAsync(10_000);
    await a.done;
    expect(a.events).toEqual(['leader a', 'started', 'leader b', 'stopped']);
  });

  it('flag defaults match kube components', () => {
    expect(leaderElectionConfigFromFlags({ ...leaderElectionFlags, leaderElectResourceName: 'kube-scheduler' })).toEqual({
      namespace: 'kube-system', name: 'kube-scheduler', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000,
    });
  });
});

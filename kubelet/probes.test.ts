import { afterEach, describe, expect, it } from 'vitest';
import type { Pod } from '../api/types.js';
import { waitFor } from '../test/util/ports.js';
import { ProbeManager, resolvePort, type ProbeKind, type ProbeResult } from './probes.js';
import { FakeRuntime } from './runtime/fake.js';

function pod(probes: Partial<Record<'livenessProbe' | 'readinessProbe' | 'startupProbe', object>>): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u1' }, spec: { containers: [{ name: 'c', image: 'busybox:latest', ports: [{ name: 'http', containerPort: 8080 }], ...probes }] } };
}

describe('ProbeManager', () => {
  let mgr: ProbeManager | undefined;
  afterEach(() => mgr?.stop());

  it('resolves named ports', () => {
    const c = pod({}).spec.containers[0];
    expect(resolvePort('http', c)).toBe(8080);
    expect(resolvePort(81, c)).toBe(81);
    expect(resolvePort('nope', c)).toBeUndefined();
  });

  it('starts readiness as Failure and flips after successThreshold, liveness after failureThreshold', async () => {
    const rt = new FakeRuntime();
    let ok = true;
    rt.execHandler = () => ({ exitCode: ok ? 0 : 1, stdout: '', stderr: '', timedOut: false });
    const changes: [ProbeKind, ProbeResult][] = [];
    mgr = new ProbeManager(rt, (_uid, kind, _c, r) => changes.push([kind, r]));
    const p = pod({
      readinessProbe: { exec: { command: ['r'] }, periodSeconds: 0.05, successThreshold: 2 },
      livenessProbe: { exec: { command: ['l'] }, periodSeconds: 0.05, failureThreshold: 3 },
    });
    mgr.update(p, new Map([['c', { containerId: 'id1', startedAt: Date.now() }]]), '172.17.0.9');
    expect(mgr.result('u1', 'c', 'readiness')).toBe('Failure');
    expect(mgr.result('u1', 'c', 'liveness')).toBe('Success');
    await waitFor('ready', () => mgr!.result('u1', 'c', 'readiness') === 'Success', 3000, 10);
    const execsBefore = rt.ops('exec').filter((c) => (c.args[1] as string[])[0] === 'l').length;
    ok = false;
    await waitFor('liveness failed', () => mgr!.result('u1', 'c', 'liveness') === 'Failure', 3000, 10);
    const livenessRuns = rt.ops('exec').filter((c) => (c.args[1] as string[])[0] === 'l').length - execsBefore;
    expect(livenessRuns).toBeGreaterThanOrEqual(3);
    expect(changes).toContainEqual(['liveness', 'Failure']);
    // On hold after a liveness failure: no more liveness probes of this container.
    const held = rt.ops('exec').filter((c) => (c.args[1] as string[])[0] === 'l').length;
    await new Promise((r) => setTimeout(r, 200));
    expect(rt.ops('exec').filter((c) => (c.args[1] as string[])[0] === 'l').length).toBe(held);
    // A new container starts over.
    mgr.update(p, new Map([['c', { containerId: 'id2', startedAt: Date.now() }]]), '172.17.0.9');
    expect(mgr.result('u1', 'c', 'liveness')).toBe('Success');
    expect(mgr.result('u1', 'c', 'readiness')).toBe('Failure');
  });

  it('holds liveness and readiness until the startup probe succeeds, and honours initialDelaySeconds', async () => {
    const rt = new FakeRuntime();
    let started = false;
    rt.execHandler = (_id, cmd) => ({ exitCode: cmd[0] === 's' ? (started ? 0 : 1) : 0, stdout: '', stderr: '', timedOut: false });
    mgr = new ProbeManager(rt, () => {});
    mgr.update(pod({
      startupProbe: { exec: { command: ['s'] }, periodSeconds: 0.05, failureThreshold: 1000 },
      readinessProbe: { exec: { command: ['r'] }, periodSeconds: 0.05 },
    }), new Map([['c', { containerId: 'id1', startedAt: Date.now() }]]), undefined);
    await new Promise((r) => setTimeout(r, 200));
    expect(rt.ops('exec').some((c) => (c.args[1] as string[])[0] === 'r')).toBe(false);
    expect(mgr.started('u1', 'c')).toBe(false);
    started = true;
    await waitFor('ready after startup', () => mgr!.result('u1', 'c', 'readiness') === 'Success', 3000, 10);
    expect(mgr.started('u1', 'c')).toBe(true);

    const rt2 = new FakeRuntime();
    const m2 = new ProbeManager(rt2, () => {});
    m2.update(pod({ readinessProbe: { exec: { command: ['r'] }, periodSeconds: 0.05, initialDelaySeconds: 0.3 } }), new Map([['c', { containerId: 'x', startedAt: Date.now() }]]), undefined);
    await new Promise((r) => setTimeout(r, 150));
    expect(rt2.ops('exec')).toHaveLength(0);
    await waitFor('probed after the delay', () => m2.result('u1', 'c', 'readiness') === 'Success', 3000, 10);
    m2.stop();
  });
});

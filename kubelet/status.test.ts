import { describe, expect, it } from 'vitest';
import type { ContainerStatus, Pod } from '../api/types.js';
import { pullAllowed, pullPolicy, registryHost } from './images.js';
import { computePodStatus, podPhase } from './status.js';
import type { RuntimeContainer } from './runtime/interface.js';

const pod = (restartPolicy: 'Always' | 'OnFailure' | 'Never' = 'Always'): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u' },
  spec: { restartPolicy, containers: [{ name: 'a', image: 'busybox:latest' }, { name: 'b', image: 'busybox:latest' }] },
});
const running: ContainerStatus = { name: 'a', ready: true, restartCount: 0, image: '', imageID: '', state: { running: {} } };
const done = (exitCode: number): ContainerStatus => ({ name: 'a', ready: false, restartCount: 0, image: '', imageID: '', state: { terminated: { exitCode } } });
const backoff: ContainerStatus = { name: 'a', ready: false, restartCount: 2, image: '', imageID: '', state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1 } } };
const creating: ContainerStatus = { name: 'a', ready: false, restartCount: 0, image: '', imageID: '', state: { waiting: { reason: 'ContainerCreating' } } };

describe('podPhase (kubelet getPhase)', () => {
  it('follows the restart policy', () => {
    expect(podPhase(pod(), [running, creating])).toBe('Pending');
    expect(podPhase(pod(), [running, backoff])).toBe('Running');
    expect(podPhase(pod(), [done(0), done(0)])).toBe('Running');
    expect(podPhase(pod('Never'), [done(0), done(0)])).toBe('Succeeded');
    expect(podPhase(pod('Never'), [done(0), done(2)])).toBe('Failed');
    expect(podPhase(pod('OnFailure'), [done(0), done(0)])).toBe('Succeeded');
    expect(podPhase(pod('OnFailure'), [done(0), backoff])).toBe('Running');
    expect(podPhase(pod(), [done(0), done(137)], true)).toBe('Failed');
  });
});

describe('computePodStatus', () => {
  const c = (id: string, state: RuntimeContainer['state'], extra: Partial<RuntimeContainer> = {}): RuntimeContainer => ({
    id, labels: { 'io.kubernetes.container.restartCount': '1' }, state, createdAt: '2024-01-01T00:00:00Z', startedAt: '2024-01-01T00:00:01Z', image: 'busybox:latest', imageID: 'sha256:abc', ...extra,
  });
  it('keeps lastTransitionTime while a condition holds, and reports unready containers', () => {
    const p = pod();
    const first = computePodStatus(p, {
      views: [
        { name: 'a', image: 'busybox:latest', current: c('1', 'running'), previous: c('0', 'exited', { exitCode: 137, oomKilled: true, finishedAt: '2024-01-01T00:00:02Z' }), ready: true, started: true },
        { name: 'b', image: 'busybox:latest', current: c('2', 'running'), ready: false, started: true },
      ],
      podIP: '172.17.0.5', hostIP: '127.0.0.1', sandboxReady: true, startTime: '2024-01-01T00:00:00Z', now: '2024-01-01T00:01:00Z',
    });
    expect(first.phase).toBe('Running');
    expect(first.containerStatuses![0]).toMatchObject({ restartCount: 1, containerID: 'docker://1', imageID: 'docker://sha256:abc', lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } } });
    expect(first.conditions!.find((x) => x.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [b]' });
    const second = computePodStatus({ ...p, status: first }, {
      views: [
        { name: 'a', image: 'busybox:latest', current: c('1', 'running'), ready: true, started: true },
        { name: 'b', image: 'busybox:latest', current: c('2', 'running'), ready: true, started: true },
      ],
      podIP: '172.17.0.5', hostIP: '127.0.0.1', sandboxReady: true, startTime: 'later', now: '2024-01-01T00:02:00Z',
    });
    expect(second.startTime).toBe('2024-01-01T00:00:00Z');
    expect(second.conditions!.find((x) => x.type === 'Ready')).toMatchObject({ status: 'True', lastTransitionTime: '2024-01-01T00:02:00Z' });
    expect(second.conditions!.find((x) => x.type === 'Initialized')!.lastTransitionTime).toBe('2024-01-01T00:01:00Z');
  });
});

describe('image references', () => {
  it('finds the registry and the default pull policy', () => {
    expect(registryHost('busybox')).toBe('docker.io');
    expect(registryHost('library/busybox:1')).toBe('docker.io');
    expect(registryHost('skiff.invalid/missing:1')).toBe('skiff.invalid');
    expect(registryHost('localhost:5000/x')).toBe('localhost:5000');
    expect(pullAllowed('127.0.0.1:5000/x:1')).toBe(true);
    expect(pullAllowed('localhost/x')).toBe(true);
    expect(pullAllowed('busybox:latest')).toBe(false);
    expect(pullPolicy({ name: 'c', image: 'busybox' })).toBe('Always');
    expect(pullPolicy({ name: 'c', image: 'busybox:latest' })).toBe('Always');
    expect(pullPolicy({ name: 'c', image: 'busybox:1.36' })).toBe('IfNotPresent');
    expect(pullPolicy({ name: 'c', image: 'localhost:5000/busybox' })).toBe('Always');
    expect(pullPolicy({ name: 'c', image: 'busybox:1', imagePullPolicy: 'Never' })).toBe('Never');
  });
});

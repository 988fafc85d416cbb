import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { R } from '../api/resources.js';
import type { Pod } from '../api/types.js';
import { FakeClient } from '../client/fake.js';
import { SharedInformerFactory } from '../client/informer.js';
import { waitFor } from '../test/util/ports.js';
import { Kubelet } from './kubelet.js';
import { FakeRuntime } from './runtime/fake.js';
import type { ContainerConfig } from './runtime/interface.js';

const NODE = 'n1';

function pod(name: string, spec: Partial<Pod['spec']> = {}, uid = `uid-${name}`): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', uid },
    spec: { nodeName: NODE, containers: [{ name: 'c', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }], ...spec },
  };
}

describe('Kubelet with the fake runtime', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  function setup(...pods: Pod[]) {
    const client = new FakeClient(...pods.map((p) => [R.pods, p] as [typeof R.pods, Pod]));
    const runtime = new FakeRuntime();
    const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubelet-unit-'));
    const make = () => {
      const k = new Kubelet({ client, runtime, nodeName: NODE, nodeIP: '127.0.0.1', rootDir, relistMs: 50 });
      const inf = new SharedInformerFactory(client);
      k.start(inf);
      cleanups.push(() => k.stop());
      return k;
    };
    const kubelet = make();
    cleanups.push(() => fs.rmSync(rootDir, { recursive: true, force: true }));
    const get = async (name: string) => client.resource<Pod>(R.pods, 'default').get(name);
    return { client, runtime, kubelet, get, make, rootDir };
  }

  it('starts the sandbox, then the container in its namespaces, and reports Running and Ready', async () => {
    const p = pod('a');
    p.spec.containers[0].env = [{ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }, { name: 'X', value: '$(POD)-x' }];
    const { runtime, get } = setup(p);
    const uid = (await get('a')).metadata.uid;
    const cur = await waitFor('Ready', async () => {
      const x = await get('a');
      return x.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? x : undefined;
    }, 5000);
    const sandbox = runtime.ops('runSandbox')[0].args[0] as { hostname: string; labels: Record<string, string>; image: string };
    expect(sandbox.hostname).toBe('a');
    expect(sandbox.image).toBe('skiff/pause:3.10');
    expect(sandbox.labels).toMatchObject({ 'io.kubernetes.pod.name': 'a', 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.pod.uid': uid, 'io.kubernetes.container.name': 'POD', 'skiff.node': NODE });
    const cfg = runtime.ops('createContainer')[0].args[0] as ContainerConfig;
    const sandboxId = runtime.find('a', 'POD')!.id;
    expect(cfg.sandboxId).toBe(sandboxId);
    expect(cfg.entrypoint).toEqual(['sleep', '3600']);
    expect(cfg.env).toEqual(['POD=a', `IP=${runtime.find('a', 'POD')!.ip}`, 'X=a-x']);
    expect(cfg.labels['io.kubernetes.container.name']).toBe('c');
    expect(cur.status!.phase).toBe('Running');
    expect(cur.status!.podIP).toBe(runtime.find('a', 'POD')!.ip);
    expect(cur.status!.containerStatuses![0]).toMatchObject({ name: 'c', ready: true, started: true, restartCount: 0, containerID: `docker://${runtime.find('a', 'c')!.id}` });
  });

  it('restarts at once after the first exit, then backs off with CrashLoopBackOff', async () => {
    const { runtime, get } = setup(pod('b'));
    await waitFor('running', () => runtime.find('b', 'c'), 5000);
    runtime.exit(runtime.find('b', 'c')!.id, 3);
    await waitFor('restarted', () => runtime.find('b', 'c')?.labels['io.kubernetes.container.restartCount'] === '1', 5000);
    runtime.exit(runtime.find('b', 'c')!.id, 3);
    const cur = await waitFor('CrashLoopBackOff', async () => {
      const x = await get('b');
      return x.status?.containerStatuses?.[0].state?.waiting?.reason === 'CrashLoopBackOff' ? x : undefined;
    }, 5000);
    const cs = cur.status!.containerStatuses![0];
    expect(cs.restartCount).toBe(1);
    expect(cs.lastState!.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(cs.state!.waiting!.message).toBe(`back-off 10s restarting failed container=c pod=b_default(${cur.metadata.uid})`);
    expect(cur.status!.phase).toBe('Running');
    expect(runtime.ops('createContainer')).toHaveLength(2);
  });

  it('finishes a restartPolicy Never pod as Succeeded and stops its sandbox', async () => {
    const { runtime, get } = setup(pod('c', { restartPolicy: 'Never' }));
    await waitFor('running', () => runtime.find('c', 'c'), 5000);
    runtime.exit(runtime.find('c', 'c')!.id, 0);
    const cur = await waitFor('Succeeded', async () => { const x = await get('c'); return x.status?.phase === 'Succeeded' ? x : undefined; }, 5000);
    expect(cur.status!.containerStatuses![0].state!.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(cur.status!.conditions!.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
    await waitFor('sandbox stopped', () => runtime.find('c', 'POD', 'exited'), 5000);
    expect(runtime.ops('createContainer')).toHaveLength(1);
  });

  it('reports OOMKilled', async () => {
    const { runtime, get } = setup(pod('o', { restartPolicy: 'Never' }));
    await waitFor('running', () => runtime.find('o', 'c'), 5000);
    runtime.exit(runtime.find('o', 'c')!.id, 137, true);
    const cur = await waitFor('Failed', async () => { const x = await get('o'); return x.status?.phase === 'Failed' ? x : undefined; }, 5000);
    expect(cur.status!.containerStatuses![0].state!.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
  });

  it('fails image pulls by policy without touching other pods', async () => {
    const missing = pod('m');
    missing.spec.containers[0].image = 'skiff.invalid/missing:1';
    const never = pod('nv');
    never.spec.containers[0] = { name: 'c', image: 'nothere:1', imagePullPolicy: 'Never' };
    const always = pod('al');
    always.spec.containers[0].imagePullPolicy = 'Always';
    const { runtime, get } = setup(missing, never, always, pod('ok'));
    const reasons = new Set<string>();
    await waitFor('ImagePullBackOff', async () => {
      const r = (await get('m')).status?.containerStatuses?.[0].state?.waiting?.reason;
      if (r) reasons.add(r);
      return reasons.has('ImagePullBackOff');
    }, 5000, 20);
    expect(reasons.has('ErrImagePull')).toBe(true);
    const m = await get('m');
    expect(m.status!.phase).toBe('Pending');
    const nv = await waitFor('ErrImageNeverPull', async () => { const x = await get('nv'); return x.status?.containerStatuses?.[0].state?.waiting?.reason === 'ErrImageNeverPull' ? x : undefined; }, 5000);
    expect(nv.status!.containerStatuses![0].state!.waiting!.message).toBe('Container image "nothere:1" is not present with pull policy of Never');
    // Only loopback registries are ever pulled from; Always with a local image runs the local image.
    expect(runtime.ops('pull')).toHaveLength(0);
    await waitFor('always and ok running', () => runtime.find('al', 'c') && runtime.find('ok', 'c'), 5000);
  });

  it('adopts running containers after a restart instead of starting them again', async () => {
    const { runtime, get, kubelet, make } = setup(pod('d'));
    await waitFor('Ready', async () => (await get('d')).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True', 5000);
    kubelet.stop();
    const creates = runtime.ops('createContainer').length;
    const sandboxes = runtime.ops('runSandbox').length;
    const k2 = make();
    await waitFor('synced', () => k2.hasSynced(), 5000);
    await new Promise((r) => setTimeout(r, 300));
    expect(runtime.ops('createContainer')).toHaveLength(creates);
    expect(runtime.ops('runSandbox')).toHaveLength(sandboxes);
    expect(runtime.ops('stop')).toHaveLength(0);
  });

  it('removes containers of pods that no longer exist', async () => {
    const { runtime, client } = setup(pod('e'));
    await waitFor('running', () => runtime.find('e', 'c'), 5000);
    await client.resource(R.pods, 'default').delete('e', { gracePeriodSeconds: 0 });
    await waitFor('containers removed', () => runtime.containers.size === 0, 5000);
  });

  it('terminates a pod with a deletionTimestamp gracefully, then deletes it with grace 0 and its UID', async () => {
    const p = pod('f', { terminationGracePeriodSeconds: 7 });
    // A finalizer keeps the fake's object around with a deletionTimestamp, as graceful deletion does.
    p.metadata.finalizers = ['test/hold'];
    p.spec.containers[0].lifecycle = { preStop: { exec: { command: ['echo', 'bye'] } } };
    const { runtime, client, get } = setup(p);
    await waitFor('running', () => runtime.find('f', 'c'), 5000);
    const uid = (await get('f')).metadata.uid;
    await client.resource<Pod>(R.pods, 'default').delete('f', { gracePeriodSeconds: 7 });
    await waitFor('deleted', () => client.actions.find((a) => a.verb === 'delete' && a.name === 'f' && (a.object as any)?.gracePeriodSeconds === 0), 5000);
    const del = client.actions.find((a) => a.verb === 'delete' && a.name === 'f' && (a.object as any)?.gracePeriodSeconds === 0)!;
    expect(del.object).toEqual({ gracePeriodSeconds: 0, preconditions: { uid } });
    const execIdx = runtime.calls.findIndex((c) => c.op === 'exec' && (c.args[1] as string[])[0] === 'echo');
    const stopIdx = runtime.calls.findIndex((c) => c.op === 'stop' && c.args[0] !== runtime.find('f', 'POD', 'any')?.id);
    expect(execIdx).toBeGreaterThanOrEqual(0);
    expect(stopIdx).toBeGreaterThan(execIdx);
    expect(runtime.calls[stopIdx].args[1]).toBeGreaterThanOrEqual(6);
    await waitFor('containers removed', () => runtime.containers.size === 0, 5000);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { R } from '../api/resources.js';
import type { Pod, Service } from '../api/types.js';
import { FakeClient } from '../client/fake.js';
import { SharedInformerFactory } from '../client/informer.js';
import { waitFor } from '../test/util/ports.js';
import { KubeletAuth } from './auth.js';
import { Kubelet } from './kubelet.js';
import { createServer } from './server.js';
import { servingPair, testCA } from './testpki.js';
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

  function setup(...objs: (Pod | Service)[]) {
    const client = new FakeClient(...objs.map((o) => [o.kind === 'Service' ? R.services : R.pods, o] as [typeof R.pods, Pod]));
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
    const sandbox = runtime.ops('createSandbox')[0].args[0] as { hostname: string; labels: Record<string, string>; image: string };
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

  it('creates the container while the sandbox starts, and starts it only once the sandbox runs', async () => {
    const { runtime, get } = setup(pod('ov'));
    let open!: () => void;
    runtime.sandboxStartGate = new Promise((r) => (open = r));
    await waitFor('container created', () => runtime.ops('createContainer').length > 0, 5000);
    expect(runtime.find('ov', 'POD', 'any')!.state).toBe('created');
    expect(runtime.find('ov', 'c', 'any')!.state).toBe('created');
    expect(runtime.ops('start')).toHaveLength(0);
    open();
    await waitFor('Ready', async () => (await get('ov')).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True', 5000);
    const sandboxStart = runtime.calls.findIndex((c) => c.op === 'startSandbox');
    const appStart = runtime.calls.findIndex((c) => c.op === 'start');
    expect(appStart).toBeGreaterThan(sandboxStart);
  });

  it('asks whether the app image is present beside the sandbox create, once, and pulls nothing that is there', async () => {
    const { runtime, get } = setup(pod('img'));
    await waitFor('Ready', async () => (await get('img')).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True', 5000);
    const asks = runtime.calls.flatMap((c, i) => (c.op === 'imageID' && c.args[0] === 'busybox:latest' ? [i] : []));
    expect(asks).toHaveLength(1);
    expect(asks[0]).toBeLessThan(runtime.calls.findIndex((c) => c.op === 'createSandbox'));
    expect(runtime.ops('pull')).toHaveLength(0);
  });

  it('starts the container as soon as the sandbox runs, before the sandbox has been inspected for its IP', async () => {
    const { runtime, get } = setup(pod('early'));
    let open!: () => void;
    runtime.sandboxInspectGate = new Promise((r) => (open = r));
    await waitFor('container started', () => runtime.find('early', 'c'), 5000);
    // Only the ContainerCreating status written before the start: not Running yet.
    expect((await get('early')).status?.phase ?? 'Pending').toBe('Pending');
    open();
    const cur = await waitFor('Ready', async () => {
      const x = await get('early');
      return x.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? x : undefined;
    }, 5000);
    expect(cur.status!.podIP).toBe(runtime.find('early', 'POD')!.ip);
  });

  it('starts the container beside the rest of the network set-up, and reports the pod only once that is done', async () => {
    const { runtime, get } = setup(pod('net'));
    let open!: () => void;
    runtime.sandboxNetwork = new Promise((r) => (open = r));
    await waitFor('container started', () => runtime.find('net', 'c'), 5000);
    await new Promise((r) => setTimeout(r, 100));
    // Only the ContainerCreating status written before the start: not Running yet.
    expect((await get('net')).status?.phase ?? 'Pending').toBe('Pending');
    open();
    await waitFor('Ready', async () => (await get('net')).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True', 5000);
  });

  it('removes a container made for a sandbox that failed to start, and starts the pod in a new sandbox', async () => {
    const { runtime, get } = setup(pod('sf'));
    runtime.failNextSandboxStart = 'failed to set up network';
    await waitFor('Ready', async () => (await get('sf')).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True', 5000);
    expect(runtime.ops('createSandbox')).toHaveLength(2);
    const of = (name: string) => [...runtime.containers.values()].filter((c) => c.labels['io.kubernetes.pod.name'] === 'sf' && c.labels['io.kubernetes.container.name'] === name);
    expect(of('c').map((c) => c.state)).toEqual(['running']);
    expect(of('POD').map((c) => c.state)).toEqual(['running']);
    expect(of('c')[0].config!.sandboxId).toBe(of('POD')[0].id);
    // The first container went with its sandbox rather than waiting for a start that could only fail.
    expect(runtime.ops('createContainer')).toHaveLength(2);
    expect(runtime.ops('start').map((c) => c.args[0])).toEqual([of('c')[0].id]);
  });

  it('does not sync a started pod again for its own status write or for states its sync already saw', async () => {
    const { runtime, get } = setup(pod('once'));
    const uid = (await get('once')).metadata.uid;
    await waitFor('Ready', async () => (await get('once')).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True', 5000);
    await new Promise((r) => setTimeout(r, 300)); // several relists (every 50 ms)
    const lists = () => runtime.ops('list').filter((c) => (c.args[0] as Record<string, string>)['io.kubernetes.pod.uid'] === uid).length;
    // Before and after the start (one, when a relist ran before the first sync).
    expect(lists()).toBeLessThanOrEqual(2);
    // A change no sync has seen still gets one, from the relist alone (no event).
    const app = runtime.find('once', 'c')!;
    app.state = 'exited';
    app.exitCode = 1;
    app.finishedAt = new Date().toISOString();
    await waitFor('restarted', () => runtime.find('once', 'c')?.labels['io.kubernetes.container.restartCount'] === '1', 5000);
  });

  it('does not list the runtime for a new pod the relist found nothing of (before or after its first sync), and adopts what a previous kubelet left when it did', async () => {
    const client = new FakeClient([R.pods, pod('fresh')]);
    const runtime = new FakeRuntime();
    const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubelet-unit-'));
    cleanups.push(() => fs.rmSync(rootDir, { recursive: true, force: true }));
    const start = async () => {
      const k = new Kubelet({ client, runtime, nodeName: NODE, nodeIP: '127.0.0.1', rootDir, relistMs: 50 });
      cleanups.push(() => k.stop());
      await k.relist(); // completed before the pod is seen
      k.start(new SharedInformerFactory(client));
      return k;
    };
    const get = () => client.resource<Pod>(R.pods, 'default').get('fresh');
    const uid = (await get()).metadata.uid;
    const lists = () => runtime.ops('list').filter((c) => (c.args[0] as Record<string, string>)['io.kubernetes.pod.uid'] === uid).length;
    const k1 = await start();
    await waitFor('Ready', async () => (await get()).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True', 5000);
    await new Promise((r) => setTimeout(r, 200));
    // Not before the first sync, nor after it: the pod's containers are the ones that sync made.
    expect(lists()).toBe(0);
    const st = (await get()).status!;
    expect(st.podIP).toBe(runtime.find('fresh', 'POD')!.ip);
    expect(st.containerStatuses![0]).toMatchObject({ ready: true, containerID: `docker://${runtime.find('fresh', 'c')!.id}`, state: { running: {} } });
    k1.stop();
    const creates = runtime.ops('createContainer').length;
    await start();
    await new Promise((r) => setTimeout(r, 300));
    expect(lists()).toBeGreaterThan(0);
    expect(runtime.ops('createContainer')).toHaveLength(creates);
    expect(runtime.ops('createSandbox')).toHaveLength(1);
    expect(runtime.ops('stop')).toHaveLength(0);
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
    const sandboxes = runtime.ops('createSandbox').length;
    const k2 = make();
    await waitFor('synced', () => k2.hasSynced(), 5000);
    await new Promise((r) => setTimeout(r, 300));
    expect(runtime.ops('createContainer')).toHaveLength(creates);
    expect(runtime.ops('createSandbox')).toHaveLength(sandboxes);
    expect(runtime.ops('stop')).toHaveLength(0);
  });

  it('removes containers of pods that no longer exist', async () => {
    const { runtime, client } = setup(pod('e'));
    await waitFor('running', () => runtime.find('e', 'c'), 5000);
    await client.resource(R.pods, 'default').delete('e', { gracePeriodSeconds: 0 });
    await waitFor('containers removed', () => runtime.containers.size === 0, 5000);
  });

  it('kills a force-deleted pod\'s containers at once, not after its termination grace period', async () => {
    const { runtime, client } = setup(pod('fd', { terminationGracePeriodSeconds: 30 }));
    const app = await waitFor('running', () => runtime.find('fd', 'c'), 5000);
    // kubectl delete --force --grace-period=0: the object goes without a deletionTimestamp the kubelet ever sees.
    await client.resource(R.pods, 'default').delete('fd', { gracePeriodSeconds: 0 });
    await waitFor('containers removed', () => runtime.containers.size === 0, 5000);
    expect(runtime.ops('stop').filter((c) => c.args[0] === app.id).map((c) => c.args[1])).toEqual([2]);
  });

  it('cuts a graceful stop short when the pod is force-deleted during it', async () => {
    const p = pod('gf', { terminationGracePeriodSeconds: 30 });
    p.metadata.finalizers = ['test/hold'];
    const { runtime, client, get } = setup(p);
    const app = await waitFor('running', () => runtime.find('gf', 'c'), 5000);
    // A process that ignores SIGTERM: a stop with the full grace period only ends once a shorter one kills it.
    let killed!: () => void;
    const kill = new Promise<void>((r) => (killed = r));
    const stop = runtime.stop.bind(runtime);
    runtime.stop = async (id, t) => {
      if (t > 2) await kill;
      else killed();
      return stop(id, t);
    };
    await client.resource<Pod>(R.pods, 'default').delete('gf', { gracePeriodSeconds: 30 });
    await waitFor('graceful stop under way', async () => !!(await get('gf')).metadata.deletionTimestamp, 5000);
    await new Promise((r) => setTimeout(r, 100));
    // The object goes before the kubelet is done (the fake removes it once its finalizer does).
    const cur = await get('gf');
    await client.resource<Pod>(R.pods, 'default').update({ ...cur, metadata: { ...cur.metadata, finalizers: [] } });
    await waitFor('containers removed', () => runtime.containers.size === 0, 5000);
    expect(runtime.ops('stop').filter((c) => c.args[0] === app.id).map((c) => c.args[1])).toContain(2);
  });

  it('reports ContainerCreating while the sandbox and containers are being made', async () => {
    const { runtime, get } = setup(pod('cc'));
    let open!: () => void;
    runtime.sandboxStartGate = new Promise((r) => (open = r));
    try {
      const st = await waitFor('ContainerCreating', async () => { const x = (await get('cc')).status; return x?.containerStatuses?.[0]?.state?.waiting?.reason === 'ContainerCreating' ? x : undefined; }, 5000);
      expect(st.phase).toBe('Pending');
      expect(runtime.find('cc', 'c')).toBeUndefined();
    } finally {
      open();
    }
    await waitFor('Running', async () => (await get('cc')).status?.phase === 'Running', 5000);
  });

  it('reports PodInitializing once init containers are done and the app containers are being made', async () => {
    const { runtime, get } = setup(pod('pi', { initContainers: [{ name: 'i', image: 'busybox:latest', command: ['true'] }] }));
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const create = runtime.createContainer.bind(runtime);
    runtime.createContainer = async (cfg) => {
      if (cfg.labels['io.kubernetes.container.name'] === 'c') await gate;
      return create(cfg);
    };
    try {
      await waitFor('init running', () => runtime.find('pi', 'i'), 5000);
      runtime.exit(runtime.find('pi', 'i')!.id, 0);
      const st = await waitFor('PodInitializing', async () => {
        const x = (await get('pi')).status;
        return x?.initContainerStatuses?.[0]?.state?.terminated && x.containerStatuses?.[0]?.state?.waiting?.reason === 'PodInitializing' ? x : undefined;
      }, 5000);
      expect(st.phase).toBe('Pending');
      expect(st.initContainerStatuses![0].state!.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    } finally {
      open();
    }
    await waitFor('Running', async () => (await get('pi')).status?.phase === 'Running', 5000);
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

  const status = async (get: (n: string) => Promise<Pod>, name: string) => (await get(name)).status!;
  const cond = (st: Pod['status'], type: string) => st!.conditions!.find((c) => c.type === type);

  it('runs init containers one at a time to completion before the app containers', async () => {
    const p = pod('init', { initContainers: [{ name: 'i1', image: 'busybox:latest', command: ['true'] }, { name: 'i2', image: 'busybox:latest', command: ['true'] }] });
    const { runtime, get } = setup(p);
    await waitFor('i1 running', () => runtime.find('init', 'i1'), 5000);
    await waitFor('status written', async () => (await status(get, 'init')).initContainerStatuses?.[0]?.state?.running, 5000);
    let st = await status(get, 'init');
    expect(runtime.find('init', 'i2', 'any')).toBeUndefined();
    expect(runtime.find('init', 'c', 'any')).toBeUndefined();
    expect(st.phase).toBe('Pending');
    expect(cond(st, 'Initialized')).toMatchObject({ status: 'False', reason: 'ContainersNotInitialized', message: 'containers with incomplete status: [i1 i2]' });
    expect(st.initContainerStatuses![1].state).toEqual({ waiting: { reason: 'PodInitializing' } });
    expect(st.containerStatuses![0].state).toEqual({ waiting: { reason: 'PodInitializing' } });
    runtime.exit(runtime.find('init', 'i1')!.id, 0);
    await waitFor('i2 running', () => runtime.find('init', 'i2'), 5000);
    expect(runtime.find('init', 'c', 'any')).toBeUndefined();
    runtime.exit(runtime.find('init', 'i2')!.id, 0);
    await waitFor('app running', () => runtime.find('init', 'c'), 5000);
    st = await waitFor('Ready', async () => { const x = await status(get, 'init'); return cond(x, 'Ready')?.status === 'True' ? x : undefined; }, 5000);
    expect(st.phase).toBe('Running');
    expect(cond(st, 'Initialized')!.status).toBe('True');
    for (const s of st.initContainerStatuses!) expect(s).toMatchObject({ ready: true, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } });
    // Completed init containers are not run again.
    await new Promise((r) => setTimeout(r, 200));
    expect(runtime.ops('createContainer').map((c) => (c.args[0] as ContainerConfig).labels['io.kubernetes.container.name'])).toEqual(['i1', 'i2', 'c']);
  });

  it('retries a failed init container with back-off, and fails the pod with restartPolicy Never', async () => {
    const retry = pod('ir', { restartPolicy: 'OnFailure', initContainers: [{ name: 'i', image: 'busybox:latest', command: ['false'] }] });
    const never = pod('in', { restartPolicy: 'Never', initContainers: [{ name: 'i', image: 'busybox:latest', command: ['false'] }] });
    const { runtime, get } = setup(retry, never);
    await waitFor('both init running', () => runtime.find('ir', 'i') && runtime.find('in', 'i'), 5000);
    runtime.exit(runtime.find('ir', 'i')!.id, 1);
    runtime.exit(runtime.find('in', 'i')!.id, 1);
    await waitFor('restarted', () => runtime.find('ir', 'i')?.labels['io.kubernetes.container.restartCount'] === '1', 5000);
    runtime.exit(runtime.find('ir', 'i')!.id, 1);
    const ir = await waitFor('Init CrashLoopBackOff', async () => { const x = await status(get, 'ir'); return x.initContainerStatuses?.[0].state?.waiting?.reason === 'CrashLoopBackOff' ? x : undefined; }, 5000);
    expect(ir.phase).toBe('Pending');
    expect(ir.initContainerStatuses![0].lastState!.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    const inv = await waitFor('Failed', async () => { const x = await status(get, 'in'); return x.phase === 'Failed' ? x : undefined; }, 5000);
    expect(inv.initContainerStatuses![0].state!.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    expect(cond(inv, 'Initialized')).toMatchObject({ status: 'False', message: 'containers with incomplete status: [i]' });
    expect(runtime.find('in', 'c', 'any')).toBeUndefined();
    expect(runtime.find('ir', 'c', 'any')).toBeUndefined();
  });

  it('runs postStart after the start, and kills and restarts a container whose hook fails', async () => {
    const ok = pod('ps');
    ok.spec.containers[0].lifecycle = { postStart: { exec: { command: ['touch', '/ok'] } } };
    const bad = pod('pf');
    bad.spec.containers[0].lifecycle = { postStart: { exec: { command: ['sh', '-c', 'exit 2'] } } };
    const { runtime, get, client } = setup(ok, bad);
    runtime.execHandler = (_id, cmd) => (cmd[0] === 'sh' ? { exitCode: 2, stdout: '', stderr: 'boom', timedOut: false } : { exitCode: 0, stdout: '', stderr: '', timedOut: false });
    await waitFor('ps Ready', async () => cond(await status(get, 'ps'), 'Ready')?.status === 'True', 5000);
    const psId = runtime.find('ps', 'c')!.id;
    const startIdx = runtime.calls.findIndex((c) => c.op === 'start' && c.args[0] === psId);
    const hookIdx = runtime.calls.findIndex((c) => c.op === 'exec' && c.args[0] === psId);
    expect(hookIdx).toBeGreaterThan(startIdx);
    expect(runtime.calls[hookIdx].args[1]).toEqual(['touch', '/ok']);
    // The restart follows at once, so the status that said why is found among the writes.
    const written = () => client.actions.filter((a) => a.verb === 'patch' && a.name === 'pf').map((a) => (a.object as Pod).status?.containerStatuses?.[0]?.state?.waiting);
    const failed = await waitFor('PostStartHookError', () => written().find((w) => w?.reason === 'PostStartHookError'), 5000);
    expect(failed.message).toBe(`Exec lifecycle hook ([sh -c exit 2]) for Container "c" in Pod "pf_default(${(await get('pf')).metadata.uid})" failed - error: command 'sh -c exit 2' exited with 2: boom, message: "boom"`);
    const first = [...runtime.containers.values()].find((x) => x.labels['io.kubernetes.pod.name'] === 'pf' && x.labels['io.kubernetes.container.name'] === 'c' && x.labels['io.kubernetes.container.restartCount'] === '0')!;
    expect(first.state).toBe('exited');
    expect(runtime.ops('stop').some((c) => c.args[0] === first.id)).toBe(true);
    // Restarted at once (the first restart has no back-off); its hook fails again, then back-off holds the next.
    await waitFor('restarted', () => runtime.find('pf', 'c', 'any')?.labels['io.kubernetes.container.restartCount'] === '1', 5000);
    await waitFor('CrashLoopBackOff', async () => (await status(get, 'pf')).containerStatuses?.[0].state?.waiting?.reason === 'CrashLoopBackOff', 5000);
  });

  it('gives containers service-link variables for the kubernetes service and, unless disabled, its namespace\'s services', async () => {
    const svc = (namespace: string, name: string, clusterIP: string, ports: Service['spec']['ports']): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { clusterIP, ports } });
    const links = pod('links');
    links.spec.containers[0].env = [{ name: 'DB', value: '$(MY_DB_SERVICE_HOST):$(MY_DB_SERVICE_PORT)' }, { name: 'MY_DB_SERVICE_PORT', value: 'mine' }];
    const nolinks = pod('nolinks', { enableServiceLinks: false });
    const { runtime } = setup(
      svc('default', 'kubernetes', '10.96.0.1', [{ name: 'https', port: 443, targetPort: 6443, protocol: 'TCP' }]),
      svc('default', 'my-db', '10.96.0.20', [{ name: 'sql', port: 5432, protocol: 'TCP' }, { name: 'metrics', port: 9187, protocol: 'TCP' }]),
      svc('default', 'headless', 'None', [{ port: 80 }]),
      svc('other', 'elsewhere', '10.96.0.30', [{ port: 80 }]),
      links, nolinks,
    );
    await waitFor('both running', () => runtime.find('links', 'c') && runtime.find('nolinks', 'c'), 5000);
    const envOf = (name: string) => {
      const cfg = runtime.ops('createContainer').map((c) => c.args[0] as ContainerConfig).find((c) => c.labels['io.kubernetes.pod.name'] === name)!;
      return new Map(cfg.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    };
    const env = envOf('links');
    expect(Object.fromEntries([...env].filter(([k]) => k.startsWith('MY_DB_') || k === 'DB'))).toEqual({
      DB: '10.96.0.20:5432',
      MY_DB_SERVICE_PORT: 'mine',
      MY_DB_SERVICE_HOST: '10.96.0.20',
      MY_DB_SERVICE_PORT_SQL: '5432',
      MY_DB_SERVICE_PORT_METRICS: '9187',
      MY_DB_PORT: 'tcp://10.96.0.20:5432',
      MY_DB_PORT_5432_TCP: 'tcp://10.96.0.20:5432',
      MY_DB_PORT_5432_TCP_PROTO: 'tcp',
      MY_DB_PORT_5432_TCP_PORT: '5432',
      MY_DB_PORT_5432_TCP_ADDR: '10.96.0.20',
      MY_DB_PORT_9187_TCP: 'tcp://10.96.0.20:9187',
      MY_DB_PORT_9187_TCP_PROTO: 'tcp',
      MY_DB_PORT_9187_TCP_PORT: '9187',
      MY_DB_PORT_9187_TCP_ADDR: '10.96.0.20',
    });
    // Declared variables come first, service links after.
    expect([...env.keys()].slice(0, 2)).toEqual(['DB', 'MY_DB_SERVICE_PORT']);
    expect(env.get('KUBERNETES_SERVICE_HOST')).toBe('10.96.0.1');
    expect(env.get('KUBERNETES_SERVICE_PORT')).toBe('443');
    expect(env.get('KUBERNETES_SERVICE_PORT_HTTPS')).toBe('443');
    expect(env.get('KUBERNETES_PORT_443_TCP')).toBe('tcp://10.96.0.1:443');
    expect([...env.keys()].some((k) => k.startsWith('HEADLESS_') || k.startsWith('ELSEWHERE_'))).toBe(false);
    const off = envOf('nolinks');
    expect(off.get('KUBERNETES_SERVICE_HOST')).toBe('10.96.0.1');
    expect([...off.keys()].some((k) => k.startsWith('MY_DB_'))).toBe(false);
  });

  it('sizes a tty exec from the resize kubectl sends just after connecting, not 0x0', async () => {
    const { runtime, kubelet, get } = setup(pod('t'));
    await waitFor('Running', async () => (await get('t')).status?.phase === 'Running', 5000);
    // Who may exec is server.test.ts's subject; here anonymous requests are allowed.
    const auth = new KubeletAuth({ nodeName: NODE, anonymous: true, authorization: { mode: 'AlwaysAllow' } });
    const server = createServer({ kubelet, runtime, nodeName: NODE, auth, tls: await servingPair(NODE) });
    cleanups.push(() => server.close());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const ca = (await testCA()).cert;
    const run = (tty: boolean) => new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${port}/exec/default/t/c?command=stty&command=size&stdin=true&stdout=true&tty=${tty}`, ['v5.channel.k8s.io'], { ca });
      // As kubectl does: the size follows the upgrade by a few milliseconds.
      ws.on('open', () => setTimeout(() => ws.send(Buffer.concat([Buffer.from([4]), Buffer.from('{"Width":100,"Height":40}')])), 50));
      ws.on('close', () => resolve());
      ws.on('error', reject);
    });
    await run(true);
    const tty = runtime.ops('execStream').at(-1)!.args[2] as { tty: boolean; size?: unknown };
    expect(tty).toMatchObject({ tty: true, size: { width: 100, height: 40 } });
    // The held frame is applied again once the session exists, for runtimes that size only a started process.
    expect(runtime.ops('resize').at(-1)!.args.slice(1)).toEqual([100, 40]);
    await run(false);
    expect((runtime.ops('execStream').at(-1)!.args[2] as { size?: unknown }).size).toBeUndefined();
  });
});

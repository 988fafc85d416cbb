// The kubelet's persistentVolumeClaim volumes: claim -> bound volume -> host path.
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { R } from '../api/resources.js';
import type { Event, KubeObject, Pod } from '../api/types.js';
import { EventRecorder } from '../client/events.js';
import { FakeClient } from '../client/fake.js';
import { SharedInformerFactory } from '../client/informer.js';
import { waitFor } from '../test/util/ports.js';
import { Kubelet } from './kubelet.js';
import { FakeRuntime } from './runtime/fake.js';
import type { ContainerConfig } from './runtime/interface.js';
import { TokenManager } from './tokens.js';

const NODE = 'n1';

describe('persistentVolumeClaim volumes', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => { for (const c of cleanups.splice(0)) c(); });

  it('waits in ContainerCreating while the claim is unbound, then bind-mounts the bound hostPath volume (made on demand, readOnly honoured)', async () => {
    const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubelet-pvc-'));
    const dataDir = path.join(rootDir, 'local-path', 'pvc-123');
    const p: Pod = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'db', namespace: 'default', uid: 'uid-db' },
      spec: {
        nodeName: NODE,
        containers: [{ name: 'c', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 'ro', mountPath: '/ro' }] }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }, { name: 'ro', persistentVolumeClaim: { claimName: 'data', readOnly: true } }],
      } as unknown as Pod['spec'],
    };
    const claim: KubeObject = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'default' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } }, status: { phase: 'Pending' } };
    const client = new FakeClient([R.pods, p], [R.persistentvolumeclaims, claim]);
    const runtime = new FakeRuntime();
    const kubelet = new Kubelet({
      client, runtime, nodeName: NODE, nodeIP: '127.0.0.1', rootDir, relistMs: 50,
      tokens: new TokenManager({ client }), recorder: new EventRecorder(client, { component: 'kubelet', host: NODE }),
    });
    kubelet.start(new SharedInformerFactory(client));
    cleanups.push(() => kubelet.stop(), () => fs.rmSync(rootDir, { recursive: true, force: true }));
    const get = () => client.resource<Pod>(R.pods, 'default').get('db');

    const ev = await waitFor('FailedMount', async () => (await client.resource<Event>(R.events, 'default').list()).items.find((e) => e.reason === 'FailedMount'), 5000);
    expect(ev.message).toBe('Unable to attach or mount volumes: unmounted volumes=[data]: error processing PVC default/data: PVC is not bound');
    expect((await get()).status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ContainerCreating');
    expect(runtime.ops('createContainer')).toHaveLength(0);

    const stored = await client.resource(R.persistentvolumeclaims, 'default').get('data');
    await client.resource(R.persistentvolumes).create({
      apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pvc-123' },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], claimRef: { namespace: 'default', name: 'data', uid: stored.metadata.uid }, hostPath: { path: dataDir, type: 'DirectoryOrCreate' } },
      status: { phase: 'Bound' },
    });
    const bound = await client.resource(R.persistentvolumeclaims, 'default').update({ ...stored, spec: { ...stored.spec, volumeName: 'pvc-123' } });
    await client.resource(R.persistentvolumeclaims, 'default').updateStatus({ ...bound, status: { phase: 'Bound' } });

    await waitFor('Ready', async () => (await get()).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True', 8000);
    const config = runtime.ops('createContainer').map((c) => c.args[0] as ContainerConfig).find((c) => c.labels['io.kubernetes.pod.name'] === 'db')!;
    expect(config.mounts.find((m) => m.containerPath === '/data')).toMatchObject({ hostPath: dataDir, readOnly: false });
    expect(config.mounts.find((m) => m.containerPath === '/ro')).toMatchObject({ hostPath: dataDir, readOnly: true });
    expect(fs.statSync(dataDir).isDirectory()).toBe(true);
  });
});

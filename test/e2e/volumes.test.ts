// Local-path volumes with the real kubectl against a Skiff cluster running
// real containers: the default StorageClass, a claim bound only once its pod
// is scheduled, data that outlives the pod, the claim protected while a pod
// uses it, and deleting the claim deleting the volume and its directory.

import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skiffUp, type TestCluster } from '../util/cluster.js';
import { waitFor } from '../util/ports.js';

const claim = `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 128Mi
`;

const pod = (name: string, command: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox:latest
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", ${JSON.stringify(command)}]
    volumeMounts:
    - name: data
      mountPath: /data
  volumes:
  - name: data
    persistentVolumeClaim:
      claimName: data
`;

describe('local-path volumes against a Skiff cluster', () => {
  let c: TestCluster;
  const k = (args: string[], opts?: Parameters<TestCluster['kubectl']['ok']>[1]) => c.kubectl.ok(args, opts);

  beforeAll(async () => {
    c = await skiffUp({ nodes: 1 });
  }, 240_000);
  afterAll(async () => {
    await c?.down();
  });

  it('binds on first consumer, keeps data across pods, protects the claim in use, and deletes volume and directory with the claim', async () => {
    // The provisioner's default class, as kubectl prints it.
    const sc = await waitFor('local-path class', async () => {
      const out = await c.kubectl.run(['get', 'storageclass']);
      return out.code === 0 && out.stdout.includes('local-path') ? out.stdout : undefined;
    }, 60_000);
    expect(sc.split('\n')[0]).toMatch(/^NAME\s+PROVISIONER\s+RECLAIMPOLICY\s+VOLUMEBINDINGMODE\s+ALLOWVOLUMEEXPANSION\s+AGE$/);
    expect(sc).toMatch(/\nlocal-path \(default\)\s+rancher\.io\/local-path\s+Delete\s+WaitForFirstConsumer\s+false\s+\S+/);

    // A claim naming no class gets the default one, and waits for its first consumer.
    await k(['apply', '-f', '-'], { input: claim });
    const pending = await c.kubectl.json(['get', 'pvc', 'data']);
    expect(pending.spec.storageClassName).toBe('local-path');
    expect(pending.metadata.finalizers).toEqual(['kubernetes.io/pvc-protection']);
    await waitFor('WaitForFirstConsumer event', async () => (await k(['get', 'events', '--field-selector=involvedObject.name=data', '-o', 'jsonpath={.items[*].reason}'])).includes('WaitForFirstConsumer'), 30_000);
    expect((await c.kubectl.json(['get', 'pvc', 'data'])).status.phase).toBe('Pending');
    expect((await c.kubectl.json(['get', 'pv'])).items).toEqual([]);

    await k(['apply', '-f', '-'], { input: pod('writer', 'echo hello > /data/greeting && sleep 3600') });
    await k(['wait', '--for=condition=Ready', 'pod/writer', '--timeout=120s'], { timeoutMs: 130_000 });
    const bound = await c.kubectl.json(['get', 'pvc', 'data']);
    expect(bound.status.phase).toBe('Bound');
    expect(bound.metadata.annotations['volume.kubernetes.io/selected-node']).toBe(c.nodes[0]);
    const pv = await c.kubectl.json(['get', 'pv', bound.spec.volumeName]);
    const dir: string = pv.spec.hostPath.path;
    expect(dir.endsWith(`/${bound.spec.volumeName}`)).toBe(true);
    expect(pv.spec.claimRef).toMatchObject({ namespace: 'default', name: 'data' });
    await waitFor('file on the node', async () => fs.existsSync(`${dir}/greeting`), 30_000);
    expect(fs.readFileSync(`${dir}/greeting`, 'utf8')).toBe('hello\n');

    // kubectl's columns for claims and volumes.
    const table = await k(['get', 'pv,pvc']);
    expect(table).toMatch(/NAME\s+CAPACITY\s+ACCESS MODES\s+RECLAIM POLICY\s+STATUS\s+CLAIM\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+REASON\s+AGE/);
    expect(table).toMatch(new RegExp(`persistentvolume/${bound.spec.volumeName}\\s+128Mi\\s+RWO\\s+Delete\\s+Bound\\s+default/data\\s+local-path\\s+<unset>\\s+\\S+`));
    expect(table).toMatch(/NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+AGE/);
    expect(table).toMatch(new RegExp(`persistentvolumeclaim/data\\s+Bound\\s+${bound.spec.volumeName}\\s+128Mi\\s+RWO\\s+local-path\\s+<unset>\\s+\\S+`));

    // The data outlives the pod: a new pod on the claim reads it.
    await k(['delete', 'pod', 'writer', '--wait=true', '--timeout=60s'], { timeoutMs: 70_000 });
    await k(['apply', '-f', '-'], { input: pod('reader', 'cat /data/greeting && sleep 3600') });
    await k(['wait', '--for=condition=Ready', 'pod/reader', '--timeout=120s'], { timeoutMs: 130_000 });
    await waitFor('reader log', async () => (await k(['logs', 'reader'])) === 'hello\n', 30_000);

    // A claim a running pod uses is only marked for deletion.
    await k(['delete', 'pvc', 'data', '--wait=false']);
    await new Promise((r) => setTimeout(r, 2000));
    const held = await c.kubectl.json(['get', 'pvc', 'data']);
    expect(held.metadata.deletionTimestamp).toBeTruthy();
    expect(await k(['get', 'pvc', 'data', '--no-headers'])).toMatch(/^data\s+Terminating\s+/);
    expect(fs.existsSync(dir)).toBe(true);

    // The pod gone, the claim goes, the volume is released, its directory removed and the volume deleted.
    await k(['delete', 'pod', 'reader', '--wait=true', '--timeout=60s'], { timeoutMs: 70_000 });
    await waitFor('claim gone', async () => (await c.kubectl.run(['get', 'pvc', 'data'])).code !== 0, 60_000);
    await waitFor('volume gone', async () => (await c.kubectl.json(['get', 'pv'])).items.length === 0, 120_000);
    expect(fs.existsSync(dir)).toBe(false);
  }, 420_000);

  it('a StatefulSet replica deleted and recreated finds the data on its own claim', async () => {
    await k(['apply', '-f', '-'], { input: `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  replicas: 1
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox:latest
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "[ -f /var/db/first ] || cat /proc/sys/kernel/random/uuid > /var/db/first; sleep 3600"]
        volumeMounts:
        - name: data
          mountPath: /var/db
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 64Mi
` });
    await waitFor('db-0 Ready', async () => (await c.kubectl.run(['wait', '--for=condition=Ready', 'pod/db-0', '--timeout=5s'])).code === 0, 150_000);
    const first = await c.kubectl.json(['get', 'pod', 'db-0']);
    expect((await c.kubectl.json(['get', 'pvc', 'data-db-0'])).status.phase).toBe('Bound');
    // A value only the first incarnation wrote: a fresh volume would get another one.
    const written = await waitFor('first written', async () => (await c.kubectl.run(['exec', 'db-0', '--', 'cat', '/var/db/first'])).stdout.trim() || undefined, 30_000);
    expect(written).toMatch(/^[0-9a-f-]{36}$/);
    await k(['delete', 'pod', 'db-0', '--wait=true', '--timeout=60s'], { timeoutMs: 70_000 });
    await waitFor('db-0 back', async () => {
      const p = await c.kubectl.run(['get', 'pod', 'db-0', '-o', 'jsonpath={.metadata.uid} {.status.conditions[?(@.type=="Ready")].status}']);
      return p.code === 0 && !p.stdout.startsWith(first.metadata.uid) && p.stdout.endsWith('True');
    }, 150_000);
    expect((await k(['exec', 'db-0', '--', 'cat', '/var/db/first'])).trim()).toBe(written);
  }, 360_000);
});

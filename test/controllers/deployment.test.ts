// Deployments end to end: real etcd and API server, the compiled
// controller-manager, and simulated nodes that run whatever is bound to them.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { Deployment, Pod, ReplicaSet } from '../../api/types.js';
import { waitFor } from '../util/ports.js';
import { startControllerCluster, type ControllerCluster } from './harness.js';

let c: ControllerCluster;
beforeAll(async () => {
  c = await startControllerCluster({ nodes: 3 });
});
afterAll(async () => {
  await c?.stop();
});

const deployments = () => c.client.resource<Deployment>(R.deployments, 'default');
const podsOf = async (app: string) => (await c.client.resource<Pod>(R.pods, 'default').list({ labelSelector: `app=${app}` })).items;
const isReady = (p: Pod) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');

function deployment(name: string, replicas: number, image = 'busybox:latest'): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image, command: ['sleep', '3600'] }] } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    },
  };
}

/** What `kubectl rollout status` waits for. */
async function rolledOut(name: string, timeoutMs = 60_000): Promise<Deployment> {
  return waitFor(`rollout of ${name}`, async () => {
    const d = await deployments().get(name);
    const s = d.status ?? {};
    const n = d.spec.replicas ?? 1;
    const done = (d.metadata.generation ?? 0) <= (s.observedGeneration ?? 0) && s.updatedReplicas === n && s.replicas === n && s.availableReplicas === n;
    return done && d;
  }, timeoutMs, 200);
}

/** Read-modify-write with conflict retries, as kubectl edit would. */
async function edit(name: string, f: (d: Deployment) => void): Promise<void> {
  await waitFor(`update of ${name}`, async () => {
    const d = await deployments().get(name);
    f(d);
    await deployments().update(d);
    return true;
  }, 10_000, 100);
}

const setImage = (name: string, image: string) => edit(name, (d) => (d.spec.template.spec.containers[0].image = image));

describe('Deployment controller (integration)', () => {
  it('runs a 3-replica Deployment as 3 running pods over 3 nodes', async () => {
    await deployments().create(deployment('web', 3));
    const d = await rolledOut('web');
    expect(d.status).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3 });
    expect(d.status!.conditions!.find((x) => x.type === 'Available')).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable' });
    expect(d.metadata.annotations!['deployment.kubernetes.io/revision']).toBe('1');
    const pods = await podsOf('web');
    expect(pods.filter(isReady)).toHaveLength(3);
    expect(new Set(pods.map((p) => p.spec.nodeName)).size).toBe(3);
    const rs = (await c.client.resource<ReplicaSet>(R.replicasets, 'default').list()).items.filter((x) => x.metadata.name!.startsWith('web-'));
    expect(rs).toHaveLength(1);
    expect(pods.every((p) => p.metadata.ownerReferences?.[0].uid === rs[0].metadata.uid)).toBe(true);
  });

  it('scales to 10 and back to 2', async () => {
    await edit('web', (d) => (d.spec.replicas = 10));
    await rolledOut('web');
    expect((await podsOf('web')).filter(isReady)).toHaveLength(10);
    await edit('web', (d) => (d.spec.replicas = 2));
    await rolledOut('web');
    await waitFor('2 pods left', async () => (await podsOf('web')).length === 2, 30_000, 200);
  });

  it('rolls out with maxSurge=1 maxUnavailable=0 never going below the desired ready pods', async () => {
    await edit('web', (d) => (d.spec.replicas = 3));
    await rolledOut('web');
    await waitFor('3 pods', async () => (await podsOf('web')).length === 3, 30_000, 200);
    // Watch every pod change and check the ready count at each observed moment.
    const pods = new Map<string, Pod>();
    let minReady = Infinity;
    let maxTotal = 0;
    const w = c.client.resource<Pod>(R.pods, 'default').watch({ labelSelector: 'app=web' }, (e) => {
      if (e.type === 'BOOKMARK' || e.type === 'ERROR') return;
      const p = e.object as Pod;
      if (e.type === 'DELETED') pods.delete(p.metadata.name!);
      else pods.set(p.metadata.name!, p);
      if (pods.size >= 3) minReady = Math.min(minReady, [...pods.values()].filter(isReady).length);
      maxTotal = Math.max(maxTotal, [...pods.values()].filter((x) => !x.metadata.deletionTimestamp).length);
    });
    try {
      await waitFor('watch to list the pods', () => pods.size === 3, 10_000);
      await setImage('web', 'busybox:v2');
      const d = await rolledOut('web');
      await waitFor('old pods gone', async () => (await podsOf('web')).every((p) => p.spec.containers[0].image === 'busybox:v2') , 30_000, 200);
      expect(minReady).toBeGreaterThanOrEqual(3);
      expect(maxTotal).toBeLessThanOrEqual(4);
      expect(d.metadata.annotations!['deployment.kubernetes.io/revision']).toBe('2');
      const rss = (await c.client.resource<ReplicaSet>(R.replicasets, 'default').list()).items.filter((x) => x.metadata.name!.startsWith('web-'));
      expect(rss.map((x) => [x.spec.template.spec.containers[0].image, x.spec.replicas]).sort()).toEqual([['busybox:latest', 0], ['busybox:v2', 3]]);
    } finally {
      w.stop();
    }
  });

  it('rolls back to the old template, reusing its ReplicaSet', async () => {
    const before = (await c.client.resource<ReplicaSet>(R.replicasets, 'default').list()).items.filter((x) => x.metadata.name!.startsWith('web-'));
    await setImage('web', 'busybox:latest');
    const d = await rolledOut('web');
    expect(d.metadata.annotations!['deployment.kubernetes.io/revision']).toBe('3');
    const after = (await c.client.resource<ReplicaSet>(R.replicasets, 'default').list()).items.filter((x) => x.metadata.name!.startsWith('web-'));
    expect(after.map((x) => x.metadata.name).sort()).toEqual(before.map((x) => x.metadata.name).sort());
    const old = after.find((x) => x.spec.template.spec.containers[0].image === 'busybox:latest')!;
    expect(old.spec.replicas).toBe(3);
    expect(old.metadata.annotations!['deployment.kubernetes.io/revision']).toBe('3');
  });

  it('deleting the Deployment removes its ReplicaSets and pods', async () => {
    await deployments().delete('web', { propagationPolicy: 'Background' });
    await waitFor('ReplicaSets gone', async () => (await c.client.resource<ReplicaSet>(R.replicasets, 'default').list()).items.length === 0, 60_000, 200);
    await waitFor('pods gone', async () => (await podsOf('web')).length === 0, 60_000, 200);
  });
});

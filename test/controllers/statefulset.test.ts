// The StatefulSet controller end to end with the real kubectl: the compiled
// controller-manager and scheduler against a real API server and two
// simulated nodes (test/util/simnodes.ts). web-0 comes up before web-1, each
// with its hostname under the headless Service and its own claim; scaling
// down removes the highest ordinal first; a new image rolls and `kubectl
// rollout undo` brings the old one back. The claims bind to pre-made
// volumes through the PersistentVolume binder (nothing is mounted: simulated
// nodes run no containers).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { KubeObject, Pod } from '../../api/types.js';
import { RestClient } from '../../client/rest.js';
import { startScheduler, type SchedulerProcess } from '../scheduler/process.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { Kubectl } from '../util/kubectl.js';
import { waitFor } from '../util/ports.js';
import { startSimNodes, type SimNodes } from '../util/simnodes.js';
import { startControllerManager, type ControllerManagerProcess } from './harness.js';

// Claims bind to these (no StorageClass, as the claim templates ask for none), so the scheduler's
// volume binding lets the pods run.
const volumes = [0, 1, 2].map((i) => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name: `sts-pv-${i}` },
  spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', hostPath: { path: `/tmp/skiff-sts-pv-${i}` } },
}));

const manifests = [
  ...volumes,
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] } },
  {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      serviceName: 'web',
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'busybox:1', command: ['sleep', '3600'], volumeMounts: [{ name: 'data', mountPath: '/data' }], resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
      },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    },
  },
];

describe('StatefulSet controller (kubectl)', () => {
  let api: ApiServerProcess | undefined;
  let client: RestClient;
  let kubectl: Kubectl;
  let nodes: SimNodes | undefined;
  let cm: ControllerManagerProcess | undefined;
  let sched: SchedulerProcess | undefined;

  const live = async (): Promise<Pod[]> => (await client.resource<Pod>(R.pods, 'default').list({ labelSelector: 'app=web' })).items
    .filter((p) => !p.metadata.deletionTimestamp).sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  const running = async (n: number, image?: string) => waitFor(`${n} web pods Running${image ? ` with ${image}` : ''}`, async () => {
    const ps = await live();
    return ps.length === n && ps.every((p) => p.status?.phase === 'Running' && (!image || p.spec.containers[0].image === image)) && ps;
  }, 60_000);

  beforeAll(async () => {
    api = await startApiServer();
    client = new RestClient(api.admin);
    kubectl = new Kubectl(api.url);
    nodes = await startSimNodes(client, { count: 2, prefix: 'n' });
    cm = await startControllerManager(api.url, ['--controllers=statefulset-controller,garbage-collector-controller,persistentvolume-binder-controller']);
    sched = await startScheduler(api.url, ['--leader-elect=false']);
  }, 90_000);

  afterAll(async () => {
    await sched?.stop();
    await cm?.stop();
    await nodes?.stop();
    await api?.stop();
  }, 60_000);

  it('creates web-0, and web-1 only once web-0 is Ready, each with its hostname and claim', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: manifests.map((m) => JSON.stringify(m)).join('\n') });
    const [web0, web1] = await running(2);
    expect([web0.metadata.name, web1.metadata.name]).toEqual(['web-0', 'web-1']);
    const ready0 = web0.status!.conditions!.find((c) => c.type === 'Ready')!.lastTransitionTime!;
    expect(Date.parse(web1.metadata.creationTimestamp!)).toBeGreaterThanOrEqual(Date.parse(ready0));
    for (const [i, p] of [web0, web1].entries()) {
      expect(p.spec.hostname).toBe(`web-${i}`);
      expect(p.spec.subdomain).toBe('web');
      expect(p.metadata.labels).toMatchObject({ 'statefulset.kubernetes.io/pod-name': `web-${i}`, 'apps.kubernetes.io/pod-index': String(i) });
      expect(p.spec.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: `data-web-${i}` } });
    }
    const claims = (await client.resource<KubeObject>(R.persistentvolumeclaims, 'default').list()).items.map((c) => c.metadata.name).sort();
    expect(claims).toEqual(['data-web-0', 'data-web-1']);
    await kubectl.ok(['rollout', 'status', 'sts/web', '--timeout=30s']);
    expect(await kubectl.ok(['get', 'sts', 'web'])).toMatch(/^NAME\s+READY\s+AGE\nweb\s+2\/2\s+/);
    const described = await kubectl.ok(['describe', 'sts', 'web']);
    expect(described).toMatch(/Pods Status:\s+2 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed/);
    expect(described).toMatch(/Volume Claims:\n\s+Name:\s+data/);
    expect(described).toMatch(/Normal\s+SuccessfulCreate\s+.*statefulset-controller\s+create Pod web-0 in StatefulSet web successful/);
  }, 90_000);

  it('scales up in order and down from the highest ordinal', async () => {
    await kubectl.ok(['scale', 'sts/web', '--replicas=3']);
    await running(3);
    // The order deletions begin in (the first event with a deletionTimestamp, or the removal), as a watch sees it.
    const deleting: string[] = [];
    const watch = client.resource<Pod>(R.pods, 'default').watch({ labelSelector: 'app=web' }, (e) => {
      const p = e.object as Pod;
      if ((e.type === 'DELETED' || (e.type === 'MODIFIED' && p.metadata.deletionTimestamp)) && !deleting.includes(p.metadata.name!)) deleting.push(p.metadata.name!);
    });
    try {
      await kubectl.ok(['scale', 'sts/web', '--replicas=1']);
      await waitFor('only web-0 left', async () => (await live()).map((p) => p.metadata.name).join(',') === 'web-0', 60_000);
      await waitFor('both deletions watched', () => deleting.length === 2, 10_000);
    } finally {
      watch.stop();
    }
    expect(deleting).toEqual(['web-2', 'web-1']);
    // Claims stay (whenScaled: Retain).
    expect((await client.resource<KubeObject>(R.persistentvolumeclaims, 'default').list()).items.map((c) => c.metadata.name).sort()).toEqual(['data-web-0', 'data-web-1', 'data-web-2']);
    await kubectl.ok(['scale', 'sts/web', '--replicas=2']);
    await running(2);
  }, 120_000);

  it('rolls a new image and goes back with rollout undo', async () => {
    await kubectl.ok(['set', 'image', 'sts/web', 'web=busybox:2']);
    await kubectl.ok(['rollout', 'status', 'sts/web', '--timeout=60s'], { timeoutMs: 70_000 });
    await running(2, 'busybox:2');
    const sts = await kubectl.json(['get', 'sts', 'web', '-o', 'json']);
    expect(sts.status.currentRevision).toBe(sts.status.updateRevision);
    expect(sts.status).toMatchObject({ replicas: 2, readyReplicas: 2, updatedReplicas: 2, currentReplicas: 2 });
    expect(await kubectl.ok(['rollout', 'history', 'sts/web'])).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    expect(await kubectl.ok(['rollout', 'undo', 'sts/web'])).toContain('statefulset.apps/web rolled back');
    await kubectl.ok(['rollout', 'status', 'sts/web', '--timeout=60s'], { timeoutMs: 70_000 });
    await running(2, 'busybox:1');
  }, 150_000);
});

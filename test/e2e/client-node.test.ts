// The official JavaScript client (@kubernetes/client-node), used as a user
// would: list, watch and an informer over pods stay correct through creates,
// updates, deletes and an API server restart; create, patch and delete work.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { startApiServer } from '../util/apiserver.js';
import { waitFor } from '../util/ports.js';

const pod = (name: string, labels: Record<string, string> = {}): k8s.V1Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { suite: 'client-node', ...labels } },
  spec: { containers: [{ name: 'c', image: 'busybox:latest', command: ['sleep', '3600'] }] },
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('@kubernetes/client-node against Skiff', () => {
  let server: Awaited<ReturnType<typeof startApiServer>>;
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;

  beforeAll(async () => {
    server = await startApiServer();
    kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'skiff', server: server.url, caData: b64(server.admin.ca!) }],
      users: [{ name: 'skiff', certData: b64(server.admin.cert!), keyData: b64(server.admin.key!) }],
      contexts: [{ name: 'skiff', cluster: 'skiff', user: 'skiff', namespace: 'default' }],
      currentContext: 'skiff',
    });
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('creates, lists, patches (merge and strategic) and deletes', async () => {
    const created = await core.createNamespacedPod({ namespace: 'default', body: pod('lib-a') });
    expect(created.metadata?.uid).toMatch(/[0-9a-f-]{36}/);
    const list = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'suite=client-node' });
    expect(list.items.map((p) => p.metadata?.name)).toEqual(['lib-a']);
    expect(Number(list.metadata?.resourceVersion)).toBeGreaterThanOrEqual(Number(created.metadata?.resourceVersion));

    const merged = await core.patchNamespacedPod({ name: 'lib-a', namespace: 'default', body: { metadata: { labels: { color: 'blue' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    expect(merged.metadata?.labels).toEqual({ suite: 'client-node', color: 'blue' });

    const dep = await apps.createNamespacedDeployment({ namespace: 'default', body: {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'lib-d' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'lib-d' } }, template: { metadata: { labels: { app: 'lib-d' } }, spec: { containers: [
        { name: 'a', image: 'busybox:latest', env: [{ name: 'X', value: '1' }] }, { name: 'b', image: 'busybox:latest' }] } } },
    } });
    expect(dep.metadata?.generation).toBe(1);
    const strategic = await apps.patchNamespacedDeployment({ name: 'lib-d', namespace: 'default', body: {
      spec: { template: { spec: { containers: [{ name: 'b', image: 'busybox:1' }] } } },
    } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch));
    const containers = strategic.spec?.template.spec?.containers ?? [];
    expect(containers.map((c) => [c.name, c.image])).toEqual([['a', 'busybox:latest'], ['b', 'busybox:1']]);
    expect(containers[0].env).toEqual([{ name: 'X', value: '1' }]);
    expect(strategic.metadata?.generation).toBe(2);

    await apps.deleteNamespacedDeployment({ name: 'lib-d', namespace: 'default' });
    await core.deleteNamespacedPod({ name: 'lib-a', namespace: 'default' });
    await expect(core.readNamespacedPod({ name: 'lib-a', namespace: 'default' })).rejects.toMatchObject({ code: 404 });
  });

  it('watches every change in order', async () => {
    const start = await core.listNamespacedPod({ namespace: 'default' });
    const seen: string[] = [];
    const watch = new k8s.Watch(kc);
    const ctl = await watch.watch('/api/v1/namespaces/default/pods', { resourceVersion: start.metadata!.resourceVersion, labelSelector: 'suite=client-node' },
      (phase, obj) => seen.push(`${phase} ${obj.metadata.name}`), () => {});
    try {
      await core.createNamespacedPod({ namespace: 'default', body: pod('lib-w') });
      await core.patchNamespacedPod({ name: 'lib-w', namespace: 'default', body: { metadata: { labels: { step: '2' } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      await core.deleteNamespacedPod({ name: 'lib-w', namespace: 'default' });
      await waitFor('three events', () => seen.length >= 3, 15_000);
      expect(seen).toEqual(['ADDED lib-w', 'MODIFIED lib-w', 'DELETED lib-w']);
    } finally {
      ctl.abort();
    }
  });

  it('keeps an informer correct through changes and an API server restart', async () => {
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/pods',
      () => core.listNamespacedPod({ namespace: 'default', labelSelector: 'suite=client-node' }), 'suite=client-node');
    const names = () => informer.list('default').map((p) => p.metadata!.name).sort();
    informer.on('error', () => setTimeout(() => informer.start().catch(() => {}), 500));
    await informer.start();
    try {
      await core.createNamespacedPod({ namespace: 'default', body: pod('inf-1') });
      await core.createNamespacedPod({ namespace: 'default', body: pod('inf-2') });
      await waitFor('two pods in the cache', () => names().join() === 'inf-1,inf-2', 15_000);

      await server.restart();
      await core.deleteNamespacedPod({ name: 'inf-1', namespace: 'default' });
      await core.createNamespacedPod({ namespace: 'default', body: pod('inf-3') });
      await core.patchNamespacedPod({ name: 'inf-2', namespace: 'default', body: { metadata: { labels: { after: 'restart' } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      await waitFor('cache caught up after the restart', () => names().join() === 'inf-2,inf-3' && informer.get('inf-2', 'default')?.metadata?.labels?.after === 'restart', 30_000);
    } finally {
      await informer.stop();
    }
  });
});

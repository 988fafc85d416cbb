// The pod garbage collector against a real API server, as the controller-
// manager's own identity under Node,RBAC. The orphan case runs the
// controller-manager in this process with a short node quarantine (kube's own
// integration tests use NewPodGCInternal the same way: 40 s is kube's
// production value, kept by the flags); the threshold case runs the compiled
// controller-manager with --terminated-pod-gc-threshold.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { Node, Pod } from '../../api/types.js';
import { SharedInformerFactory } from '../../client/informer.js';
import type { WatchStream } from '../../client/interfaces.js';
import { RestClient } from '../../client/rest.js';
import { ControllerManager } from '../../controllers/manager.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { waitFor } from '../util/ports.js';
import { startControllerManager, type ControllerManagerProcess } from './harness.js';

const node = (name: string): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {} });
const pod = (name: string, nodeName?: string): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'busybox:latest' }] },
});

describe('pod garbage collector (integration)', () => {
  let api: ApiServerProcess | undefined;
  let admin: RestClient;
  const pods = () => admin.resource<Pod>(R.pods, 'default');

  beforeAll(async () => {
    api = await startApiServer();
    admin = new RestClient(api.admin);
  }, 60_000);
  afterAll(async () => {
    admin?.close();
    await api?.stop();
  });

  async function withStatus(name: string, phase: 'Running' | 'Succeeded'): Promise<Pod> {
    const p = await pods().get(name);
    return pods().updateStatus({ ...p, status: { ...p.status, phase } });
  }

  it('marks a pod bound to a deleted Node Failed with DisruptionTarget and force-deletes it after the quarantine; pods of live Nodes stay', async () => {
    const cmClient = new RestClient(await api!.connectionFor('system:kube-controller-manager'), { component: 'controller-manager' });
    const informers = new SharedInformerFactory(cmClient);
    const stop = new AbortController();
    let watch: WatchStream | undefined;
    let running: Promise<void> | undefined;
    try {
      await admin.resource<Node>(R.nodes).create(node('leaving'));
      await admin.resource<Node>(R.nodes).create(node('staying'));
      await pods().create(pod('orphan', 'leaving'));
      await pods().create(pod('kept', 'staying'));
      await withStatus('orphan', 'Running');
      const orphanUid = (await pods().get('orphan')).metadata.uid;

      const seen: Pod[] = [];
      let deleted = false;
      watch = pods().watch({ fieldSelector: 'metadata.name=orphan', resourceVersion: (await pods().get('orphan')).metadata.resourceVersion }, (e) => {
        if (e.type === 'MODIFIED' || e.type === 'DELETED') seen.push(e.object as Pod);
        if (e.type === 'DELETED') deleted = true;
      });
      const manager = new ControllerManager({
        client: cmClient, informers, recorderFor: () => ({ event: () => {} }), controllers: ['podgc'], podGCQuarantineMs: 1000,
        concurrentReplicaSetSyncs: 1, concurrentDeploymentSyncs: 1, concurrentEndpointSyncs: 1, concurrentServiceEndpointSyncs: 1, maxEndpointsPerSlice: 100,
        mirroringConcurrentServiceEndpointSyncs: 1, mirroringMaxEndpointsPerSubset: 1000, concurrentGcSyncs: 1, nodeMonitorGracePeriodMs: 40_000, nodeMonitorPeriodMs: 5_000,
      });
      running = manager.run(stop.signal);

      await admin.resource<Node>(R.nodes).delete('leaving');
      await waitFor('the orphan force-deleted', async () => (await pods().list()).items.every((p) => p.metadata.name !== 'orphan'), 30_000, 100);
      await waitFor('the DELETED event', () => deleted, 10_000, 50);
      expect(seen.every((p) => p.metadata.uid === orphanUid)).toBe(true);

      const failed = seen.find((p) => p.status?.phase === 'Failed');
      expect(failed, JSON.stringify(seen.map((p) => p.status))).toBeDefined();
      const c = failed!.status!.conditions!.find((x) => x.type === 'DisruptionTarget');
      expect(c).toMatchObject({ status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists' });
      // The deletion was immediate: grace period 0.
      expect(seen.at(-1)!.metadata.deletionGracePeriodSeconds ?? 0).toBe(0);
      const kept = await pods().get('kept');
      expect(kept.metadata.deletionTimestamp).toBeUndefined();
    } finally {
      watch?.stop();
      stop.abort();
      informers.stop();
      await running?.catch(() => {});
      cmClient.close();
    }
  }, 60_000);

  it('the controller-manager deletes the oldest finished pods beyond --terminated-pod-gc-threshold', async () => {
    let cm: ControllerManagerProcess | undefined;
    try {
      for (let i = 0; i < 4; i++) {
        await pods().create(pod(`done-${i}`));
        await withStatus(`done-${i}`, 'Succeeded');
      }
      await pods().create(pod('pending'));
      cm = await startControllerManager(api!.url, ['--controllers=podgc', '--terminated-pod-gc-threshold=2']);
      // A pass runs once the caches sync, then every 20 s.
      await waitFor('two finished pods left', async () => (await pods().list()).items.filter((p) => p.metadata.name!.startsWith('done-')).length === 2, 40_000, 200);
      const names = (await pods().list()).items.map((p) => p.metadata.name).sort();
      expect(names).toEqual(['done-2', 'done-3', 'kept', 'pending']);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${cm?.logs().slice(-3000) ?? ''}`);
    } finally {
      await cm?.stop();
    }
  }, 90_000);
});

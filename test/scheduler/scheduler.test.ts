// The compiled scheduler against a real API server and etcd: Ready nodes,
// pods with requests, bindings stored, the unschedulable verdict written the
// way kube-scheduler writes it, and a new node unblocking the pod.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { Event, Node, Pod } from '../../api/types.js';
import { RestClient } from '../../client/rest.js';
import { startApiServer } from '../util/apiserver.js';
import { waitFor } from '../util/ports.js';
import { startScheduler, type SchedulerProcess } from './process.js';

type ApiServer = Awaited<ReturnType<typeof startApiServer>>;

function node(name: string): Node {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {} };
}

function pod(name: string, cpu: string, ownerUid?: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'web' }, ownerReferences: ownerUid ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: ownerUid, controller: true }] : undefined },
    spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu, memory: '64Mi' } } }] },
  };
}

describe('scheduler process', () => {
  let api: ApiServer | undefined;
  let sched: SchedulerProcess | undefined;
  let client: RestClient;

  async function addReadyNode(name: string, cpu: string): Promise<void> {
    await client.resource<Node>(R.nodes).create(node(name));
    const cur = await client.resource<Node>(R.nodes).get(name);
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await client.resource<Node>(R.nodes).updateStatus({
      ...cur,
      status: {
        capacity: { cpu, memory: '8Gi', pods: '110' },
        allocatable: { cpu, memory: '8Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now }],
      },
    });
  }

  beforeAll(async () => {
    api = await startApiServer();
    client = new RestClient(api.admin);
    for (const n of ['node-1', 'node-2', 'node-3']) await addReadyNode(n, '2');
    sched = await startScheduler(api.url, ['--leader-elect=false']);
  }, 60_000);

  afterAll(async () => {
    await sched?.stop();
    await api?.stop();
  }, 30_000);

  it('binds pods and spreads one controller over the nodes', async () => {
    for (let i = 0; i < 6; i++) await client.resource<Pod>(R.pods, 'default').create(pod(`web-${i}`, '100m', 'rs-uid-1'));
    const pods = await waitFor('6 pods bound', async () => {
      const items = (await client.resource<Pod>(R.pods, 'default').list({ labelSelector: 'app=web' })).items;
      return items.length === 6 && items.every((p) => p.spec.nodeName) && items;
    }, 20_000);
    const perNode: Record<string, number> = {};
    for (const p of pods) perNode[p.spec.nodeName!] = (perNode[p.spec.nodeName!] ?? 0) + 1;
    expect(perNode).toEqual({ 'node-1': 2, 'node-2': 2, 'node-3': 2 });
    for (const p of pods) expect(p.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status).toBe('True');
    const events = (await client.resource<Event>(R.events, 'default').list()).items;
    const web0 = pods.find((p) => p.metadata.name === 'web-0')!;
    expect(events.find((e) => e.involvedObject.name === 'web-0' && e.reason === 'Scheduled')?.message).toBe(`Successfully assigned default/web-0 to ${web0.spec.nodeName}`);
  }, 30_000);

  it('keeps a pod that fits nowhere Pending with the exact message, then binds it to a new node that fits', async () => {
    await client.resource<Pod>(R.pods, 'default').create(pod('big', '3'));
    const message = '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';
    const cond = await waitFor('PodScheduled=False', async () => {
      const p = await client.resource<Pod>(R.pods, 'default').get('big');
      return p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    }, 20_000);
    expect(cond).toMatchObject({ reason: 'Unschedulable', message });
    const p = await client.resource<Pod>(R.pods, 'default').get('big');
    expect(p.spec.nodeName).toBeUndefined();
    expect(p.status?.phase).toBe('Pending');
    const failed = await waitFor('FailedScheduling event', async () =>
      (await client.resource<Event>(R.events, 'default').list()).items.find((e) => e.involvedObject.name === 'big' && e.reason === 'FailedScheduling'), 10_000);
    expect(failed).toMatchObject({ type: 'Warning', message });

    await addReadyNode('node-4', '4');
    const bound = await waitFor('big bound', async () => (await client.resource<Pod>(R.pods, 'default').get('big')).spec.nodeName, 20_000);
    expect(bound).toBe('node-4');
    // The scheduled attempt is counted once the binding call returns, after nodeName is visible.
    await expect.poll(() => sched!.metrics(), { timeout: 5000 }).toMatch(/scheduler_schedule_attempts_total\{result="scheduled",profile="default-scheduler"\} 7/);
    expect(await sched!.metrics()).toMatch(/scheduler_schedule_attempts_total\{result="unschedulable",profile="default-scheduler"\} [1-9]/);
  }, 40_000);
});

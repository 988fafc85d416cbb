// Two scheduler processes with leader election: only the holder of the
// kube-system/kube-scheduler Lease binds pods, and the other takes over when
// the leader goes away.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { Lease, Node, Pod } from '../../api/types.js';
import { RestClient } from '../../client/rest.js';
import { startApiServer } from '../util/apiserver.js';
import { waitFor } from '../util/ports.js';
import { startScheduler, type SchedulerProcess } from './process.js';

const fastElection = ['--leader-elect=true', '--leader-elect-lease-duration=4s', '--leader-elect-renew-deadline=3s', '--leader-elect-retry-period=1s'];

function pod(name: string): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
}

async function attempts(s: SchedulerProcess): Promise<number> {
  const m = /scheduler_schedule_attempts_total\{result="scheduled",profile="default-scheduler"\} (\d+)/.exec(await s.metrics());
  return m ? Number(m[1]) : 0;
}

describe('scheduler leader election', () => {
  let api: Awaited<ReturnType<typeof startApiServer>> | undefined;
  const scheds: SchedulerProcess[] = [];
  let client: RestClient;

  beforeAll(async () => {
    api = await startApiServer();
    client = new RestClient(api.admin);
    const created = await client.resource<Node>(R.nodes).create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, spec: {} });
    const r = { cpu: '4', memory: '8Gi', pods: '110' };
    await client.resource<Node>(R.nodes).updateStatus({ ...created, status: { capacity: r, allocatable: r, conditions: [{ type: 'Ready', status: 'True' }] } });
    scheds.push(await startScheduler(api.url, fastElection), await startScheduler(api.url, fastElection));
  }, 60_000);

  afterAll(async () => {
    for (const s of scheds) await s.stop();
    await api?.stop();
  }, 30_000);

  const bound = (name: string) => waitFor(`${name} bound`, async () => (await client.resource<Pod>(R.pods, 'default').get(name)).spec.nodeName, 20_000);

  it('lets only the lease holder schedule, and fails over when it stops', async () => {
    await client.resource<Pod>(R.pods, 'default').create(pod('first'));
    expect(await bound('first')).toBe('node-1');
    const lease = await client.resource<Lease>(R.leases, 'kube-system').get('kube-scheduler');
    expect(lease.spec.holderIdentity).toBeTruthy();
    // kube-scheduler counts an attempt once the binding call returns, which is after
    // the API server stored nodeName: a reader can see the pod bound before the count.
    await expect.poll(async () => (await Promise.all(scheds.map(attempts))).sort(), { timeout: 5000 }).toEqual([0, 1]);

    const leader = scheds[(await Promise.all(scheds.map(attempts))).indexOf(1)];
    await leader.stop();
    await client.resource<Pod>(R.pods, 'default').create(pod('second'));
    expect(await bound('second')).toBe('node-1');
    const survivor = scheds.find((s) => s !== leader)!;
    await expect.poll(() => attempts(survivor), { timeout: 5000 }).toBe(1);
    const after = await client.resource<Lease>(R.leases, 'kube-system').get('kube-scheduler');
    expect(after.spec.holderIdentity).not.toBe(lease.spec.holderIdentity);
  }, 60_000);
});

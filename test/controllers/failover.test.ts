// The controller-manager as a process: crashing mid scale-up must not
// overshoot after restart, and of two instances only the lease holder acts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { Lease, Pod, ReplicaSet } from '../../api/types.js';
import { controllerOf } from '../../api/types.js';
import { waitFor } from '../util/ports.js';
import { startControllerCluster, startControllerManager, type ControllerCluster, type ControllerManagerProcess } from './harness.js';

let c: ControllerCluster;
const extra: ControllerManagerProcess[] = [];
beforeAll(async () => {
  c = await startControllerCluster({ nodes: 3 });
});
afterAll(async () => {
  for (const p of extra) await p.stop();
  await c?.stop();
});

function replicaSet(name: string, replicas: number): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'default' },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox:latest' }] } } },
  };
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('controller-manager process (integration)', () => {
  it('restarted after SIGKILL mid scale-up ends with exactly the asked pods, never more', async () => {
    const rsClient = c.client.resource<ReplicaSet>(R.replicasets, 'default');
    const rs = await rsClient.create(replicaSet('big', 0));
    const live = new Map<string, Pod>();
    let max = 0;
    const w = c.client.resource<Pod>(R.pods, 'default').watch({ labelSelector: 'app=big' }, (e) => {
      if (e.type === 'BOOKMARK' || e.type === 'ERROR') return;
      const p = e.object as Pod;
      if (e.type === 'DELETED' || p.metadata.deletionTimestamp) live.delete(p.metadata.name!);
      else if (controllerOf(p)?.uid === rs.metadata.uid) live.set(p.metadata.name!, p);
      max = Math.max(max, live.size);
    });
    try {
      await waitFor('scale to 200', async () => {
        const fresh = await rsClient.get('big');
        return rsClient.update({ ...fresh, spec: { ...fresh.spec, replicas: 200 } });
      }, 10_000, 100);
      await waitFor('scale-up under way', () => live.size >= 20, 30_000, 5);
      await c.cm.kill();
      expect(live.size).toBeLessThan(200);
      c.cm = await startControllerManager(c.api.url);
      await waitFor('200 pods', async () => (await rsClient.get('big')).status?.replicas === 200, 120_000, 250);
      // Give a second sync the chance to overshoot, had it been going to.
      await new Promise((r) => setTimeout(r, 2000));
      const pods = (await c.client.resource<Pod>(R.pods, 'default').list({ labelSelector: 'app=big' })).items.filter((p) => !p.metadata.deletionTimestamp);
      expect(pods).toHaveLength(200);
      expect(max).toBe(200);
    } finally {
      w.stop();
    }
  });

  it('with two instances only the leader acts, and the other takes over within a lease duration', async () => {
    const second = await startControllerManager(c.api.url);
    extra.push(second);
    const lease = () => c.client.resource<Lease>(R.leases, 'kube-system').get('kube-controller-manager');
    const leader = await waitFor('a leader', async () => {
      const [a, b] = [await metric(c.cm.port, 'leader_election_master_status'), await metric(second.port, 'leader_election_master_status')];
      return a + b === 1 && (a === 1 ? c.cm : second);
    }, 20_000, 200);
    const standby = leader === c.cm ? second : c.cm;

    const rsClient = c.client.resource<ReplicaSet>(R.replicasets, 'default');
    await rsClient.create(replicaSet('one', 2));
    await waitFor('2 pods', async () => (await rsClient.get('one')).status?.readyReplicas === 2, 30_000, 200);
    expect(await metric(standby.port, 'workqueue_adds_total{name="replicaset"}')).toBe(0);
    expect(await metric(leader.port, 'workqueue_adds_total{name="replicaset"}')).toBeGreaterThan(0);

    const holder = (await lease()).spec.holderIdentity;
    await leader.kill();
    const killedAt = Date.now();
    await rsClient.create(replicaSet('two', 2));
    await waitFor('new leader', async () => (await lease()).spec.holderIdentity !== holder, 20_000, 100);
    // Lease duration 4s, plus a retry period for the standby to notice.
    expect(Date.now() - killedAt).toBeLessThan(4000 + 2000 + 1000);
    await waitFor('standby now acts', async () => (await rsClient.get('two')).status?.readyReplicas === 2, 30_000, 200);
  });
});

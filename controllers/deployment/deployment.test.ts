import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { Deployment, Pod, ReplicaSet } from '../../api/types.js';
import { deepCopy } from '../../api/types.js';
import { FakeInformerFactory, FakeRecorder, RecordingClient } from '../testing/fake.js';
import { deployment } from '../testing/objects.js';
import { DeploymentController } from './deployment.js';
import { computeHash, resolveFenceposts } from './util.js';

/**
 * A Deployment controller over fake informers, plus a tiny stand-in for the
 * ReplicaSet controller and kubelet: settle() copies what the controller wrote
 * into the caches, with every ReplicaSet's pods ready and available (or not).
 */
function setup(d: Deployment) {
  const informers = new FakeInformerFactory();
  const client = new RecordingClient();
  const recorder = new FakeRecorder();
  let clock = Date.parse('2026-01-02T00:00:00Z');
  const c = new DeploymentController({ client, informers, recorder, now: () => new Date(clock) });
  const ds = informers.informerFor<Deployment>(R.deployments);
  const rss = informers.informerFor<ReplicaSet>(R.replicasets);
  client.seed('deployments', d);
  ds.set(d);
  let created = 0;
  const settle = (available = true) => {
    for (const rs of rss.list()) if (!client.store.has(`replicasets/default/${rs.metadata.name}`)) rss.items.delete(`default/${rs.metadata.name}`);
    for (const [k, o] of client.store) {
      if (k.startsWith('deployments/')) ds.set(deepCopy(o) as Deployment);
      if (!k.startsWith('replicasets/')) continue;
      const rs = deepCopy(o) as ReplicaSet;
      rs.metadata.creationTimestamp ??= new Date(Date.parse('2026-01-01T00:00:00Z') + ++created * 1000).toISOString();
      rs.metadata.generation ??= 1;
      const n = rs.spec.replicas ?? 1;
      rs.status = { replicas: n, readyReplicas: available ? n : 0, availableReplicas: available ? n : 0, observedGeneration: rs.metadata.generation };
      client.store.set(k, deepCopy(rs));
      rss.set(rs);
    }
  };
  const sizes = () =>
    Object.fromEntries(rss.list().map((rs) => [rs.spec.template.spec.containers[0].image, rs.spec.replicas]));
  const current = () => client.store.get('deployments/default/web') as Deployment;
  const edit = (f: (d: Deployment) => void) => {
    const next = deepCopy(current());
    f(next);
    next.metadata.generation = (next.metadata.generation ?? 1) + 1;
    client.store.set('deployments/default/web', next);
    ds.set(deepCopy(next));
  };
  return { c, client, recorder, rss, settle, sizes, current, edit, tick: (ms: number) => (clock += ms) };
}

async function syncUntilStable(h: ReturnType<typeof setup>, onStep: () => void = () => {}, available = true) {
  for (let i = 0; i < 30; i++) {
    const before = h.client.actions.length;
    await h.c.sync('default/web');
    h.settle(available);
    onStep();
    if (h.client.actions.length === before) return;
  }
  throw new Error('did not settle');
}

describe('Deployment helpers', () => {
  it('resolves fenceposts: surge rounds up, unavailable down, both zero means one unavailable', () => {
    const d = deployment('web', 10);
    d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
    expect(resolveFenceposts(d)).toEqual({ maxSurge: 3, maxUnavailable: 2 });
    d.spec.strategy.rollingUpdate = { maxSurge: 0, maxUnavailable: '5%' };
    expect(resolveFenceposts(d)).toEqual({ maxSurge: 0, maxUnavailable: 1 });
  });

  it('hashes templates with the safe alphabet, and differently per collisionCount', () => {
    const t = deployment('web', 1).spec.template;
    expect(computeHash(t)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(computeHash(t)).toBe(computeHash(deepCopy(t)));
    expect(computeHash(t, 1)).not.toBe(computeHash(t));
    // Go's zero values hash as absent ones: the same template whoever encoded it.
    expect(computeHash({ ...deepCopy(t), metadata: { ...t.metadata, creationTimestamp: null } } as any)).toBe(computeHash(t));
  });
});

describe('Deployment controller', () => {
  it('creates a ReplicaSet named after the template hash, with revision and replica annotations', async () => {
    const h = setup(deployment('web', 3));
    await h.c.sync('default/web');
    const [create] = h.client.of('create', 'replicasets');
    const hash = computeHash(deployment('web', 3).spec.template);
    expect(create.object!.metadata.name).toBe(`web-${hash}`);
    expect(create.object!.spec.replicas).toBe(3);
    expect(create.object!.spec.selector.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(create.object!.metadata.annotations).toMatchObject({ 'deployment.kubernetes.io/revision': '1', 'deployment.kubernetes.io/desired-replicas': '3', 'deployment.kubernetes.io/max-replicas': '4' });
    expect(create.object!.metadata.ownerReferences![0]).toMatchObject({ kind: 'Deployment', uid: 'uid-web', controller: true });
    expect(h.recorder.events).toContain(`Normal ScalingReplicaSet Scaled up replica set web-${hash} from 0 to 3`);
    expect(h.current().metadata.annotations!['deployment.kubernetes.io/revision']).toBe('1');
    expect(h.current().status!.conditions!.find((c) => c.type === 'Progressing')).toMatchObject({ reason: 'NewReplicaSetCreated', message: `Created new replica set "web-${hash}"` });
  });

  it('reports completion as kubectl rollout status expects', async () => {
    const h = setup(deployment('web', 3));
    await syncUntilStable(h);
    const s = h.current().status!;
    expect(s).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, unavailableReplicas: 0, observedGeneration: 1 });
    const hash = computeHash(deployment('web', 3).spec.template);
    expect(s.conditions!.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "web-${hash}" has successfully progressed.` });
    expect(s.conditions!.find((c) => c.type === 'Available')).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable' });
  });

  it('rolls out with maxSurge=1 maxUnavailable=0: one extra pod at a time, never fewer than desired available', async () => {
    const d = deployment('web', 3);
    d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
    const h = setup(d);
    await syncUntilStable(h);
    h.edit((x) => (x.spec.template.spec.containers[0].image = 'busybox:v2'));
    const seen: string[] = [];
    await syncUntilStable(h, () => {
      const s = h.sizes();
      const total = (s['busybox:latest'] ?? 0) + (s['busybox:v2'] ?? 0);
      expect(total).toBeGreaterThanOrEqual(3);
      expect(total).toBeLessThanOrEqual(4);
      seen.push(`${s['busybox:latest']}/${s['busybox:v2']}`);
    });
    expect(seen.filter((x, i) => x !== seen[i - 1])).toEqual(['3/1', '2/1', '2/2', '1/2', '1/3', '0/3']);
    expect(h.current().metadata.annotations!['deployment.kubernetes.io/revision']).toBe('2');
    expect(h.current().status).toMatchObject({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 });
  });

  it('Recreate scales the old ReplicaSet to zero and waits for its pods before creating the new one', async () => {
    const d = deployment('web', 2);
    d.spec.strategy = { type: 'Recreate' };
    const h = setup(d);
    await syncUntilStable(h);
    const pods = (h.c as any).podInformer;
    const oldRs = h.rss.list()[0];
    const oldPod = { metadata: { name: 'p', namespace: 'default', uid: 'p1', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: oldRs.metadata.name, uid: oldRs.metadata.uid, controller: true }] }, spec: { containers: [] }, status: { phase: 'Running' } } as Pod;
    pods.set(oldPod);
    h.edit((x) => (x.spec.template.spec.containers[0].image = 'busybox:v2'));
    await h.c.sync('default/web');
    h.settle();
    expect(h.sizes()).toEqual({ 'busybox:latest': 0 });
    // Its pod is still there: no new ReplicaSet yet.
    await h.c.sync('default/web');
    expect(h.client.of('create', 'replicasets')).toHaveLength(1);
    pods.emitDelete(oldPod);
    expect(h.c.queue.len()).toBe(1);
    await syncUntilStable(h);
    expect(h.sizes()).toEqual({ 'busybox:latest': 0, 'busybox:v2': 2 });
  });

  it('rolls back by adopting the old ReplicaSet as new and bumping its revision', async () => {
    const h = setup(deployment('web', 2));
    await syncUntilStable(h);
    h.edit((x) => (x.spec.template.spec.containers[0].image = 'busybox:v2'));
    await syncUntilStable(h);
    h.edit((x) => (x.spec.template.spec.containers[0].image = 'busybox:latest'));
    await syncUntilStable(h);
    expect(h.client.of('create', 'replicasets')).toHaveLength(2);
    expect(h.sizes()).toEqual({ 'busybox:latest': 2, 'busybox:v2': 0 });
    const first = h.rss.list().find((rs) => rs.spec.template.spec.containers[0].image === 'busybox:latest')!;
    expect(first.metadata.annotations!['deployment.kubernetes.io/revision']).toBe('3');
    expect(h.current().metadata.annotations!['deployment.kubernetes.io/revision']).toBe('3');
  });

  it('rolls back to a template sent back through Go (creationTimestamp: null, resources: {}, empty lists) by reusing the old ReplicaSet', async () => {
    const h = setup(deployment('web', 2));
    await syncUntilStable(h);
    const v1 = deepCopy(h.rss.list()[0].spec.template);
    h.edit((x) => (x.spec.template.spec.containers[0].image = 'busybox:v2'));
    await syncUntilStable(h);
    // What kubectl rollout undo patches in: the old ReplicaSet's template as Go encodes it, without the hash label.
    const sent = deepCopy(v1) as any;
    delete sent.metadata.labels['pod-template-hash'];
    sent.metadata.creationTimestamp = null;
    for (const c of sent.spec.containers) c.resources = {};
    sent.spec.volumes = [];
    h.edit((x) => (x.spec.template = sent));
    await syncUntilStable(h);
    expect(h.client.of('create', 'replicasets')).toHaveLength(2);
    expect(h.sizes()).toEqual({ 'busybox:latest': 2, 'busybox:v2': 0 });
    const revs = h.rss.list().map((rs) => rs.metadata.annotations!['deployment.kubernetes.io/revision']).sort();
    expect(revs).toEqual(['2', '3']);
    const first = h.rss.list().find((rs) => rs.spec.template.spec.containers[0].image === 'busybox:latest')!;
    expect(first.metadata.annotations!['deployment.kubernetes.io/revision-history']).toBe('1');
  });

  it('copies a later change-cause to the current ReplicaSet, but never the skipped annotations', async () => {
    const h = setup(deployment('web', 2));
    await syncUntilStable(h);
    h.edit((x) => {
      x.metadata.annotations = {
        ...x.metadata.annotations,
        'kubernetes.io/change-cause': 'kubectl annotate deploy web',
        'kubectl.kubernetes.io/last-applied-configuration': '{}',
        'deployment.kubernetes.io/revision-history': '7',
      };
    });
    await syncUntilStable(h);
    expect(h.client.of('create', 'replicasets')).toHaveLength(1);
    const a = h.rss.list()[0].metadata.annotations!;
    expect(a['kubernetes.io/change-cause']).toBe('kubectl annotate deploy web');
    expect(a['kubectl.kubernetes.io/last-applied-configuration']).toBeUndefined();
    expect(a['deployment.kubernetes.io/revision-history']).toBeUndefined();
    expect(a['deployment.kubernetes.io/revision']).toBe('1');
  });

  it('scales proportionally when replicas change mid-rollout', async () => {
    const d = deployment('web', 10);
    d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } };
    const h = setup(d);
    await syncUntilStable(h);
    h.edit((x) => (x.spec.template.spec.containers[0].image = 'busybox:v2'));
    // New pods never become available: the rollout stops at 8 old + 5 new.
    await syncUntilStable(h, () => {}, false);
    expect(h.sizes()).toEqual({ 'busybox:latest': 8, 'busybox:v2': 5 });
    h.edit((x) => (x.spec.replicas = 20));
    await h.c.sync('default/web');
    h.settle(false);
    // 23 allowed, 13 present: +10 split 8:5 of the planned 13 (max-replicas).
    expect(h.sizes()).toEqual({ 'busybox:latest': 14, 'busybox:v2': 9 });
  });

  it('does not progress a paused Deployment', async () => {
    const h = setup(deployment('web', 2));
    await syncUntilStable(h);
    h.edit((x) => {
      x.spec.paused = true;
      x.spec.template.spec.containers[0].image = 'busybox:v2';
    });
    await syncUntilStable(h);
    expect(h.client.of('create', 'replicasets')).toHaveLength(1);
  });

  it('marks ProgressDeadlineExceeded when no progress is made in time', async () => {
    const d = deployment('web', 2);
    d.spec.progressDeadlineSeconds = 60;
    const h = setup(d);
    await syncUntilStable(h, () => {}, false);
    h.tick(61_000);
    await h.c.sync('default/web');
    const hash = computeHash(d.spec.template);
    expect(h.current().status!.conditions!.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "web-${hash}" has timed out progressing.` });
    expect(h.current().status!.conditions!.find((c) => c.type === 'Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' });
  });

  it('deletes old zero-sized ReplicaSets beyond revisionHistoryLimit', async () => {
    const d = deployment('web', 1);
    d.spec.revisionHistoryLimit = 1;
    const h = setup(d);
    for (const image of ['latest', 'v2', 'v3', 'v4']) {
      h.edit((x) => (x.spec.template.spec.containers[0].image = `busybox:${image}`));
      await syncUntilStable(h);
    }
    expect(h.client.of('delete', 'replicasets')).toHaveLength(2);
  });
});

import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { KubeObject, Pod } from '../../api/types.js';
import { FakeInformerFactory, FakeRecorder, RecordingClient } from '../testing/fake.js';
import { pod as podOf } from '../testing/objects.js';
import { controllerRevisionHashLabel, newRevision, type ControllerRevision } from '../history.js';
import { StatefulSetController, type StatefulSet } from './statefulset.js';

function statefulSet(o: { replicas?: number; image?: string; policy?: string; strategy?: unknown; claims?: boolean; whenDeleted?: string } = {}): StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'default', uid: 'uid-web', generation: 1 },
    spec: {
      replicas: o.replicas ?? 3,
      serviceName: 'web',
      podManagementPolicy: o.policy ?? 'OrderedReady',
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: o.image ?? 'busybox:1', volumeMounts: o.claims ? [{ name: 'data', mountPath: '/data' }] : undefined }] } },
      updateStrategy: o.strategy ?? { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: o.whenDeleted ?? 'Retain', whenScaled: 'Retain' },
      revisionHistoryLimit: 10,
      ...(o.claims ? { volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] } : {}),
    },
  };
}

const owner = { kind: 'StatefulSet', name: 'web', uid: 'uid-web' };
const revOf = (set: StatefulSet, n = 1) => {
  const r = newRevision(set, { apiVersion: 'apps/v1', kind: 'StatefulSet' }, n);
  r.metadata.uid = `uid-${r.metadata.name}`;
  return r;
};
function member(ord: number, rev: ControllerRevision, ready = true): Pod {
  return podOf(`web-${ord}`, { app: 'web', [controllerRevisionHashLabel]: rev.metadata.name! }, owner, { node: 'n1', ready });
}

function setup(set: StatefulSet, pods: Pod[] = [], revisions: ControllerRevision[] = []) {
  const informers = new FakeInformerFactory();
  const client = new RecordingClient();
  const recorder = new FakeRecorder();
  const c = new StatefulSetController({ client, informers, recorder, now: () => new Date('2026-01-02T00:00:00Z') });
  informers.informerFor<StatefulSet>(R.statefulsets).set(set);
  informers.informerFor<Pod>(R.pods).set(...pods);
  informers.informerFor<ControllerRevision>(R.controllerrevisions).set(...revisions);
  client.seed('statefulsets', set);
  client.seed('pods', ...pods);
  client.seed('controllerrevisions', ...revisions);
  return { c, client, recorder };
}

describe('StatefulSet controller', () => {
  it('creates web-0 first, with its identity, its claim and the revision label, and waits for it', async () => {
    const set = statefulSet({ claims: true });
    const { c, client } = setup(set);
    await c.sync('default/web');
    const pods = client.of('create', 'pods').map((a) => a.object as Pod);
    expect(pods.map((p) => p.metadata.name)).toEqual(['web-0']);
    const p = pods[0];
    expect(p.spec.hostname).toBe('web-0');
    expect(p.spec.subdomain).toBe('web');
    const rev = client.of('create', 'controllerrevisions')[0].object!;
    expect(p.metadata.labels).toEqual({ app: 'web', 'statefulset.kubernetes.io/pod-name': 'web-0', 'apps.kubernetes.io/pod-index': '0', [controllerRevisionHashLabel]: rev.metadata.name });
    expect(p.spec.volumes).toEqual([{ name: 'data', persistentVolumeClaim: { claimName: 'data-web-0' } }]);
    const claims = client.of('create', 'persistentvolumeclaims').map((a) => a.object as KubeObject);
    expect(claims.map((x) => x.metadata.name)).toEqual(['data-web-0']);
    expect(claims[0].metadata.labels).toEqual({ app: 'web' });
    expect(claims[0].metadata.ownerReferences).toBeUndefined();
  });

  it('creates the next ordinal only once the previous is Running and Ready', async () => {
    const set = statefulSet();
    const rev = revOf(set);
    const notReady = setup(set, [member(0, rev, false)], [rev]);
    await notReady.c.sync('default/web');
    expect(notReady.client.of('create', 'pods')).toHaveLength(0);
    const ready = setup(set, [member(0, rev)], [rev]);
    await ready.c.sync('default/web');
    expect(ready.client.of('create', 'pods').map((a) => a.name)).toEqual(['web-1']);
  });

  it('creates every missing pod at once with Parallel', async () => {
    const { c, client } = setup(statefulSet({ policy: 'Parallel' }));
    await c.sync('default/web');
    expect(client.of('create', 'pods').map((a) => a.name).sort()).toEqual(['web-0', 'web-1', 'web-2']);
  });

  it('scales down from the highest ordinal, one at a time', async () => {
    const set = statefulSet({ replicas: 1 });
    const rev = revOf(set);
    const { c, client } = setup(set, [member(0, rev), member(1, rev), member(2, rev)], [rev]);
    await c.sync('default/web');
    expect(client.of('delete', 'pods').map((a) => a.name)).toEqual(['web-2']);
  });

  it('rolls from the highest ordinal down to the partition, then moves currentRevision', async () => {
    const old = statefulSet({ image: 'busybox:1' });
    const set = statefulSet({ image: 'busybox:2', strategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } });
    const r1 = revOf(old, 1);
    set.status = { currentRevision: r1.metadata.name };
    const { c, client } = setup(set, [member(0, r1), member(1, r1), member(2, r1)], [r1]);
    await c.sync('default/web');
    expect(client.of('delete', 'pods').map((a) => a.name)).toEqual(['web-2']);
    const status = client.of('updateStatus', 'statefulsets').at(-1)!.object!.status;
    expect(status.currentRevision).toBe(r1.metadata.name);
    expect(status.updateRevision).not.toBe(r1.metadata.name);

    // With every pod at the update revision and ready, the update is complete.
    const r2 = revOf(set, 2);
    const done = statefulSet({ image: 'busybox:2' });
    done.status = { currentRevision: r1.metadata.name };
    const after = setup(done, [member(0, r2), member(1, r2), member(2, r2)], [r1, r2]);
    await after.c.sync('default/web');
    expect(after.client.of('delete', 'pods')).toHaveLength(0);
    expect(after.client.of('updateStatus', 'statefulsets').at(-1)!.object!.status).toMatchObject({ replicas: 3, readyReplicas: 3, updatedReplicas: 3, currentReplicas: 3, currentRevision: r2.metadata.name, updateRevision: r2.metadata.name });
  });

  it('owns claims by the set when whenDeleted is Delete, and recreates a failed pod', async () => {
    const set = statefulSet({ claims: true, whenDeleted: 'Delete', replicas: 1 });
    const rev = revOf(set);
    const failed = member(0, rev);
    failed.status!.phase = 'Failed';
    const { c, client } = setup(set, [failed], [rev]);
    await c.sync('default/web');
    expect(client.of('delete', 'pods').map((a) => a.name)).toEqual(['web-0']);
    const fresh = setup(set, [], [rev]);
    await fresh.c.sync('default/web');
    expect(fresh.client.of('create', 'persistentvolumeclaims')[0].object!.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'uid-web' }]);
  });

  it('gives an existing claim to the set when whenDeleted becomes Delete, and a condemned pod its claims when whenScaled is Delete', async () => {
    const set = statefulSet({ claims: true, whenDeleted: 'Delete', replicas: 1 });
    set.spec.persistentVolumeClaimRetentionPolicy.whenScaled = 'Delete';
    const rev = revOf(set);
    const claim = (n: number) => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: `data-web-${n}`, namespace: 'default', uid: `uid-data-${n}` }, spec: {} });
    const { c, client } = setup(set, [member(1, rev)], [rev]);
    client.seed('persistentvolumeclaims', claim(0), claim(1));
    await c.sync('default/web');
    // web-0 is missing: its surviving claim is now the set's, and the pod is created.
    expect(client.of('create', 'persistentvolumeclaims')).toHaveLength(0);
    expect(client.of('create', 'pods').map((a) => a.name)).toEqual(['web-0']);
    const patches = client.of('patch', 'persistentvolumeclaims');
    expect(patches.map((a) => a.name)).toEqual(['data-web-0']);
    expect((patches[0].patch as any).metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'uid-web' }]);

    // Once web-0 runs, web-1 (beyond replicas) is condemned: its claim is handed to the pod before it goes.
    const next = setup(set, [member(0, rev), member(1, rev)], [rev]);
    next.client.seed('persistentvolumeclaims', claim(0), claim(1));
    await next.c.sync('default/web');
    const handed = next.client.of('patch', 'persistentvolumeclaims').find((a) => a.name === 'data-web-1')!;
    expect((handed.patch as any).metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Pod', name: 'web-1', uid: 'uid-web-1' }]);
    expect(next.client.of('delete', 'pods').map((a) => a.name)).toEqual(['web-1']);
  });

  it('leaves old pods alone with OnDelete', async () => {
    const old = statefulSet({ image: 'busybox:1' });
    const set = statefulSet({ image: 'busybox:2', strategy: { type: 'OnDelete' } });
    const r1 = revOf(old);
    const { c, client } = setup(set, [member(0, r1), member(1, r1), member(2, r1)], [r1]);
    await c.sync('default/web');
    expect(client.of('delete', 'pods')).toHaveLength(0);
  });
});

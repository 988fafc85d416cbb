// The client library against the compiled API server and a real etcd: REST
// CRUD and watch, an informer that stays equal to the server through writes,
// an API server restart and a forced 410 (etcd compacted under it), and two
// leader electors of which only one leads at a time.

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Etcd3 } from 'etcd3';
import { R } from '../../api/resources.js';
import { isConflict, isNotFound } from '../../api/errors.js';
import type { ConfigMap, KubeObject } from '../../api/types.js';
import { RestClient } from '../../client/rest.js';
import { SharedInformerFactory } from '../../client/informer.js';
import { LeaderElector } from '../../client/leaderelection.js';
import { EventRecorder } from '../../client/events.js';
import type { Client, ResourceClient, ResourceRef, WatchEventOf } from '../../client/interfaces.js';
import { startApiServer } from '../util/apiserver.js';

type ApiServer = Awaited<ReturnType<typeof startApiServer>>;

let api: ApiServer | undefined;
let client: RestClient;

beforeAll(async () => {
  api = await startApiServer();
  client = new RestClient(api.admin, { component: 'client-test' });
});
afterAll(async () => {
  client?.close();
  await api?.stop();
});

const cm = (name: string, data: Record<string, string> = {}, labels: Record<string, string> = {}): ConfigMap => ({
  apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data,
});

async function serverNames(ns: string): Promise<string[]> {
  return (await client.resource(R.configmaps, ns).list()).items.map((o) => o.metadata.name!).sort();
}

describe('RestClient against the API server', () => {
  it('creates, reads, updates with conflicts, patches, lists and deletes', async () => {
    const cms = client.resource<ConfigMap>(R.configmaps, 'default');
    const created = await cms.create(cm('rest-a', { k: 'v' }, { app: 'rest' }));
    expect(created.metadata.uid).toBeTruthy();
    const got = await cms.get('rest-a');
    expect(got.data).toEqual({ k: 'v' });
    const updated = await cms.update({ ...got, data: { k: 'v2' } });
    expect(updated.metadata.resourceVersion).not.toBe(got.metadata.resourceVersion);
    await expect(cms.update({ ...got, data: { k: 'stale' } })).rejects.toSatisfy(isConflict);
    const merged = await cms.patch('rest-a', 'merge', { data: { extra: 'x' } });
    expect(merged.data).toEqual({ k: 'v2', extra: 'x' });
    const jp = await cms.patch('rest-a', 'json', [{ op: 'remove', path: '/data/extra' }]);
    expect(jp.data).toEqual({ k: 'v2' });
    await cms.create(cm('rest-b', {}, { app: 'other' }));
    expect((await cms.list({ labelSelector: 'app=rest' })).items.map((o) => o.metadata.name)).toEqual(['rest-a']);
    await cms.delete('rest-a');
    await expect(cms.get('rest-a')).rejects.toSatisfy(isNotFound);
    await cms.deleteCollection({ labelSelector: 'app=other' });
    await expect(cms.get('rest-b')).rejects.toSatisfy(isNotFound);
  });

  it('watches from a resourceVersion', async () => {
    const cms = client.resource<ConfigMap>(R.configmaps, 'default');
    const start = (await cms.list()).metadata.resourceVersion;
    const events: WatchEventOf<KubeObject>[] = [];
    const w = cms.watch({ resourceVersion: start }, (e) => events.push(e));
    try {
      await cms.create(cm('watch-a'));
      const a = await cms.get('watch-a');
      await cms.update({ ...a, data: { a: '1' } });
      await cms.delete('watch-a');
      await vi.waitFor(() => expect(events.map((e) => `${e.type} ${(e.object as KubeObject).metadata.name}`)).toEqual(['ADDED watch-a', 'MODIFIED watch-a', 'DELETED watch-a']), { timeout: 10_000 });
    } finally {
      w.stop();
      await w.done;
    }
  });
});

describe('EventRecorder against the API server', () => {
  it('creates an Event and counts repeats on it', async () => {
    const cms = client.resource<ConfigMap>(R.configmaps, 'default');
    const obj = await cms.create(cm('events-a'));
    const rec = new EventRecorder(client, { component: 'client-test', host: 'h' });
    for (let i = 0; i < 3; i++) rec.event(obj, 'Normal', 'Tested', 'seen %d times', 1);
    await rec.flush();
    const events = (await client.resource(R.events, 'default').list({ fieldSelector: 'involvedObject.name=events-a' })).items;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ reason: 'Tested', message: 'seen 1 times', count: 3, involvedObject: { kind: 'ConfigMap', uid: obj.metadata.uid } });
  });
});

describe('informer against the API server', () => {
  it('stays equal to the server through writes, a restart and a forced 410', async () => {
    const ns = 'default';
    let lists = 0;
    // Counts relists, so the test can tell a resumed watch from a fresh list.
    const counting: Client = {
      request: (...a) => client.request(...a),
      resource<T extends KubeObject>(res: ResourceRef, namespace?: string): ResourceClient<T> {
        const rc = client.resource<T>(res, namespace);
        return { ...rc, list: (o) => (lists++, rc.list(o)) };
      },
    };
    const factory = new SharedInformerFactory(counting, { backoffMs: [100, 1000] });
    const inf = factory.informerFor<ConfigMap>(R.configmaps, { namespace: ns, labelSelector: 'suite=informer' });
    const deleted: string[] = [];
    inf.addEventHandler({ onDelete: (o) => deleted.push(o.metadata.name!) });
    const cms = client.resource<ConfigMap>(R.configmaps, ns);
    const mine = (name: string, data: Record<string, string> = {}) => cm(name, data, { suite: 'informer' });
    const cacheNames = () => inf.lister.list().map((o) => o.metadata.name!).sort();
    const inSync = async () => expect(cacheNames()).toEqual((await cms.list({ labelSelector: 'suite=informer' })).items.map((o) => o.metadata.name!).sort());
    try {
      await cms.create(mine('inf-1'));
      factory.start();
      await factory.waitForCacheSync(AbortSignal.timeout(10_000));
      expect(cacheNames()).toEqual(['inf-1']);

      await cms.create(mine('inf-2'));
      const one = await cms.get('inf-1');
      await cms.update({ ...one, data: { x: '1' } });
      await cms.delete('inf-2');
      await vi.waitFor(() => expect(inf.lister.get(`${ns}/inf-1`)?.data).toEqual({ x: '1' }), { timeout: 10_000 });
      await vi.waitFor(() => expect(deleted).toEqual(['inf-2']), { timeout: 10_000 });
      await inSync();

      await api!.restart();
      await cms.create(mine('inf-3'));
      await vi.waitFor(() => expect(cacheNames()).toEqual(['inf-1', 'inf-3']), { timeout: 30_000 });

      // Advance etcd past the informer's resourceVersion with writes it does
      // not watch, compact, and restart the server: the resumed watch gets 410.
      const listsBefore = lists;
      for (let i = 0; i < 5; i++) await cms.create(cm(`noise-${i}`));
      await compactEtcd(api!);
      await api!.restart();
      await cms.delete('inf-1');
      await cms.create(mine('inf-4'));
      await vi.waitFor(() => expect(lists).toBeGreaterThan(listsBefore), { timeout: 30_000 });
      await vi.waitFor(() => expect(cacheNames()).toEqual(['inf-3', 'inf-4']), { timeout: 30_000 });
      expect(deleted).toEqual(['inf-2', 'inf-1']);
      await inSync();
    } finally {
      factory.stop();
    }
  });
});

/** Compact etcd at its current revision, as kube-apiserver's compactor would. */
async function compactEtcd(server: ApiServer): Promise<void> {
  const etcd = new Etcd3({ hosts: server.etcdEndpoint });
  try {
    const { header } = await etcd.kv.range({ key: Buffer.from('/') });
    await etcd.kv.compact({ revision: header.revision, physical: true });
  } finally {
    etcd.close();
  }
}

describe('leader election against the API server', () => {
  it('only one of two candidates leads; the other takes over within a lease duration once it stops', async () => {
    const leading = new Set<string>();
    const everLed: string[] = [];
    const make = (id: string) =>
      new LeaderElector({
        client, namespace: 'kube-system', name: 'client-test', identity: id,
        leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500,
        callbacks: {
          onStartedLeading: (signal) => {
            leading.add(id);
            everLed.push(id);
            signal.addEventListener('abort', () => leading.delete(id));
          },
          onStoppedLeading: () => leading.delete(id),
        },
      });
    const a = make('a');
    const b = make('b');
    void a.run();
    void b.run();
    try {
      await vi.waitFor(() => expect(leading.size).toBe(1), { timeout: 10_000 });
      // Hold steady for a few renewals: still exactly one leader, the same one.
      await new Promise((r) => setTimeout(r, 2000));
      expect(leading.size).toBe(1);
      expect(everLed).toHaveLength(1);
      const [first] = everLed;
      const [leader, other] = first === 'a' ? [a, b] : [b, a];
      const stoppedAt = Date.now();
      await leader.stop(); // no release: the other must wait the lease out
      await vi.waitFor(() => expect(other.isLeader()).toBe(true), { timeout: 10_000, interval: 50 });
      const tookMs = Date.now() - stoppedAt;
      // Not before the lease ran out (the last renewal was at most one retry period before the stop), and within one lease duration plus a retry.
      expect(tookMs).toBeGreaterThan(3000 - 500 - 200);
      expect(tookMs).toBeLessThan(3000 + 500 * 1.2 + 1000);
      const lease = await client.resource(R.leases, 'kube-system').get('client-test');
      expect(lease.spec).toMatchObject({ holderIdentity: other.identity, leaseTransitions: 1 });
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

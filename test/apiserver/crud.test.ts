// REST verbs and object-meta rules against the compiled API server on a real etcd.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resources, apiVersionOf, type ResourceInfo } from '../../api/resources.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { client, deployment, pod, sample as sampleOf, update } from './helpers.js';

const sample = (r: ResourceInfo, name: string) => sampleOf(r, name, { suite: 'crud' });


let srv: ApiServerProcess;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  srv = await startApiServer();
  api = client(srv.url);
});
afterAll(async () => {
  await srv?.stop();
});

function base(r: ResourceInfo, ns = 'default'): string {
  const root = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  return r.namespaced ? `${root}/namespaces/${ns}/${r.plural}` : `${root}/${r.plural}`;
}

describe('CRUD for every kind in the resource table', () => {
  // Create-only kinds store nothing; test/auth covers them.
  for (const r of resources.filter((x) => !x.ephemeral)) {
    it(`${r.plural}: create, get, list, update, patch, delete`, async () => {
      const body = sample(r, `crud-${r.singular}`);
      const name: string = body.metadata.name;
      const created = await api.post(base(r), body);
      expect(created.status, created.text).toBe(201);
      expect(created.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(created.body.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(Number(created.body.metadata.resourceVersion)).toBeGreaterThan(0);

      const got = await api.get(`${base(r)}/${name}`);
      expect(got.status).toBe(200);
      expect(got.body.metadata.uid).toBe(created.body.metadata.uid);

      const listed = await api.get(`${base(r)}?labelSelector=suite%3Dcrud`);
      expect(listed.status).toBe(200);
      expect(listed.body.kind).toBe(r.listKind);
      expect(listed.body.items.map((o: any) => o.metadata.name)).toContain(name);
      expect(Number(listed.body.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(created.body.metadata.resourceVersion));

      const put = (current: any) => api.put(`${base(r)}/${name}`, { ...current, metadata: { ...current.metadata, labels: { suite: 'crud', step: 'put' } } });
      let updated = await put(got.body);
      // A server-side controller may write first (a CRD's Established condition): a client reads again and retries.
      if (updated.status === 409) updated = await put((await api.get(`${base(r)}/${name}`)).body);
      expect(updated.status, updated.text).toBe(200);
      expect(updated.body.metadata.labels.step).toBe('put');
      expect(Number(updated.body.metadata.resourceVersion)).toBeGreaterThan(Number(got.body.metadata.resourceVersion));

      const patched = await api.patch(`${base(r)}/${name}`, { metadata: { annotations: { step: 'patch' } } });
      expect(patched.status, patched.text).toBe(200);
      expect(patched.body.metadata.annotations.step).toBe('patch');
      expect(patched.body.metadata.labels.step).toBe('put');

      const deleted = await api.del(`${base(r)}/${name}`);
      expect(deleted.status, deleted.text).toBe(200);
      if (r.kind === 'Namespace') {
        // Namespaces go through Terminating and the namespace finalizer first.
        expect(deleted.body.status.phase).toBe('Terminating');
        await expect.poll(async () => (await api.get(`${base(r)}/${name}`)).status, { timeout: 15_000 }).toBe(404);
      } else if (deleted.body.metadata?.finalizers?.length) {
        // Finalizers put on by admission (kube's pvc-protection, pv-protection) hold the object until their controller lets go.
        expect(deleted.body.metadata.deletionTimestamp).toBeTruthy();
        // Or the server's own finalizer (a CRD's customresourcecleanup) is done or at work: gone, or written first (the poll below decides).
        expect([200, 404, 409]).toContain((await update(srv.url, `${base(r)}/${name}`, { metadata: { finalizers: null } })).status);
        await expect.poll(async () => (await api.get(`${base(r)}/${name}`)).status, { timeout: 15_000 }).toBe(404);
      } else {
        expect((await api.get(`${base(r)}/${name}`)).status).toBe(404);
      }
    });
  }
});

describe('concurrency and preconditions', () => {
  it('50 concurrent get-modify-put writers with retry on 409 make exactly 50 increments', async () => {
    const path = '/api/v1/namespaces/default/configmaps';
    expect((await api.post(path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'counter' }, data: { n: '0' } })).status).toBe(201);
    let conflicts = 0;
    await Promise.all(Array.from({ length: 50 }, async () => {
      for (;;) {
        const cur = await api.get(`${path}/counter`);
        cur.body.data.n = String(Number(cur.body.data.n) + 1);
        const put = await api.put(`${path}/counter`, cur.body);
        if (put.status === 200) return;
        expect(put.status).toBe(409);
        expect(put.body.reason).toBe('Conflict');
        conflicts++;
      }
    }));
    const final = await api.get(`${path}/counter`);
    expect(final.body.data.n).toBe('50');
    expect(conflicts).toBeGreaterThan(0);
  });

  it('a stale resourceVersion is a 409 Conflict and changes nothing', async () => {
    const path = '/api/v1/namespaces/default/configmaps';
    const a = await api.post(path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'stale' }, data: { v: '1' } });
    const b = await api.put(`${path}/stale`, { ...a.body, data: { v: '2' } });
    expect(b.status).toBe(200);
    const c = await api.put(`${path}/stale`, { ...a.body, data: { v: '3' } });
    expect(c.status).toBe(409);
    expect(c.body.message).toBe('Operation cannot be fulfilled on configmaps "stale": the object has been modified; please apply your changes to the latest version and try again');
    const now = await api.get(`${path}/stale`);
    expect(now.body.data.v).toBe('2');
    expect(now.body.metadata.resourceVersion).toBe(b.body.metadata.resourceVersion);
  });

  it('creating an existing name is 409 AlreadyExists', async () => {
    const path = '/api/v1/namespaces/default/pods';
    expect((await api.post(path, pod('twice'))).status).toBe(201);
    const again = await api.post(path, pod('twice'));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ kind: 'Status', reason: 'AlreadyExists', message: 'pods "twice" already exists' });
  });

  it('generateName appends five characters from kube\'s alphabet', async () => {
    const r = await api.post('/api/v1/namespaces/default/pods', { ...pod(''), metadata: { generateName: 'gen-' } });
    expect(r.status, r.text).toBe(201);
    expect(r.body.metadata.name).toMatch(/^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it('PUT does not create a pod but does create Endpoints (create-on-update)', async () => {
    const p = await api.put('/api/v1/namespaces/default/pods/nope', pod('nope'));
    expect(p.status).toBe(404);
    const e = await api.put('/api/v1/namespaces/default/endpoints/made-by-put', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'made-by-put' }, subsets: [] });
    expect(e.status, e.text).toBe(201);
  });
});

describe('bad input stores nothing', () => {
  const path = '/api/v1/namespaces/default/configmaps';
  const count = async () => (await api.get(path)).body.items.length;

  it('rejects truncated JSON, wrong types, huge bodies, missing namespaces, bad names and mismatched namespaces', async () => {
    const before = await count();
    const truncated = await api.post(path, '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"');
    expect(truncated.status).toBe(400);
    expect(truncated.body.kind).toBe('Status');

    const wrongType = await api.post('/apis/apps/v1/namespaces/default/deployments',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: typed\nspec:\n  replicas: many\n', { 'Content-Type': 'application/yaml' });
    expect([400, 422]).toContain(wrongType.status);
    expect((await api.get('/apis/apps/v1/namespaces/default/deployments/typed')).status).toBe(404);

    const huge = await api.post(path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'huge' }, data: { k: 'x'.repeat(4 * 1024 * 1024) } });
    expect(huge.status).toBe(413);
    expect(huge.body.reason).toBe('RequestEntityTooLarge');

    const noNs = await api.post('/api/v1/namespaces/missing/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } });
    expect(noNs.status).toBe(404);
    expect(noNs.body.message).toBe('namespaces "missing" not found');

    const capitals = await api.post(path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Capitals' } });
    expect(capitals.status).toBe(422);
    expect(capitals.body.details.causes.map((c: any) => c.field)).toContain('metadata.name');

    const otherNs = await api.post(path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'kube-system' } });
    expect(otherNs.status).toBe(400);
    expect(otherNs.body.message).toBe('the namespace of the provided object does not match the namespace sent on the request');

    const wrongKind = await api.post(path, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } });
    expect(wrongKind.status).toBe(400);

    const unsupported = await api.post(path, 'x', { 'Content-Type': 'text/plain' });
    expect(unsupported.status).toBe(415);

    expect(await count()).toBe(before);
  });

  it('fieldValidation: Strict rejects unknown fields, the default drops them with a warning', async () => {
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fv' }, data: { a: 'b' }, bogus: 1 };
    const strict = await api.post(`${path}?fieldValidation=Strict`, body);
    expect(strict.status).toBe(400);
    expect(strict.body.message).toBe('strict decoding error: unknown field "bogus"');
    const warn = await api.post(path, body);
    expect(warn.status).toBe(201);
    expect(warn.headers.get('warning')).toBe('299 - "unknown field \\"bogus\\""');
    expect(warn.body.bogus).toBeUndefined();
  });

  it('dryRun=All validates without storing', async () => {
    const r = await api.post(`${path}?dryRun=All`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dry' } });
    expect(r.status).toBe(201);
    expect((await api.get(`${path}/dry`)).status).toBe(404);
    const bad = await api.post(`${path}?dryRun=All`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Dry' } });
    expect(bad.status).toBe(422);
  });

  it('an unknown resource is a 404 Status', async () => {
    const r = await api.get('/api/v1/namespaces/default/widgets');
    expect(r.status).toBe(404);
    expect(r.body.kind).toBe('Status');
  });
});

describe('object lifecycle rules', () => {
  it('finalizers keep a deleted object until the last one is removed', async () => {
    const path = '/api/v1/namespaces/default/configmaps';
    await api.post(path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fin', finalizers: ['example.com/a', 'example.com/b'] } });
    const del = await api.del(`${path}/fin`);
    expect(del.status).toBe(200);
    expect(del.body.metadata.deletionTimestamp).toBeTruthy();
    const cur = await api.get(`${path}/fin`);
    expect(cur.status).toBe(200);
    const one = await api.patch(`${path}/fin`, [{ op: 'replace', path: '/metadata/finalizers', value: ['example.com/b'] }], 'application/json-patch+json');
    expect(one.status, one.text).toBe(200);
    expect((await api.get(`${path}/fin`)).status).toBe(200);
    const last = await update(srv.url, `${path}/fin`, { metadata: { finalizers: null } });
    expect(last.status, last.text).toBe(200);
    expect((await api.get(`${path}/fin`)).status).toBe(404);
  });

  it('a delete racing with writes to the object succeeds instead of answering 409', async () => {
    // A controller writing status while a user deletes is the normal case; only the user's own preconditions may conflict.
    const path = '/api/v1/namespaces/default/configmaps';
    for (let round = 0; round < 5; round++) {
      const name = `racy-${round}`;
      await api.post(path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { n: '0' } });
      let stop = false;
      const writers = Array.from({ length: 4 }, async () => {
        for (let i = 0; !stop && i < 200; i++) {
          const r = await api.patch(`${path}/${name}`, { data: { n: String(i) } }, 'application/merge-patch+json');
          if (r.status === 404) return;
        }
      });
      await new Promise((r) => setTimeout(r, 20));
      const del = await api.del(`${path}/${name}`);
      stop = true;
      await Promise.all(writers);
      expect(del.status, del.text).toBe(200);
      expect((await api.get(`${path}/${name}`)).status).toBe(404);
    }
  });

  it('propagationPolicy Orphan and Foreground add their finalizers', async () => {
    const path = '/apis/apps/v1/namespaces/default/replicasets';
    for (const [policy, finalizer] of [['Orphan', 'orphan'], ['Foreground', 'foregroundDeletion']]) {
      const name = `prop-${policy.toLowerCase()}`;
      await api.post(path, { ...deployment(name), kind: 'ReplicaSet', metadata: { name } });
      const del = await api.del(`${path}/${name}`, { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: policy });
      expect(del.status).toBe(200);
      expect(del.body.metadata.finalizers).toContain(finalizer);
      expect((await api.get(`${path}/${name}`)).body.metadata.deletionTimestamp).toBeTruthy();
    }
  });

  it('generation moves with spec changes only, never with status or metadata', async () => {
    const path = '/apis/apps/v1/namespaces/default/deployments';
    const c = await api.post(path, deployment('gen'));
    expect(c.body.metadata.generation).toBe(1);
    const labels = await update(srv.url, `${path}/gen`, { metadata: { labels: { x: 'y' } } });
    expect(labels.body.metadata.generation).toBe(1);
    const spec = await update(srv.url, `${path}/gen`, { spec: { replicas: 3 } });
    expect(spec.body.metadata.generation).toBe(2);
    const status = await update(srv.url, `${path}/gen/status`, { status: { observedGeneration: 2, replicas: 3 } });
    expect(status.status, status.text).toBe(200);
    expect(status.body.metadata.generation).toBe(2);
    expect(status.body.status.observedGeneration).toBe(2);
  });

  it('an EndpointSlice\'s generation also moves with its labels, as kube\'s endpointSliceStrategy', async () => {
    const path = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
    const c = await api.post(path, { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'gen-slice' }, addressType: 'IPv4', endpoints: [{ addresses: ['10.1.0.1'] }], ports: [{ port: 80, protocol: 'TCP' }] });
    expect(c.status, c.text).toBe(201);
    expect(c.body.metadata.generation).toBe(1);
    const annotated = await update(srv.url, `${path}/gen-slice`, { metadata: { annotations: { a: 'b' } } });
    expect(annotated.body.metadata.generation).toBe(1);
    const labelled = await update(srv.url, `${path}/gen-slice`, { metadata: { labels: { 'kubernetes.io/service-name': 'other' } } });
    expect(labelled.body.metadata.generation).toBe(2);
    const endpoints = await update(srv.url, `${path}/gen-slice`, { endpoints: [{ addresses: ['10.1.0.2'] }] });
    expect(endpoints.body.metadata.generation).toBe(3);
  });

  it('status is written only through /status, and /status writes only status', async () => {
    const path = '/apis/apps/v1/namespaces/default/deployments';
    const c = await api.post(path, { ...deployment('iso'), status: { replicas: 9 } });
    expect(c.body.status?.replicas).toBeUndefined();
    const main = await update(srv.url, `${path}/iso`, { status: { replicas: 5 } });
    expect(main.status).toBe(200);
    expect(main.body.status?.replicas).toBeUndefined();
    const viaStatus = await update(srv.url, `${path}/iso/status`, { spec: { replicas: 7 }, status: { replicas: 5 } });
    expect(viaStatus.body.status.replicas).toBe(5);
    expect(viaStatus.body.spec.replicas).toBe(1);
    const podCreated = await api.post('/api/v1/namespaces/default/pods', { ...pod('phase'), status: { phase: 'Running' } });
    expect(podCreated.body.status.phase).toBe('Pending');
  });

  it('scale subresource reads and writes spec.replicas', async () => {
    const path = '/apis/apps/v1/namespaces/default/deployments';
    await api.post(path, deployment('scaled', 2));
    const s = await api.get(`${path}/scaled/scale`);
    expect(s.body).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 2 }, status: { replicas: 0, selector: 'app=scaled' } });
    const put = await api.put(`${path}/scaled/scale`, { ...s.body, spec: { replicas: 4 } });
    expect(put.status, put.text).toBe(200);
    expect(put.body.spec.replicas).toBe(4);
    const stale = await api.put(`${path}/scaled/scale`, { ...s.body, spec: { replicas: 6 } });
    expect(stale.status).toBe(409);
    const patched = await api.patch(`${path}/scaled/scale`, { spec: { replicas: 5 } });
    expect(patched.body.spec.replicas).toBe(5);
    expect((await api.get(`${path}/scaled`)).body.spec.replicas).toBe(5);
  });

  it('binding assigns a node once', async () => {
    const path = '/api/v1/namespaces/default/pods';
    await api.post(path, pod('bind-me'));
    const binding = (node: string) => ({ apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bind-me' }, target: { apiVersion: 'v1', kind: 'Node', name: node } });
    const first = await api.post(`${path}/bind-me/binding`, binding('node-a'));
    expect(first.status, first.text).toBe(201);
    expect((await api.get(`${path}/bind-me`)).body.spec.nodeName).toBe('node-a');
    const second = await api.post(`${path}/bind-me/binding`, binding('node-b'));
    expect(second.status).toBe(409);
    expect(second.body.message).toContain('pod bind-me is already assigned to node "node-a"');
  });

  it('a bound pod is deleted gracefully; grace only shortens; the kubelet\'s grace 0 removes it', async () => {
    const path = '/api/v1/namespaces/default/pods';
    await api.post(path, { ...pod('graceful'), spec: { ...pod('graceful').spec, nodeName: 'node-a' } });
    const first = await api.del(`${path}/graceful`);
    expect(first.body.metadata.deletionGracePeriodSeconds).toBe(30);
    const longer = await api.del(`${path}/graceful`, { gracePeriodSeconds: 60 });
    expect(longer.body.metadata.deletionGracePeriodSeconds).toBe(30);
    const shorter = await api.del(`${path}/graceful?gracePeriodSeconds=10`);
    expect(shorter.body.metadata.deletionGracePeriodSeconds).toBe(10);
    expect((await api.get(`${path}/graceful`)).status).toBe(200);
    const now = await api.del(`${path}/graceful`, { gracePeriodSeconds: 0 });
    expect(now.status).toBe(200);
    expect((await api.get(`${path}/graceful`)).status).toBe(404);

    await api.post(path, pod('unbound'));
    expect((await api.del(`${path}/unbound`)).status).toBe(200);
    expect((await api.get(`${path}/unbound`)).status).toBe(404);
  });

  it('a terminating namespace refuses new content, then disappears with its objects', async () => {
    await api.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
    await api.post('/api/v1/namespaces/doomed/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } });
    await api.post('/api/v1/namespaces/doomed/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', finalizers: ['example.com/hold'] } });
    expect((await api.del('/api/v1/namespaces/doomed')).body.status.phase).toBe('Terminating');
    const refused = await api.post('/api/v1/namespaces/doomed/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } });
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain('unable to create new content in namespace doomed because it is being terminated');
    await expect.poll(async () => (await api.get('/api/v1/namespaces/doomed/configmaps/a')).status, { timeout: 10_000 }).toBe(404);
    expect((await api.get('/api/v1/namespaces/doomed')).status).toBe(200);
    await update(srv.url, '/api/v1/namespaces/doomed/configmaps/b', { metadata: { finalizers: null } });
    await expect.poll(async () => (await api.get('/api/v1/namespaces/doomed')).status, { timeout: 15_000 }).toBe(404);
  });
});

describe('selectors and printing', () => {
  it('filters lists by equality and set-based label selectors and by fields', async () => {
    const path = '/api/v1/namespaces/default/configmaps';
    for (const [name, env] of [['sel-a', 'prod'], ['sel-b', 'dev'], ['sel-c', 'test']]) {
      await api.post(path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { group: 'sel', env } } });
    }
    const names = async (q: string) => (await api.get(`${path}?${q}`)).body.items.map((o: any) => o.metadata.name).sort();
    expect(await names('labelSelector=group%3Dsel%2Cenv!%3Ddev')).toEqual(['sel-a', 'sel-c']);
    expect(await names('labelSelector=' + encodeURIComponent('group=sel,env in (dev,test)'))).toEqual(['sel-b', 'sel-c']);
    expect(await names('labelSelector=' + encodeURIComponent('group,!missing,env notin (prod)'))).toEqual(['sel-b', 'sel-c']);
    expect(await names('labelSelector=group%3Dsel&fieldSelector=metadata.name%3Dsel-b')).toEqual(['sel-b']);
    expect((await api.get(`${path}?fieldSelector=spec.bogus%3Dx`)).status).toBe(400);
    expect((await api.get(`${path}?labelSelector=${encodeURIComponent('a in (')}`)).status).toBe(400);
  });

  it('pods filter on spec.nodeName and status.phase', async () => {
    const path = '/api/v1/namespaces/default/pods';
    await api.post(path, { ...pod('on-n1'), spec: { ...pod('x').spec, nodeName: 'n1' } });
    const r = await api.get('/api/v1/pods?fieldSelector=spec.nodeName%3Dn1');
    expect(r.body.items.map((o: any) => o.metadata.name)).toEqual(['on-n1']);
  });

  it('serves Tables for pods, deployments and services', async () => {
    const accept = { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json' };
    await api.post('/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'tbl' }, spec: { ports: [{ port: 80 }] } });
    await api.post('/apis/apps/v1/namespaces/default/deployments', deployment('tbl'));
    await api.post('/api/v1/namespaces/default/pods', pod('tbl'));
    for (const [path, first] of [['/api/v1/namespaces/default/pods', 'Name'], ['/apis/apps/v1/namespaces/default/deployments', 'Name'], ['/api/v1/namespaces/default/services', 'Name']]) {
      const t = await api.get(path, accept);
      expect(t.status).toBe(200);
      expect(t.body.kind).toBe('Table');
      expect(t.body.columnDefinitions[0].name).toBe(first);
      expect(t.body.rows.length).toBeGreaterThan(0);
    }
    const one = await api.get('/api/v1/namespaces/default/pods/tbl', accept);
    expect(one.body.kind).toBe('Table');
    expect(one.body.rows).toHaveLength(1);
    const json = await api.get('/api/v1/namespaces/default/pods/tbl', { Accept: 'application/vnd.kubernetes.protobuf,application/json' });
    expect(json.body.kind).toBe('Pod');
  });

  it('answers /version, /healthz and /metrics', async () => {
    expect((await api.get('/version')).body).toMatchObject({ major: '1', minor: '32' });
    expect((await api.get('/healthz')).text).toBe('ok');
    const m = await api.get('/metrics');
    expect(m.text).toMatch(/apiserver_request_total\{[^}]*verb="POST"[^}]*resource="pods"/);
  });
});

import { describe, expect, it } from 'vitest';
import { FakeClient } from './fake.js';
import { R } from '../api/resources.js';
import { isAlreadyExists, isConflict, isExpired, isNotFound, errors } from '../api/errors.js';
import type { KubeObject, Pod } from '../api/types.js';
import type { WatchEventOf } from './interfaces.js';

const pod = (name: string, labels: Record<string, string> = {}): Pod => ({ metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });

describe('FakeClient', () => {
  it('assigns server metadata and enforces NotFound, AlreadyExists and Conflict', async () => {
    const c = new FakeClient();
    const pods = c.resource<Pod>(R.pods, 'default');
    const p = await pods.create(pod('a'));
    expect(p.metadata).toMatchObject({ namespace: 'default', generation: 1, resourceVersion: '1' });
    expect(p.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(p.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(p.kind).toBe('Pod');
    await expect(pods.create(pod('a'))).rejects.toSatisfy(isAlreadyExists);
    await expect(pods.get('nope')).rejects.toSatisfy(isNotFound);
    const changed = { ...p, spec: { ...p.spec, nodeName: 'n1' } };
    const u = await pods.update(changed);
    expect(u.metadata.generation).toBe(2);
    expect(u.metadata.resourceVersion).toBe('2');
    await expect(pods.update(changed)).rejects.toSatisfy(isConflict);
  });

  it('lists by label and field selector; patches with merge and json patch', async () => {
    const c = new FakeClient([R.pods, { ...pod('a', { app: 'web' }), metadata: { name: 'a', namespace: 'ns1', labels: { app: 'web' } } }]);
    const pods = c.resource<Pod>(R.pods, 'ns1');
    await pods.create(pod('b', { app: 'db' }));
    expect((await pods.list({ labelSelector: 'app=web' })).items.map((p) => p.metadata.name)).toEqual(['a']);
    expect((await pods.list({ fieldSelector: 'metadata.name=b' })).items.map((p) => p.metadata.name)).toEqual(['b']);
    expect((await pods.list({ labelSelector: 'app in (db,x)' })).items.map((p) => p.metadata.name)).toEqual(['b']);
    expect((await pods.list({ fieldSelector: 'metadata.name!=b' })).items.map((p) => p.metadata.name)).toEqual(['a']);
    await expect(pods.list({ labelSelector: 'app in (' })).rejects.toMatchObject({ code: 400 });
    expect((await c.resource(R.pods).list()).items).toHaveLength(2);
    const m = await pods.patch('a', 'merge', { metadata: { labels: { app: null, tier: 'fe' } } });
    expect(m.metadata.labels).toEqual({ tier: 'fe' });
    const j = await pods.patch('a', 'json', [{ op: 'add', path: '/metadata/annotations', value: { x: 'y' } }]);
    expect(j.metadata.annotations).toEqual({ x: 'y' });
    const s = await pods.patch('a', 'merge', { status: { phase: 'Running' } }, { subresource: 'status' });
    expect(s.status?.phase).toBe('Running');
  });

  it('tells a selector watch an object entered (ADDED) or left (DELETED, old content, new resourceVersion), live and on replay', async () => {
    const c = new FakeClient();
    const pods = c.resource<Pod>(R.pods, 'default');
    const start = await pods.create(pod('a'));
    const live: string[] = [];
    const w = pods.watch({ resourceVersion: start.metadata.resourceVersion, fieldSelector: 'spec.nodeName=' }, (e) => live.push(`${e.type} ${(e.object as Pod).spec.nodeName ?? ''} ${e.object.metadata.resourceVersion}`));
    await new Promise((r) => setTimeout(r, 0));
    await pods.createSubresource('a', 'binding', { target: { name: 'n1' } });
    const other = await pods.create(pod('b'));
    await pods.update({ ...other, metadata: { ...other.metadata, labels: { x: 'y' } } });
    w.stop();
    expect(live).toEqual(['DELETED  2', 'ADDED  3', 'MODIFIED  4']);

    const replay: string[] = [];
    const assigned = pods.watch({ resourceVersion: start.metadata.resourceVersion, fieldSelector: 'spec.nodeName!=' }, (e) => replay.push(`${e.type} ${(e.object as Pod).metadata.name}`));
    await new Promise((r) => setTimeout(r, 0));
    assigned.stop();
    expect(replay).toEqual(['ADDED a']);
  });

  it('records actions and lets reactors inject errors', async () => {
    const c = new FakeClient();
    c.prependReactor('create', 'pods', (a) => (a.name === 'bad' ? { handled: true, err: errors.internal('injected') } : { handled: false }));
    const pods = c.resource<Pod>(R.pods, 'default');
    await pods.create(pod('ok'));
    await expect(pods.create(pod('bad'))).rejects.toThrow(/injected/);
    await pods.delete('ok');
    expect(c.actions.map((a) => [a.verb, a.resource, a.namespace, a.name])).toEqual([
      ['create', 'pods', 'default', 'ok'],
      ['create', 'pods', 'default', 'bad'],
      ['delete', 'pods', 'default', 'ok'],
    ]);
  });

  it('binds, scales and evicts through subresources', async () => {
    const c = new FakeClient();
    const pods = c.resource<Pod>(R.pods, 'default');
    await pods.create(pod('a'));
    await pods.createSubresource('a', 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'a' }, target: { kind: 'Node', name: 'n1' } });
    const bound = await pods.get('a');
    expect(bound.spec.nodeName).toBe('n1');
    expect(bound.status?.conditions?.find((x) => x.type === 'PodScheduled')?.status).toBe('True');
    await expect(pods.createSubresource('a', 'binding', { target: { name: 'n2' } })).rejects.toSatisfy(isConflict);
    await pods.createSubresource('a', 'eviction', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'a' } });
    await expect(pods.get('a')).rejects.toSatisfy(isNotFound);

    const rs = c.resource(R.replicasets, 'default');
    await rs.create({ metadata: { name: 'r' }, spec: { replicas: 1, selector: { matchLabels: { app: 'x' } } } });
    const scale = await rs.patch('r', 'merge', { spec: { replicas: 3 } }, { subresource: 'scale' });
    expect(scale).toMatchObject({ kind: 'Scale', spec: { replicas: 3 }, status: { selector: 'app=x' } });
    expect((await rs.get('r')).spec.replicas).toBe(3);
  });

  it('keeps objects with finalizers until the last one is removed', async () => {
    const c = new FakeClient();
    const cms = c.resource(R.configmaps, 'default');
    await cms.create({ metadata: { name: 'f', finalizers: ['x/y'] } });
    await cms.delete('f');
    const deleting = await cms.get('f');
    expect(deleting.metadata.deletionTimestamp).toBeDefined();
    await cms.update({ ...deleting, metadata: { ...deleting.metadata, finalizers: [] } });
    await expect(cms.get('f')).rejects.toSatisfy(isNotFound);
  });

  it('watches from a resourceVersion, and answers 410 once the history is compacted', async () => {
    const c = new FakeClient();
    const cms = c.resource(R.configmaps, 'default');
    const a = await cms.create({ metadata: { name: 'a' } });
    const events: WatchEventOf<KubeObject>[] = [];
    const w = cms.watch({ resourceVersion: a.metadata.resourceVersion }, (e) => events.push(e));
    await cms.create({ metadata: { name: 'b' } });
    await cms.delete('a');
    await Promise.resolve();
    expect(events.map((e) => [e.type, (e.object as KubeObject).metadata.name])).toEqual([['ADDED', 'b'], ['DELETED', 'a']]);
    w.stop();
    await w.done;
    expect(c.watcherCount()).toBe(0);

    c.compact();
    const errs: WatchEventOf<KubeObject>[] = [];
    const w2 = cms.watch({ resourceVersion: a.metadata.resourceVersion }, (e) => errs.push(e));
    await w2.done;
    expect(errs).toHaveLength(1);
    expect(errs[0].type).toBe('ERROR');
    expect((errs[0].object as { code: number }).code).toBe(410);
    expect(isExpired(errors.expired('x'))).toBe(true);
  });
});

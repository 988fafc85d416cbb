import { afterEach, describe, expect, it, vi } from 'vitest';
import { errors } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { ConfigMap, KubeObject } from '../../api/types.js';
import { FakeClient } from '../../client/fake.js';
import { SharedInformerFactory } from '../../client/informer.js';
import { description, RootCACertPublisher } from './publisher.js';

const ca = '-----BEGIN CERTIFICATE-----\nMIIBcluster\n-----END CERTIFICATE-----\n';
const ns = (name: string, phase = 'Active'): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name }, status: { phase } });

const running: { c: RootCACertPublisher; f: SharedInformerFactory; done: Promise<void> }[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.c.shutDown();
    r.f.stop();
    await r.done;
  }
});

async function start(fake: FakeClient) {
  const f = new SharedInformerFactory(fake);
  const c = new RootCACertPublisher({ client: fake, informers: f, rootCA: ca });
  f.start();
  await f.waitForCacheSync();
  running.push({ c, f, done: c.run(1) });
  return c;
}

const rootCM = (fake: FakeClient, namespace: string) => fake.resource<ConfigMap>(R.configmaps, namespace).get('kube-root-ca.crt');

describe('root CA certificate publisher', () => {
  it('publishes kube-root-ca.crt with ca.crt and kube\'s description in every namespace', async () => {
    const fake = new FakeClient([R.namespaces, ns('default')], [R.namespaces, ns('kube-system')]);
    await start(fake);
    for (const n of ['default', 'kube-system']) {
      await vi.waitFor(async () => expect((await rootCM(fake, n)).data).toEqual({ 'ca.crt': ca }));
    }
    const cm = await rootCM(fake, 'default');
    expect(cm.metadata.annotations).toEqual({ 'kubernetes.io/description': description });
    await fake.resource(R.namespaces).create(ns('team-a'));
    await vi.waitFor(async () => expect((await rootCM(fake, 'team-a')).data).toEqual({ 'ca.crt': ca }));
  });

  it('puts back what is edited or deleted, keeping other annotations and labels', async () => {
    const fake = new FakeClient([R.namespaces, ns('default')]);
    await start(fake);
    const cms = fake.resource<ConfigMap>(R.configmaps, 'default');
    await vi.waitFor(() => rootCM(fake, 'default'));
    const cm = await rootCM(fake, 'default');
    await cms.update({ ...cm, metadata: { ...cm.metadata, labels: { mine: 'yes' }, annotations: { other: 'x' } }, data: { 'ca.crt': 'forged', extra: '1' } });
    await vi.waitFor(async () => expect((await rootCM(fake, 'default')).data).toEqual({ 'ca.crt': ca }));
    const fixed = await rootCM(fake, 'default');
    expect(fixed.metadata.labels).toEqual({ mine: 'yes' });
    expect(fixed.metadata.annotations).toEqual({ other: 'x', 'kubernetes.io/description': description });
    await cms.delete('kube-root-ca.crt');
    await vi.waitFor(async () => expect((await rootCM(fake, 'default')).metadata.uid).not.toBe(cm.metadata.uid));
  });

  it('writes nothing when all is right, and leaves other ConfigMaps alone', async () => {
    const fake = new FakeClient(
      [R.namespaces, ns('default')],
      [R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace: 'default', annotations: { 'kubernetes.io/description': 'theirs' } }, data: { 'ca.crt': ca } }],
      [R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'default' }, data: { 'ca.crt': 'whatever' } }],
    );
    const c = await start(fake);
    await c.sync('default');
    await fake.resource(R.configmaps, 'default').update({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'default' }, data: { 'ca.crt': 'changed' } });
    await vi.waitFor(() => expect(c.queue.len()).toBe(0));
    expect(fake.actions.filter((a) => a.verb !== 'list' && a.verb !== 'watch' && !(a.verb === 'update' && a.name === 'app'))).toEqual([]);
  });

  it('gives up on a namespace that is gone or terminating, and retries other failures', async () => {
    const fake = new FakeClient([R.namespaces, ns('x')]);
    const f = new SharedInformerFactory(fake);
    const c = new RootCACertPublisher({ client: fake, informers: f, rootCA: ca });
    f.start();
    await f.waitForCacheSync();
    let err = errors.forbidden('configmaps "kube-root-ca.crt" is forbidden: unable to create new content in namespace x because it is being terminated');
    fake.prependReactor('create', 'configmaps', () => ({ handled: true, err }));
    await expect(c.sync('x')).resolves.toBeUndefined();
    err = errors.notFound('namespaces', 'x');
    await expect(c.sync('x')).resolves.toBeUndefined();
    err = errors.internal('etcd hiccup');
    await expect(c.sync('x')).rejects.toThrow('etcd hiccup');
    f.stop();
    expect(() => new RootCACertPublisher({ client: fake, informers: f, rootCA: 'not a certificate' })).toThrow(/no PEM certificate/);
  });
});

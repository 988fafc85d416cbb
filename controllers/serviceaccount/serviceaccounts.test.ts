import { afterEach, describe, expect, it, vi } from 'vitest';
import { errors } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { FakeClient } from '../../client/fake.js';
import { SharedInformerFactory } from '../../client/informer.js';
import { ServiceAccountsController } from './serviceaccounts.js';

const ns = (name: string, phase: 'Active' | 'Terminating' = 'Active'): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name }, status: { phase } });

const running: { c: ServiceAccountsController; f: SharedInformerFactory; done: Promise<void> }[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.c.shutDown();
    r.f.stop();
    await r.done;
  }
});

async function start(fake: FakeClient, serviceAccounts?: string[]) {
  const f = new SharedInformerFactory(fake);
  const c = new ServiceAccountsController({ client: fake, informers: f, serviceAccounts });
  f.start();
  await f.waitForCacheSync();
  const done = c.run(1);
  running.push({ c, f, done });
  return c;
}

const names = async (fake: FakeClient, namespace: string) => (await fake.resource(R.serviceaccounts, namespace).list()).items.map((s) => s.metadata.name).sort();

describe('ServiceAccounts controller', () => {
  it('creates "default" in every active namespace, old and new, and not in terminating ones', async () => {
    const fake = new FakeClient([R.namespaces, ns('default')], [R.namespaces, ns('going', 'Terminating')]);
    await start(fake);
    await vi.waitFor(async () => expect(await names(fake, 'default')).toEqual(['default']));
    await fake.resource(R.namespaces).create(ns('team-a'));
    await vi.waitFor(async () => expect(await names(fake, 'team-a')).toEqual(['default']));
    expect(await names(fake, 'going')).toEqual([]);
  });

  it('recreates "default" when it is deleted, and leaves other ServiceAccounts alone', async () => {
    const fake = new FakeClient([R.namespaces, ns('default')]);
    await start(fake);
    const sas = fake.resource(R.serviceaccounts, 'default');
    await vi.waitFor(async () => expect(await names(fake, 'default')).toEqual(['default']));
    const first = await sas.get('default');
    await sas.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot' } });
    await sas.delete('robot');
    await sas.delete('default');
    await vi.waitFor(async () => expect((await sas.get('default')).metadata.uid).not.toBe(first.metadata.uid));
    expect(await names(fake, 'default')).toEqual(['default']);
  });

  it('does not create what exists, takes a lost race as done, and retries real failures', async () => {
    const fake = new FakeClient(
      [R.namespaces, ns('a')], [R.namespaces, ns('b')],
      [R.serviceaccounts, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'a' } }],
    );
    let failures = 1;
    fake.prependReactor('create', 'serviceaccounts', (a) => {
      if (a.namespace !== 'b') return { handled: false };
      if (failures-- > 0) return { handled: true, err: errors.internal('etcd hiccup') };
      return { handled: true, err: errors.alreadyExists('serviceaccounts', 'default') };
    });
    const c = await start(fake, ['default']);
    await vi.waitFor(() => expect(fake.actions.filter((a) => a.verb === 'create' && a.namespace === 'b')).toHaveLength(2));
    expect(fake.actions.filter((a) => a.verb === 'create' && a.namespace === 'a')).toEqual([]);
    // The AlreadyExists ended the retries: nothing is queued any more.
    await vi.waitFor(() => expect(c.queue.len()).toBe(0));
    expect(c.queue.numRequeues('b')).toBe(0);
  });

  it('ignores a namespace that started terminating under it', async () => {
    const fake = new FakeClient([R.namespaces, ns('x')]);
    fake.prependReactor('create', 'serviceaccounts', () => ({ handled: true, err: errors.forbidden('serviceaccounts "default" is forbidden: unable to create new content in namespace x because it is being terminated') }));
    const f = new SharedInformerFactory(fake);
    const c = new ServiceAccountsController({ client: fake, informers: f });
    f.start();
    await f.waitForCacheSync();
    await expect(c.sync('x')).resolves.toBeUndefined();
    fake.prependReactor('create', 'serviceaccounts', () => ({ handled: true, err: errors.forbidden('nope') }));
    await expect(c.sync('x')).rejects.toThrow('nope');
    f.stop();
  });
});

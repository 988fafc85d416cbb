// The namespace controller's loop in the API server: a pass that fails (etcd
// unavailable mid-way) is retried, so a Terminating namespace still goes once
// its content is gone, with no further namespace event to restart it.

import { describe, expect, it } from 'vitest';
import { resources, type ResourceInfo } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { MemoryStorage } from '../storage/memory.js';
import { StorageError, type ListOptions } from '../storage/interface.js';
import { NamespaceLifecycle } from './namespaces.js';
import { Store } from './store.js';

/** Memory storage whose next `failures` lists under /configmaps/ fail as an unreachable etcd does. */
class FlakyStorage extends MemoryStorage {
  failures = 0;
  override async list(prefix: string, opts?: ListOptions) {
    if (prefix.includes('/configmaps/') && this.failures > 0) {
      this.failures--;
      throw new StorageError('Unavailable', prefix, 'etcdserver: request timed out');
    }
    return super.list(prefix, opts);
  }
}

function cluster() {
  const storage = new FlakyStorage();
  const byResource = new Map<ResourceInfo, Store>();
  const storeFor = (r: ResourceInfo): Store => {
    let s = byResource.get(r);
    if (!s) byResource.set(r, (s = new Store(r, storage, '/registry', lifecycle.phase)));
    return s;
  };
  const storeOf = (plural: string, r?: ResourceInfo): Store => storeFor(r ?? resources.find((x) => x.plural === plural)!);
  const lifecycle = new NamespaceLifecycle(storage, storeOf);
  return { storage, lifecycle, namespaces: storeOf('namespaces'), configmaps: storeOf('configmaps') };
}

const configmap = (name: string, extra: KubeObject['metadata'] = {}): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra } });

async function gone(store: Store, namespace: string | undefined, name: string): Promise<boolean> {
  return store.get(namespace, name).then(() => false, (e) => (e as { code?: number }).code === 404);
}

describe('NamespaceLifecycle', () => {
  it('keeps finalizing through failed passes and removes the namespace once its content is gone', async () => {
    const { storage, lifecycle, namespaces, configmaps } = cluster();
    lifecycle.start();
    try {
      await namespaces.create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
      await configmaps.create('doomed', configmap('a'));
      await configmaps.create('doomed', configmap('held', { finalizers: ['example.com/hold'] }));
      storage.failures = 2;
      await namespaces.delete(undefined, 'doomed', {});
      await expect.poll(() => gone(configmaps, 'doomed', 'a'), { timeout: 8000 }).toBe(true);
      expect(storage.failures).toBe(0);
      expect(await gone(namespaces, undefined, 'doomed')).toBe(false);

      storage.failures = 1;
      await configmaps.update('doomed', 'held', (o) => ({ ...o!, metadata: { ...o!.metadata, finalizers: [] } }), {});
      await expect.poll(() => gone(namespaces, undefined, 'doomed'), { timeout: 8000 }).toBe(true);
    } finally {
      lifecycle.stop();
    }
  });
});

// Namespace lifecycle: which namespaces exist (for the "namespace not found"
// and "being terminated" checks on create, as the NamespaceLifecycle
// admission plugin does from its informer), and the namespace controller's
// job in-process: empty a Terminating namespace, then drop its "kubernetes"
// finalizer so the store removes it.

import { R, resources, type ResourceInfo } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { logger } from '../../lib/log.js';
import type { Storage, WatchHandle } from '../storage/interface.js';
import type { Store } from './store.js';

const log = logger('apiserver');

export class NamespaceLifecycle {
  private readonly phases = new Map<string, 'Active' | 'Terminating'>();
  private watchHandle?: WatchHandle;
  private stopped = false;
  private readonly finalizing = new Set<string>();
  private retry?: NodeJS.Timeout;

  /** finalize: run the namespace controller's part here; with several workers only one does, the others only cache phases. */
  constructor(private readonly storage: Storage, private readonly stores: (plural: string, r?: ResourceInfo) => Store, private readonly finalizes = true) {}

  /** For Store: the cached phase, or a live read when the cache has not seen the namespace yet. */
  phase = async (name: string): Promise<'Active' | 'Terminating' | undefined> => {
    const cached = this.phases.get(name);
    if (cached) return cached;
    try {
      const ns = await this.stores('namespaces').get(undefined, name);
      return ns.metadata.deletionTimestamp ? 'Terminating' : 'Active';
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  };

  start(): void {
    if (this.stopped) return;
    const nsStore = this.stores('namespaces');
    this.watchHandle = this.storage.watch(nsStore.listPrefix(), { sinceRevision: 0, recursive: true }, {
      onEvent: (e) => {
        const name = e.object.metadata.name!;
        if (e.type === 'DELETED') {
          this.phases.delete(name);
          return;
        }
        const terminating = !!e.object.metadata.deletionTimestamp;
        this.phases.set(name, terminating ? 'Terminating' : 'Active');
        if (terminating && this.finalizes) void this.finalize(name);
      },
      onError: (err) => {
        // Restart from current state: a fresh list repopulates the cache, no event is needed twice.
        log.warn('namespace watch ended, restarting', { error: err.message });
        this.phases.clear();
        if (!this.stopped) this.retry = setTimeout(() => this.start(), 1000);
      },
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.watchHandle?.stop();
  }

  /**
   * Level-based, as kube's namespace controller: pass over the namespace's
   * content until none is left, then drop the finalizer. A failed pass (etcd
   * unavailable, a custom resource's CRD going away mid-list) is retried
   * rather than ending the loop, since no further namespace event may come to
   * start it again.
   */
  private async finalize(namespace: string): Promise<void> {
    if (this.finalizing.has(namespace)) return;
    this.finalizing.add(namespace);
    try {
      while (!this.stopped && this.phases.get(namespace) === 'Terminating') {
        try {
          if (await this.emptyOnce(namespace)) {
            await this.stores('namespaces').update(undefined, namespace, (ns) => dropKubernetesFinalizer(ns!), { fieldManager: 'kube-apiserver' });
            return;
          }
        } catch (e) {
          if ((e as { code?: number }).code === 404) return; // the namespace itself is gone
          log.warn('namespace finalization failed, retrying', { namespace, error: (e as Error).message });
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    } finally {
      this.finalizing.delete(namespace);
    }
  }

  /** Delete what is left in the namespace; true when nothing is. */
  private async emptyOnce(namespace: string): Promise<boolean> {
    let remaining = 0;
    for (const r of resources.filter((x) => x.namespaced && !x.ephemeral)) {
      // By entry, not plural: a custom resource may share a plural with another group's.
      const store = this.stores(r.plural, r);
      let items: KubeObject[];
      try {
        ({ items } = await store.list(namespace, {}));
      } catch (e) {
        if (resources.includes(r)) throw e;
        continue; // a custom resource unregistered since the pass began: its CRD's own cleanup removes its objects
      }
      remaining += items.length;
      for (const o of items) {
        if (o.metadata.deletionTimestamp && r !== R.pods) continue;
        await store.delete(namespace, o.metadata.name!, {}).catch((e) => {
          if ((e as { code?: number }).code !== 404) throw e;
        });
      }
    }
    return remaining === 0;
  }
}

function dropKubernetesFinalizer(ns: KubeObject): KubeObject {
  ns.spec = { ...(ns.spec ?? {}), finalizers: (ns.spec?.finalizers ?? []).filter((f: string) => f !== 'kubernetes') };
  return ns;
}

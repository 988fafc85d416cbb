// A lister over one resource of the API server's own storage, for admission
// plugins that read other objects on every request (ResourceQuota,
// LimitRanger, Priority, PodSecurity's namespaces, DefaultStorageClass), as
// kube-apiserver gives them informers. Without it each
// create of any namespaced object read etcd once more, and failed when etcd
// was unreachable before its own write was even tried.
//
// kube adds a "live lookup" for a namespace its informer shows empty, since
// that informer runs over a loopback client and may lag by seconds; this
// cache is fed by the storage watch itself (milliseconds behind), and the
// quota controller recounts usage in any case, so an empty namespace is
// taken as empty once the first list has arrived.

import { isNotFound } from '../../api/errors.js';
import type { KubeObject } from '../../api/types.js';
import { logger } from '../../lib/log.js';
import type { WatchHandle } from '../storage/interface.js';
import type { Store } from './store.js';

const log = logger('apiserver');

export class CachedLister {
  private readonly byNamespace = new Map<string, Map<string, KubeObject>>();
  private synced = false;
  private handle?: WatchHandle;
  private stopped = false;
  private retry?: NodeJS.Timeout;

  /** Starts listing and watching at once, as the server's informers start with it. */
  constructor(private readonly store: Store) {
    this.start();
  }

  /** The namespace's objects ('' for a cluster-scoped resource): from the cache once synced, until then (or while the watch restarts) read live. */
  async list(namespace: string): Promise<KubeObject[]> {
    if (!this.synced) return (await this.store.list(namespace || undefined, {})).items;
    return [...(this.byNamespace.get(namespace)?.values() ?? [])];
  }

  /**
   * One object: from the cache once synced. A miss is read live, as kube's
   * NamespaceLifecycle does: an object written a moment ago (a PriorityClass,
   * then a pod naming it) may not have reached the cache, and misses are rare.
   */
  async get(namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const cached = this.synced ? this.byNamespace.get(namespace ?? '')?.get(name) : undefined;
    if (cached) return cached;
    return this.store.get(namespace, name).catch((e) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
  }

  stop(): void {
    clearTimeout(this.retry);
    this.handle?.stop();
    this.stopped = true;
  }

  // An informer's list-then-watch: the list fills the cache and marks it synced, the watch continues from its revision.
  private start(): void {
    const handle: WatchHandle = { stop: () => { this.stopped = true; } };
    this.handle = handle;
    void this.store.list(undefined, {}).then((l) => {
      if (this.stopped) return;
      for (const o of l.items) this.put(o);
      this.synced = true;
      const w = this.store.storage.watch(this.store.listPrefix(), { sinceRevision: l.revision, recursive: true }, {
        onEvent: (e) => {
          if (e.type === 'DELETED') this.byNamespace.get(e.object.metadata.namespace ?? '')?.delete(e.object.metadata.name!);
          else this.put(e.object);
        },
        onError: (err) => this.restart(err),
      });
      handle.stop = () => w.stop();
    }, (err: Error) => this.restart(err));
  }

  private put(o: KubeObject): void {
    const ns = o.metadata.namespace ?? '';
    let m = this.byNamespace.get(ns);
    if (!m) this.byNamespace.set(ns, (m = new Map()));
    m.set(o.metadata.name!, o);
  }

  private restart(err: Error): void {
    if (this.stopped) return;
    log.warn('admission lister watch ended, restarting', { resource: this.store.resource.plural, error: err.message });
    this.byNamespace.clear();
    this.synced = false;
    this.retry = setTimeout(() => { if (!this.stopped) this.start(); }, 1000);
  }
}

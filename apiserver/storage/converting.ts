// A Storage seen through a version conversion (KindDefinition.storageVersion):
// kube-apiserver decodes what etcd holds into the storage version and converts
// to the version a request names, so one object is served at several versions
// with one resourceVersion. Wrapping the Storage keeps the generic store and
// the watch server unaware of versions: every object crossing this boundary
// is converted, and selectors run on the version the client asked for.

import type { KubeObject } from '../../api/types.js';
import type { StorageVersion } from '../../api/kind.js';
import type { ListOptions, ListResult, Preconditions, Storage, WatchCallbacks, WatchHandle, WatchOptions } from './interface.js';

export class ConvertingStorage implements Storage {
  constructor(private readonly inner: Storage, private readonly conv: StorageVersion) {}

  private from = (o: KubeObject): KubeObject => this.conv.fromStorage(o);
  private to = (o: KubeObject): KubeObject => this.conv.toStorage(o);

  async create(key: string, obj: KubeObject): Promise<KubeObject> {
    return this.from(await this.inner.create(key, this.to(obj)));
  }

  async get(key: string): Promise<KubeObject> {
    return this.from(await this.inner.get(key));
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const { predicate } = opts;
    // Selectors are the requested version's (its field labels): converted before matching, so limit still counts matches.
    const out = await this.inner.list(prefix, { ...opts, predicate: predicate && ((o) => predicate(this.from(o))) });
    return { ...out, items: out.items.map(this.from) };
  }

  guaranteedUpdate(key: string, preconditions: Preconditions | undefined, tryUpdate: (current: KubeObject) => KubeObject | Promise<KubeObject>): Promise<KubeObject> {
    return this.inner.guaranteedUpdate(key, preconditions, async (current) => {
      const converted = this.from(current);
      const next = await tryUpdate(converted);
      // Unchanged stays the stored object itself, so storage sees a no-op write as one.
      return next === converted ? current : this.to(next);
    }).then(this.from);
  }

  async delete(key: string, preconditions?: Preconditions, validate?: (current: KubeObject) => void | Promise<void>): Promise<KubeObject> {
    return this.from(await this.inner.delete(key, preconditions, validate && ((o) => validate(this.from(o)))));
  }

  watch(prefix: string, opts: WatchOptions, cb: WatchCallbacks): WatchHandle {
    return this.inner.watch(prefix, opts, {
      ...cb,
      onEvent: (e) => cb.onEvent({ ...e, object: this.from(e.object), ...(e.prevObject ? { prevObject: this.from(e.prevObject) } : {}) }),
    });
  }

  currentRevision(): Promise<number> { return this.inner.currentRevision(); }
  count(prefix: string): Promise<number> { return this.inner.count(prefix); }
  compact(revision: number): Promise<void> { return this.inner.compact?.(revision) ?? Promise.resolve(); }
  close(): Promise<void> { return this.inner.close(); }
}

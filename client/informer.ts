// Shared informers (client-go's SharedInformerFactory and Reflector): one
// list+watch per (resource, namespace, selectors) per process, feeding an
// indexed cache and every registered handler. The reflector lists, watches
// from the list's resourceVersion, resumes from the last one seen (bookmarks
// included) when the stream ends, and relists on 410, reporting only what
// changed in between — deletes missed in the gap arrive with the last known state.

import { isExpired, isStatusError, StatusError } from '../api/errors.js';
import type { KubeList, KubeObject, Status } from '../api/types.js';
import { objectKey } from '../api/types.js';
import { logger } from '../lib/log.js';
import type { Client, Informer, InformerFactory, Lister, ResourceEventHandler, ResourceRef, WatchEventOf, WatchStream } from './interfaces.js';
import { IndexedStore } from './store.js';

const log = logger('informer');

export interface InformerOptions {
  namespace?: string;
  fieldSelector?: string;
  labelSelector?: string;
  /** Redeliver every cached object as onUpdate(obj, obj) this often. */
  resyncMs?: number;
  /** Deep-freeze cached objects; defaults to on under NODE_ENV=test or vitest. */
  freeze?: boolean;
  /** Watch retry backoff: initial and cap. */
  backoffMs?: [number, number];
}

/** client-go's pager default. */
export const LIST_PAGE_SIZE = 500;

const defaultFreeze = process.env.NODE_ENV === 'test' || !!process.env.VITEST;

export class SharedInformer<T extends KubeObject = KubeObject> implements Informer<T> {
  private readonly store: IndexedStore<T>;
  readonly lister: Lister<T>;
  private handlers: ResourceEventHandler<T>[] = [];
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private rv = '';
  /** Watch events received so far: tells a stream that worked from one that failed at once. */
  private delivered = 0;
  private running = false;
  private stream?: WatchStream;
  private wake?: () => void;
  private resyncTimer?: ReturnType<typeof setInterval>;
  private readonly what: string;

  constructor(private readonly client: Client, private readonly res: ResourceRef, private readonly opts: InformerOptions = {}) {
    this.store = new IndexedStore<T>(opts.freeze ?? defaultFreeze);
    this.lister = this.store;
    this.what = `${res.group ? res.group + '/' : ''}${res.plural}`;
  }

  addEventHandler(h: ResourceEventHandler<T>): void {
    this.handlers.push(h);
    // A late handler still hears about everything already cached, as in client-go.
    for (const o of this.store.all()) this.call(h, 'onAdd', o);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  lastSyncResourceVersion(): string {
    return this.rv;
  }

  /** Resolves once the first list is in the cache. */
  whenSynced(): Promise<void> {
    return this.synced ? Promise.resolve() : new Promise((r) => this.syncWaiters.push(r));
  }

  run(): void {
    if (this.running) return;
    this.running = true;
    if (this.opts.resyncMs) {
      this.resyncTimer = setInterval(() => {
        for (const o of this.store.all()) this.notify('onUpdate', o, o);
      }, this.opts.resyncMs);
    }
    void this.loop();
  }

  stop(): void {
    this.running = false;
    clearInterval(this.resyncTimer);
    this.stream?.stop();
    this.wake?.();
  }

  private async loop(): Promise<void> {
    const [initial, cap] = this.opts.backoffMs ?? [800, 30_000];
    let backoff = initial;
    let needList = true;
    while (this.running) {
      const before = this.delivered;
      try {
        if (needList) {
          await this.relist();
          needList = false;
        }
        await this.watchOnce();
        backoff = initial;
        // A stream that ends without delivering anything is retried after a pause, so a failing server is not hammered.
        if (this.delivered === before) await this.sleep(Math.min(backoff, 1000));
      } catch (e) {
        if (!this.running) return;
        if (isExpired(e)) {
          log.info('watch expired, relisting', { resource: this.what, resourceVersion: this.rv });
          needList = true;
          continue;
        }
        // A watch that worked for a while before breaking starts the backoff over.
        if (this.delivered !== before) backoff = initial;
        const delay = backoff * (0.5 + Math.random());
        log.warn('list/watch failed, retrying', { resource: this.what, error: (e as Error).message, retryInMs: Math.round(delay) });
        await this.sleep(delay);
        backoff = Math.min(backoff * 2, cap);
      }
    }
  }

  /**
   * The whole collection at one resourceVersion, read in pages as client-go's pager
   * does, so no single response (nor the server's read behind it) has to hold
   * tens of thousands of objects. An expired continue token means a full list.
   */
  private async listAll(): Promise<KubeList<T>> {
    const rc = this.client.resource<T>(this.res, this.opts.namespace);
    const selectors = { fieldSelector: this.opts.fieldSelector, labelSelector: this.opts.labelSelector };
    const first = await rc.list({ ...selectors, limit: LIST_PAGE_SIZE });
    let page = first;
    while (page.metadata.continue && this.running) {
      try {
        page = await rc.list({ ...selectors, limit: LIST_PAGE_SIZE, continue: page.metadata.continue });
      } catch (e) {
        if (!isExpired(e)) throw e;
        log.info('list continuation expired, listing in full', { resource: this.what });
        return rc.list(selectors);
      }
      for (const o of page.items) first.items.push(o);
      first.metadata.resourceVersion = page.metadata.resourceVersion;
    }
    return first;
  }

  private async relist(): Promise<void> {
    const list = await this.listAll();
    if (!this.running) return;
    // List items carry no apiVersion/kind on the wire; watch events do. Fill
    // them in so cached objects look the same either way (event recorders need them).
    const kind = this.res.kind ?? list.kind?.replace(/List$/, '');
    for (const o of list.items) {
      o.apiVersion ??= list.apiVersion;
      o.kind ??= kind;
    }
    // The whole list lands in the cache before any handler runs, so no handler sees a half-applied relist.
    const diff = this.store.replace(list.items);
    this.rv = list.metadata.resourceVersion ?? '';
    for (const o of diff.added) this.notify('onAdd', o);
    for (const [o, n] of diff.updated) this.notify('onUpdate', o, n);
    for (const o of diff.deleted) this.notify('onDelete', o);
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  /** One watch stream, until it ends; throws StatusError 410 on expiry. */
  private async watchOnce(): Promise<void> {
    let failure: StatusError | undefined;
    const stream = this.client.resource<T>(this.res, this.opts.namespace).watch(
      { resourceVersion: this.rv, allowWatchBookmarks: true, fieldSelector: this.opts.fieldSelector, labelSelector: this.opts.labelSelector, timeoutSeconds: 300 + Math.floor(Math.random() * 300) },
      (e) => {
        if (failure || !this.running) return;
        this.delivered++;
        if (e.type === 'ERROR') {
          failure = new StatusError(e.object as Status);
          stream.stop();
          return;
        }
        this.apply(e as WatchEventOf<T>);
      },
    );
    this.stream = stream;
    try {
      await stream.done;
    } finally {
      this.stream = undefined;
    }
    if (failure) throw failure;
  }

  private apply(e: WatchEventOf<T>): void {
    const obj = e.object as T;
    if (obj.metadata?.resourceVersion) this.rv = obj.metadata.resourceVersion;
    switch (e.type) {
      case 'BOOKMARK':
        return;
      case 'ADDED':
      case 'MODIFIED': {
        const old = this.store.upsert(obj);
        if (old) this.notify('onUpdate', old, obj);
        else this.notify('onAdd', obj);
        return;
      }
      case 'DELETED': {
        const old = this.store.remove(objectKey(obj));
        if (old) this.notify('onDelete', obj);
        return;
      }
    }
  }

  private notify(kind: 'onAdd' | 'onDelete', obj: T): void;
  private notify(kind: 'onUpdate', old: T, obj: T): void;
  private notify(kind: keyof ResourceEventHandler<T>, a: T, b?: T): void {
    for (const h of this.handlers) this.call(h, kind, a, b);
  }

  private call(h: ResourceEventHandler<T>, kind: keyof ResourceEventHandler<T>, a: T, b?: T): void {
    try {
      if (kind === 'onUpdate') h.onUpdate?.(a, b!);
      else h[kind]?.(a);
    } catch (err) {
      // One broken handler must not starve the others or kill the reflector.
      log.error('event handler threw', { resource: this.what, handler: kind, error: isStatusError(err) ? err.message : String(err) });
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }
}

export class SharedInformerFactory implements InformerFactory {
  private informers = new Map<string, SharedInformer<any>>();
  private started = false;

  constructor(private readonly client: Client, private readonly opts: Pick<InformerOptions, 'resyncMs' | 'freeze' | 'backoffMs'> = {}) {}

  informerFor<T extends KubeObject = KubeObject>(res: ResourceRef, o: { namespace?: string; fieldSelector?: string; labelSelector?: string } = {}): SharedInformer<T> {
    const key = [res.group, res.version, res.plural, o.namespace ?? '', o.fieldSelector ?? '', o.labelSelector ?? ''].join('|');
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new SharedInformer<T>(this.client, res, { ...this.opts, ...o });
      this.informers.set(key, inf);
      // Informers asked for after start() start right away rather than waiting for another start().
      if (this.started) inf.run();
    }
    return inf as SharedInformer<T>;
  }

  start(): void {
    this.started = true;
    for (const inf of this.informers.values()) inf.run();
  }

  async waitForCacheSync(signal?: AbortSignal): Promise<void> {
    const all = Promise.all([...this.informers.values()].map((i) => i.whenSynced()));
    if (!signal) {
      await all;
      return;
    }
    signal.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason ?? new Error('cache sync aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      all.then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  stop(): void {
    for (const inf of this.informers.values()) inf.stop();
  }
}

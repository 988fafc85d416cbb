// Test doubles for controller unit tests, in sample-controller style: informers
// whose caches the test fills directly, and a client that records every
// action and answers from an in-memory store, so a test runs sync(key) and
// asserts what the controller asked the API server to do.

import { errors } from '../../api/errors.js';
import type { KubeList, KubeObject } from '../../api/types.js';
import { controllerOf, deepCopy, objectKey } from '../../api/types.js';
import type { Client, Informer, InformerFactory, Lister, ResourceClient, ResourceEventHandler, ResourceRef, WatchStream } from '../../client/interfaces.js';
import { labelMatcher } from '../../client/selectors.js';
import type { EventRecorder } from '../controller.js';

export class FakeInformer<T extends KubeObject> implements Informer<T>, Lister<T> {
  readonly items = new Map<string, T>();
  private handlers: ResourceEventHandler<T>[] = [];
  get lister(): Lister<T> {
    return this;
  }
  addEventHandler(h: ResourceEventHandler<T>): void {
    this.handlers.push(h);
  }
  hasSynced(): boolean {
    return true;
  }
  lastSyncResourceVersion(): string {
    return '1';
  }
  list(opts: { namespace?: string; labelSelector?: string } = {}): readonly T[] {
    const m = labelMatcher(opts.labelSelector);
    return [...this.items.values()].filter((o) => (!opts.namespace || o.metadata.namespace === opts.namespace) && m(o));
  }
  get(key: string): T | undefined {
    return this.items.get(key);
  }
  byIndex(index: string, value: string): readonly T[] {
    const f: Record<string, (o: T) => string | undefined> = {
      namespace: (o) => o.metadata.namespace,
      nodeName: (o) => o.spec?.nodeName,
      owner: (o) => controllerOf(o)?.uid,
    };
    return [...this.items.values()].filter((o) => f[index]?.(o) === value);
  }
  /** Put an object in the cache without telling handlers (the state a sync sees). */
  set(...objs: T[]): void {
    for (const o of objs) this.items.set(objectKey(o), o);
  }
  /** Change the cache and notify handlers, as a watch event would. */
  emitAdd(o: T): void {
    this.set(o);
    for (const h of this.handlers) h.onAdd?.(o);
  }
  emitUpdate(o: T): void {
    const old = this.items.get(objectKey(o))!;
    this.set(o);
    for (const h of this.handlers) h.onUpdate?.(old, o);
  }
  emitDelete(o: T): void {
    this.items.delete(objectKey(o));
    for (const h of this.handlers) h.onDelete?.(o);
  }
}

export class FakeInformerFactory implements InformerFactory {
  private informers = new Map<string, FakeInformer<any>>();
  informerFor<T extends KubeObject = KubeObject>(res: ResourceRef): FakeInformer<T> {
    const k = `${res.group}/${res.plural}`;
    if (!this.informers.has(k)) this.informers.set(k, new FakeInformer<T>());
    return this.informers.get(k)!;
  }
  start(): void {}
  async waitForCacheSync(): Promise<void> {}
  stop(): void {}
}

export interface Action {
  verb: 'get' | 'list' | 'create' | 'update' | 'updateStatus' | 'patch' | 'delete';
  resource: string;
  namespace?: string;
  name?: string;
  object?: KubeObject;
  patch?: unknown;
}

/** Records actions; stores objects so gets see earlier writes; `fail` injects errors. */
export class RecordingClient implements Client {
  readonly actions: Action[] = [];
  readonly store = new Map<string, KubeObject>();
  /** Return an error to make the matching action fail. */
  fail: (a: Action) => Error | undefined = () => undefined;
  private seq = 0;

  seed(plural: string, ...objs: KubeObject[]): void {
    for (const o of objs) this.store.set(`${plural}/${objectKey(o)}`, deepCopy(o));
  }

  of(verb: Action['verb'], resource?: string): Action[] {
    return this.actions.filter((a) => a.verb === verb && (!resource || a.resource === resource));
  }

  resource<T extends KubeObject = KubeObject>(res: ResourceRef, namespace?: string): ResourceClient<T> {
    const key = (name: string) => `${res.plural}/${namespace ? namespace + '/' : ''}${name}`;
    const record = (a: Omit<Action, 'resource' | 'namespace'>) => {
      const action = { ...a, resource: res.plural, namespace };
      this.actions.push(action);
      const err = this.fail(action);
      if (err) throw err;
    };
    const notFound = (name: string) => errors.notFound(res.plural, name, res.group);
    const c: ResourceClient<T> = {
      get: async (name) => {
        record({ verb: 'get', name });
        const o = this.store.get(key(name));
        if (!o) throw notFound(name);
        return deepCopy(o) as T;
      },
      list: async () => {
        record({ verb: 'list' });
        const prefix = key('');
        return { apiVersion: 'v1', kind: 'List', metadata: {}, items: [...this.store].filter(([k]) => k.startsWith(prefix)).map(([, o]) => deepCopy(o) as T) } as KubeList<T>;
      },
      create: async (obj) => {
        const o = deepCopy(obj);
        o.metadata.name ??= `${o.metadata.generateName}${(++this.seq).toString(36).padStart(5, 'x')}`;
        o.metadata.uid ??= `uid-${o.metadata.name}`;
        record({ verb: 'create', name: o.metadata.name, object: o });
        if (this.store.has(key(o.metadata.name!))) throw errors.alreadyExists(res.plural, o.metadata.name!, res.group);
        this.store.set(key(o.metadata.name!), o);
        return deepCopy(o);
      },
      update: async (obj) => {
        record({ verb: 'update', name: obj.metadata.name, object: deepCopy(obj) });
        this.store.set(key(obj.metadata.name!), deepCopy(obj));
        return deepCopy(obj);
      },
      updateStatus: async (obj) => {
        record({ verb: 'updateStatus', name: obj.metadata.name, object: deepCopy(obj) });
        this.store.set(key(obj.metadata.name!), deepCopy(obj));
        return deepCopy(obj);
      },
      patch: async (name, _type, patch) => {
        record({ verb: 'patch', name, patch });
        const o = this.store.get(key(name));
        if (!o) throw notFound(name);
        const merged = mergePatch(o, patch) as T;
        this.store.set(key(name), merged);
        return deepCopy(merged);
      },
      delete: async (name) => {
        record({ verb: 'delete', name });
        if (!this.store.delete(key(name))) throw notFound(name);
      },
      deleteCollection: async () => {
        throw new Error('not used by controllers');
      },
      watch: (): WatchStream => {
        throw new Error('not used by controllers');
      },
      createSubresource: async () => {
        throw new Error('not used by controllers');
      },
      getSubresource: async () => {
        throw new Error('not used by controllers');
      },
    };
    return c;
  }

  async request(): Promise<{ status: number; body: any; headers: Record<string, string> }> {
    throw new Error('not used by controllers');
  }
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: any, patch: any): any {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return deepCopy(patch);
  const out = target && typeof target === 'object' && !Array.isArray(target) ? deepCopy(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export class FakeRecorder implements EventRecorder {
  readonly events: string[] = [];
  event(_obj: KubeObject, type: string, reason: string, message: string): void {
    this.events.push(`${type} ${reason} ${message}`);
  }
}

// An in-memory Client for controllers' unit tests, after client-go's
// testing.Fake: objects live in a tracker that assigns metadata like the API
// server (uid, resourceVersion, creationTimestamp, generation), every call is
// recorded as an Action, and reactors can intercept calls to inject errors.
// Informers run over it unchanged: new SharedInformerFactory(fake).

import { randomUUID } from 'node:crypto';
import { errors, successStatus } from '../api/errors.js';
import type { KubeList, KubeObject } from '../api/types.js';
import { deepCopy } from '../api/types.js';
import type { Client, DeleteOptions, ListOptions, PatchOptions, PatchType, ResourceClient, ResourceRef, WatchEventOf, WatchStream } from './interfaces.js';
import { jsonPatch, mergePatch } from './jsonpatch.js';
import { fieldMatcher, labelMatcher } from './selectors.js';

export interface Action {
  verb: 'get' | 'list' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection' | 'watch';
  /** The plural, e.g. "pods". */
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  object?: unknown;
  patchType?: PatchType;
}

export type ReactorResult = { handled: false } | { handled: true; ret?: unknown; err?: Error };
export type Reactor = (action: Action) => ReactorResult;

interface Watcher {
  res: string;
  namespace?: string;
  matches: (o: KubeObject) => boolean;
  emit: (e: WatchEventOf<KubeObject>) => void;
  end: (err?: Error) => void;
  bookmarks: boolean;
}

interface Change { rv: number; res: string; type: 'ADDED' | 'MODIFIED' | 'DELETED'; obj: KubeObject; prev?: KubeObject }

/**
 * What a watcher with a selector sees of a change, as kube's cacheWatcher: a
 * modification that moves an object into the selector is ADDED, one that moves
 * it out is DELETED with the previous content at the new resourceVersion.
 */
function viewOf(c: Change, matches: (o: KubeObject) => boolean): WatchEventOf<KubeObject> | undefined {
  const cur = matches(c.obj);
  if (c.type !== 'MODIFIED' || !c.prev) return cur ? { type: c.type, object: deepCopy(c.obj) } : undefined;
  const old = matches(c.prev);
  if (cur) return { type: old ? 'MODIFIED' : 'ADDED', object: deepCopy(c.obj) };
  if (!old) return undefined;
  const gone = deepCopy(c.prev);
  gone.metadata.resourceVersion = c.obj.metadata.resourceVersion;
  return { type: 'DELETED', object: gone };
}

const conflictMsg = 'the object has been modified; please apply your changes to the latest version and try again';
/** Past this many changes the oldest are compacted, and watches from before them get 410. */
const historyLimit = 1000;

function resKey(r: ResourceRef): string {
  return `${r.group}/${r.version}/${r.plural}`;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export class FakeClient implements Client {
  readonly actions: Action[] = [];
  private reactors: { verb: string; resource: string; fn: Reactor }[] = [];
  private store = new Map<string, Map<string, KubeObject>>();
  private history: Change[] = [];
  private watchers = new Set<Watcher>();
  private rv = 0;

  /** Seed objects without recording actions: each is [resource, object]. */
  constructor(...seed: [ResourceRef, KubeObject][]) {
    for (const [r, o] of seed) this.tracker(r, o.metadata.namespace).create(o);
  }

  /** Runs before the tracker; '*' matches any verb or resource. Later prepends run first. */
  prependReactor(verb: string, resource: string, fn: Reactor): void {
    this.reactors.unshift({ verb, resource, fn });
  }

  clearActions(): void {
    this.actions.length = 0;
  }

  /** Forget the change history, so watches resuming from an older resourceVersion get 410 Expired. */
  compact(): void {
    this.history = [];
  }

  /** End every open watch, as a server restart or a dropped connection would. */
  closeWatches(err?: Error): void {
    for (const w of [...this.watchers]) w.end(err);
  }

  /** Send a BOOKMARK at the current resourceVersion to watches that allow them, as the API server does periodically. */
  sendBookmarks(): void {
    for (const w of this.watchers) {
      if (w.bookmarks) w.emit({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(this.rv) } } });
    }
  }

  watcherCount(): number {
    return this.watchers.size;
  }

  resource<T extends KubeObject = KubeObject>(res: ResourceRef, namespace?: string): ResourceClient<T> {
    const t = this.tracker(res, namespace);
    const call = <R>(a: Omit<Action, 'resource' | 'namespace'>, fn: () => R): Promise<R> => {
      const action: Action = { ...a, resource: res.plural, namespace: res.namespaced ? namespace : undefined };
      this.actions.push(deepCopy(action));
      for (const r of this.reactors) {
        if ((r.verb !== '*' && r.verb !== action.verb) || (r.resource !== '*' && r.resource !== res.plural)) continue;
        const out = r.fn(action);
        if (!out.handled) continue;
        return out.err ? Promise.reject(out.err) : Promise.resolve(out.ret as R);
      }
      try {
        return Promise.resolve(fn());
      } catch (e) {
        return Promise.reject(e);
      }
    };
    const client: ResourceClient<KubeObject> = {
      get: (name) => call({ verb: 'get', name }, () => t.get(name)),
      list: (opts = {}) => call({ verb: 'list' }, () => t.list(opts)),
      create: (obj) => call({ verb: 'create', name: obj.metadata.name, object: obj }, () => t.create(obj)),
      update: (obj) => call({ verb: 'update', name: obj.metadata.name, object: obj }, () => t.update(obj)),
      updateStatus: (obj) => call({ verb: 'update', name: obj.metadata.name, subresource: 'status', object: obj }, () => t.update(obj, 'status')),
      patch: (name, type, patch, opts: PatchOptions = {}) =>
        call({ verb: 'patch', name, subresource: opts.subresource, object: patch, patchType: type }, () => t.patch(name, type, patch, opts.subresource)),
      delete: (name, opts = {}) => call({ verb: 'delete', name, object: opts }, () => t.delete(name, opts)),
      deleteCollection: (opts = {}) => call({ verb: 'deletecollection', object: opts }, () => {
        for (const o of t.list(opts).items) t.delete(o.metadata.name!, opts);
      }),
      watch: (opts, onEvent) => {
        this.actions.push({ verb: 'watch', resource: res.plural, namespace: res.namespaced ? namespace : undefined });
        return t.watch(opts, onEvent);
      },
      createSubresource: (name, subresource, body) => call({ verb: 'create', name, subresource, object: body }, () => t.createSubresource(name, subresource, body)),
      getSubresource: (name, subresource) => call({ verb: 'get', name, subresource }, () => t.getSubresource(name, subresource)),
    };
    return client as unknown as ResourceClient<T>;
  }

  async request(method: string, path: string): Promise<{ status: number; body: any; headers: Record<string, string> }> {
    throw errors.notFoundPath(`the fake client serves no raw path: ${method} ${path}`);
  }

  /** The object store behind one resource client: the semantics of the API server's registry, synchronously. */
  private tracker(res: ResourceRef, namespace?: string) {
    const key = resKey(res);
    if (!this.store.has(key)) this.store.set(key, new Map());
    const objects = this.store.get(key)!;
    const ns = res.namespaced ? namespace : undefined;
    const apiVersion = res.group ? `${res.group}/${res.version}` : res.version;
    const notFound = (name: string) => errors.notFound(res.plural, name, res.group);
    const idOf = (name: string) => (ns ? `${ns}/${name}` : name);
    const requireNs = () => {
      if (res.namespaced && !ns) throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    };

    const record = (type: Change['type'], obj: KubeObject, prev?: KubeObject) => {
      const change: Change = { rv: Number(obj.metadata.resourceVersion), res: key, type, obj: deepCopy(obj), prev: prev && deepCopy(prev) };
      this.history.push(change);
      if (this.history.length > historyLimit) this.history.shift();
      for (const w of [...this.watchers]) {
        if (w.res !== key || (w.namespace && w.namespace !== obj.metadata.namespace)) continue;
        const e = viewOf(change, w.matches);
        if (e) w.emit(e);
      }
    };

    const store = (obj: KubeObject, type: 'ADDED' | 'MODIFIED'): KubeObject => {
      const prev = objects.get(idOf(obj.metadata.name!));
      obj.metadata.resourceVersion = String(++this.rv);
      objects.set(idOf(obj.metadata.name!), obj);
      record(type, obj, type === 'MODIFIED' ? prev : undefined);
      return deepCopy(obj);
    };

    const remove = (obj: KubeObject) => {
      objects.delete(idOf(obj.metadata.name!));
      const gone = deepCopy(obj);
      gone.metadata.resourceVersion = String(++this.rv);
      record('DELETED', gone);
    };

    const get = (name: string): KubeObject => {
      requireNs();
      const o = objects.get(idOf(name));
      if (!o) throw notFound(name);
      return deepCopy(o);
    };

    const update = (incoming: KubeObject, subresource?: string): KubeObject => {
      requireNs();
      const name = incoming.metadata.name!;
      const cur = objects.get(idOf(name));
      if (!cur) throw notFound(name);
      if (incoming.metadata.resourceVersion && incoming.metadata.resourceVersion !== cur.metadata.resourceVersion) {
        throw errors.conflict(res.plural, name, conflictMsg, res.group);
      }
      let next: KubeObject;
      if (subresource === 'status') {
        next = { ...deepCopy(cur), status: deepCopy(incoming.status) };
      } else {
        next = deepCopy(incoming);
        // Server-owned metadata survives updates; status is kept on the main resource when the kind has one.
        next.metadata = { ...next.metadata, uid: cur.metadata.uid, creationTimestamp: cur.metadata.creationTimestamp, namespace: cur.metadata.namespace, deletionTimestamp: cur.metadata.deletionTimestamp, generation: cur.metadata.generation };
        if (cur.status !== undefined && incoming.spec !== undefined) next.status = deepCopy(cur.status);
        if (JSON.stringify(cur.spec) !== JSON.stringify(next.spec)) next.metadata.generation = (cur.metadata.generation ?? 0) + 1;
      }
      next.apiVersion = cur.apiVersion;
      next.kind = cur.kind;
      if (next.metadata.deletionTimestamp && !next.metadata.finalizers?.length) {
        next.metadata.resourceVersion = cur.metadata.resourceVersion;
        remove(next);
        return deepCopy(next);
      }
      return store(next, 'MODIFIED');
    };

    const create = (incoming: KubeObject): KubeObject => {
      const obj = deepCopy(incoming);
      if (res.namespaced) {
        obj.metadata.namespace = obj.metadata.namespace ?? ns;
        if (ns && obj.metadata.namespace !== ns) throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
        if (!obj.metadata.namespace) throw errors.badRequest('namespace is required');
      }
      if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = obj.metadata.generateName + randomUUID().replace(/-/g, '').slice(0, 5);
      if (!obj.metadata.name) throw errors.invalid(res.kind ?? res.plural, '', [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }], res.group);
      const id = res.namespaced ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
      if (objects.has(id)) throw errors.alreadyExists(res.plural, obj.metadata.name, res.group);
      obj.apiVersion = apiVersion;
      if (res.kind) obj.kind = res.kind;
      obj.metadata.uid = randomUUID();
      obj.metadata.creationTimestamp = now();
      obj.metadata.generation = 1;
      obj.metadata.resourceVersion = String(++this.rv);
      objects.set(id, obj);
      record('ADDED', obj);
      return deepCopy(obj);
    };

    const patch = (name: string, type: PatchType, body: unknown, subresource?: string): KubeObject => {
      requireNs();
      const cur = objects.get(idOf(name));
      if (!cur && type === 'apply') return create({ ...(body as KubeObject), metadata: { ...(body as KubeObject).metadata, name } });
      if (!cur) throw notFound(name);
      if (subresource === 'scale') {
        const scale = type === 'json' ? jsonPatch(scaleOf(cur), body) : mergePatch(scaleOf(cur), body) as KubeObject;
        const next = deepCopy(cur);
        next.spec = { ...next.spec, replicas: scale.spec?.replicas };
        next.metadata.generation = (cur.metadata.generation ?? 0) + 1;
        store(next, 'MODIFIED');
        return scaleOf(next);
      }
      // Strategic and apply patches are approximated by a merge patch: enough for unit tests of controllers.
      const patched = (type === 'json' ? jsonPatch(cur, body) : mergePatch(cur, body)) as KubeObject;
      if ((body as KubeObject)?.metadata?.resourceVersion === undefined) patched.metadata.resourceVersion = cur.metadata.resourceVersion;
      return update(patched, subresource);
    };

    const deleteOne = (name: string, opts: DeleteOptions): void => {
      requireNs();
      const cur = objects.get(idOf(name));
      if (!cur) throw notFound(name);
      const pre = opts.preconditions;
      if ((pre?.uid && pre.uid !== cur.metadata.uid) || (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion)) {
        throw errors.conflict(res.plural, name, 'Precondition failed: UID or ResourceVersion in precondition does not match', res.group);
      }
      if (cur.metadata.finalizers?.length) {
        if (!cur.metadata.deletionTimestamp) {
          const next = deepCopy(cur);
          next.metadata.deletionTimestamp = now();
          next.metadata.deletionGracePeriodSeconds = opts.gracePeriodSeconds ?? 0;
          store(next, 'MODIFIED');
        }
        return;
      }
      remove(cur);
    };

    const list = (opts: ListOptions): KubeList<KubeObject> => {
      const { labels, fields } = selectors(opts);
      const items = [...objects.values()]
        .filter((o) => (!ns || o.metadata.namespace === ns) && labels(o) && fields(o))
        .sort((a, b) => idOf(a.metadata.name!).localeCompare(idOf(b.metadata.name!)))
        .map((o) => deepCopy(o));
      return { apiVersion, kind: res.kind ? `${res.kind}List` : 'List', metadata: { resourceVersion: String(this.rv) }, items };
    };

    const watch = (opts: ListOptions, onEvent: (e: WatchEventOf<any>) => void): WatchStream => {
      const { labels, fields } = selectors(opts);
      let settle!: (err?: Error) => void;
      const done = new Promise<void>((resolve, reject) => {
        settle = (err) => (err ? reject(err) : resolve());
      });
      let ended = false;
      const w: Watcher = {
        res: key,
        namespace: ns,
        matches: (o) => labels(o) && fields(o),
        emit: onEvent,
        bookmarks: !!opts.allowWatchBookmarks,
        end: (err) => {
          if (ended) return;
          ended = true;
          this.watchers.delete(w);
          settle(err);
        },
      };
      const from = opts.resourceVersion;
      // Replay and registration happen after the caller holds the stream, as
      // with a real server; everything written meanwhile is in the replay.
      queueMicrotask(() => {
        if (ended) return;
        if (!from || from === '0') {
          for (const o of objects.values()) if ((!ns || o.metadata.namespace === ns) && w.matches(o)) onEvent({ type: 'ADDED', object: deepCopy(o) });
        } else {
          const since = Number(from);
          const oldest = this.history[0]?.rv ?? this.rv + 1;
          if (since < this.rv && since < oldest - 1) {
            onEvent({ type: 'ERROR', object: errors.expired(`too old resource version: ${from} (${oldest - 1})`).status });
            w.end();
            return;
          }
          for (const c of this.history) {
            if (c.rv <= since || c.res !== key || (ns && c.obj.metadata.namespace !== ns)) continue;
            const e = viewOf(c, w.matches);
            if (e) onEvent(e);
          }
        }
        if (!ended) this.watchers.add(w);
      });
      return { stop: () => w.end(), done };
    };

    const createSubresource = (name: string, subresource: string, body: any): unknown => {
      const cur = objects.get(idOf(name));
      if (!cur) throw notFound(name);
      if (subresource === 'binding') {
        if (cur.spec?.nodeName) throw errors.conflict(res.plural, name, `pod ${name} is already assigned to node "${cur.spec.nodeName}"`, res.group);
        const next = deepCopy(cur);
        next.spec = { ...next.spec, nodeName: body?.target?.name };
        const conditions = (next.status?.conditions ?? []).filter((c: { type: string }) => c.type !== 'PodScheduled');
        next.status = { ...next.status, conditions: [...conditions, { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now() }] };
        store(next, 'MODIFIED');
        return successStatus();
      }
      if (subresource === 'eviction') {
        deleteOne(name, body?.deleteOptions ?? {});
        return successStatus();
      }
      throw errors.notFoundPath();
    };

    const getSubresource = (name: string, subresource: string): unknown => {
      const cur = get(name);
      if (subresource === 'scale') return scaleOf(cur);
      if (subresource === 'status') return cur;
      throw errors.notFoundPath();
    };

    return { get, list, create, update, patch, delete: deleteOne, watch, createSubresource, getSubresource };
  }
}

/** Bad selector syntax is a 400, as from the API server. */
function selectors(opts: ListOptions) {
  try {
    return { labels: labelMatcher(opts.labelSelector), fields: fieldMatcher(opts.fieldSelector) };
  } catch (e) {
    throw errors.badRequest((e as Error).message);
  }
}

/** autoscaling/v1 Scale of a Deployment or ReplicaSet. */
function scaleOf(o: KubeObject): KubeObject {
  const ml = o.spec?.selector?.matchLabels as Record<string, string> | undefined;
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
    spec: { replicas: o.spec?.replicas ?? 0 },
    status: { replicas: o.status?.replicas ?? 0, selector: ml ? Object.entries(ml).map(([k, v]) => `${k}=${v}`).join(',') : '' },
  };
}

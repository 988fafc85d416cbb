// The client library's contracts, shared by the scheduler, the controllers,
// the kubelet and kube-proxy. Shaped after client-go: a typed REST client per
// resource, shared informers with read-only listers, and a rate-limited work
// queue. Implementations: rest.ts (HTTP), fake.ts (records actions, for unit
// tests), informer.ts, workqueue.ts.

import type { KubeList, KubeObject, Status } from '../api/types.js';
import type { ResourceInfo } from '../api/resources.js';

/** Enough to address a resource: any ResourceInfo from api/resources.ts fits. */
export type ResourceRef = Pick<ResourceInfo, 'group' | 'version' | 'plural' | 'namespaced'> & Partial<Pick<ResourceInfo, 'kind'>>;

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan';
  limit?: number;
  continue?: string;
  timeoutSeconds?: number;
  allowWatchBookmarks?: boolean;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

export interface PatchOptions {
  subresource?: string;
  fieldManager?: string;
  force?: boolean;
}

export interface WriteOptions {
  fieldManager?: string;
  dryRun?: boolean;
}

export interface WatchEventOf<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  /** For ERROR events, a Status. */
  object: T | Status;
}

export interface WatchStream {
  stop(): void;
  /** Settles when the stream ends: normally on stop or server timeout, rejecting on a broken connection. */
  done: Promise<void>;
}

/** Every method rejects with api/errors StatusError on an API error. */
export interface ResourceClient<T extends KubeObject = KubeObject> {
  get(name: string): Promise<T>;
  list(opts?: ListOptions): Promise<KubeList<T>>;
  create(obj: T, opts?: WriteOptions): Promise<T>;
  update(obj: T, opts?: WriteOptions): Promise<T>;
  updateStatus(obj: T, opts?: WriteOptions): Promise<T>;
  patch(name: string, type: PatchType, patch: unknown, opts?: PatchOptions): Promise<T>;
  delete(name: string, opts?: DeleteOptions): Promise<void>;
  deleteCollection(opts?: ListOptions & DeleteOptions): Promise<void>;
  watch(opts: ListOptions, onEvent: (e: WatchEventOf<T>) => void): WatchStream;
  /** POST to a subresource: pods/binding, pods/eviction. */
  createSubresource(name: string, subresource: string, body: unknown): Promise<unknown>;
  getSubresource(name: string, subresource: string): Promise<unknown>;
}

export interface Client {
  /** namespace is required for namespaced resources, except for lists and watches across all namespaces. */
  resource<T extends KubeObject = KubeObject>(res: ResourceRef, namespace?: string): ResourceClient<T>;
  /** Raw request for anything else (discovery, logs). */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Record<string, string> }>;
}

export interface ResourceEventHandler<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /** The final state, or the last known one when the delete was missed during a relist. */
  onDelete?(obj: T): void;
}

/**
 * Read-only view of an informer's cache. Objects returned are shared with the
 * cache and with every other controller in the process: never mutate them;
 * deepCopy (api/types.ts) before changing one.
 */
export interface Lister<T extends KubeObject> {
  /** All objects, optionally in one namespace and matching a label selector string. */
  list(opts?: { namespace?: string; labelSelector?: string }): readonly T[];
  /** By "namespace/name" or "name" for cluster-scoped kinds. */
  get(key: string): T | undefined;
  /** Built-in indexes: 'namespace', 'nodeName' (pods' spec.nodeName), 'owner' (controller ownerReference uid). */
  byIndex(index: string, value: string): readonly T[];
}

export interface Informer<T extends KubeObject = KubeObject> {
  readonly lister: Lister<T>;
  addEventHandler(h: ResourceEventHandler<T>): void;
  hasSynced(): boolean;
  /** The resourceVersion of the last event or list seen. */
  lastSyncResourceVersion(): string;
}

export interface InformerFactory {
  /** One informer per resource (and selector set) per factory: repeated calls return the same one. */
  informerFor<T extends KubeObject = KubeObject>(res: ResourceRef, opts?: { namespace?: string; fieldSelector?: string; labelSelector?: string }): Informer<T>;
  start(): void;
  waitForCacheSync(signal?: AbortSignal): Promise<void>;
  stop(): void;
}

/** client-go's RateLimitingInterface, for string keys ("namespace/name"). */
export interface WorkQueue {
  add(key: string): void;
  addAfter(key: string, delayMs: number): void;
  /** Re-add after the per-key exponential backoff (5 ms doubling to 1000 s, as client-go's default). */
  addRateLimited(key: string): void;
  /** Clear the key's backoff after a success. */
  forget(key: string): void;
  numRequeues(key: string): number;
  /** Resolves with the next key, or undefined once shut down and drained. */
  get(): Promise<string | undefined>;
  /** Must be called after processing a key returned by get(). */
  done(key: string): void;
  len(): number;
  shutDown(): void;
  /** Stop accepting work and wait until keys being processed are done. */
  shutDownWithDrain(): Promise<void>;
  shuttingDown(): boolean;
}

// The storage interface the API server's registry is written against, shaped
// like k8s.io/apiserver/pkg/storage.Interface. Keys are full etcd keys
// ("/registry/pods/default/web-1"); objects carry metadata.resourceVersion set
// to the etcd mod_revision they were read or written at.

import type { KubeObject } from '../../api/types.js';

export type StorageErrorCode =
  | 'KeyNotFound'
  | 'KeyExists'
  /** A precondition (resourceVersion or uid) did not match the stored object. */
  | 'Conflict'
  /** The requested revision has been compacted away. */
  | 'ResourceVersionTooOld'
  /** A resourceVersion newer than anything stored, or unparsable. */
  | 'InvalidResourceVersion'
  /** etcd could not be reached: the request certainly did nothing. */
  | 'Unavailable'
  /** A write that may or may not have been applied: sent, then no answer (timeout, broken stream, etcd's own timeout). */
  | 'OutcomeUnknown';

/** Storage-level failure; the registry turns it into a Status with the resource's name. */
export class StorageError extends Error {
  constructor(readonly code: StorageErrorCode, readonly key: string, message?: string, readonly currentRevision?: number, readonly requestedRevision?: number) {
    super(message ?? `${code}: ${key}`);
    this.name = 'StorageError';
  }
}

export interface Preconditions {
  uid?: string;
  resourceVersion?: string;
}

export interface ListResult {
  items: KubeObject[];
  /** The revision the list was read at (the list's metadata.resourceVersion). */
  revision: number;
  /** Opaque continue token when `limit` cut the list short. */
  continue?: string;
  remainingItemCount?: number;
}

export interface ListOptions {
  /** Read at this revision (0 or undefined: the latest). */
  revision?: number;
  limit?: number;
  continue?: string;
  /** Applied before `limit` counts items, so pages stay full. */
  predicate?: (o: KubeObject) => boolean;
}

export type StorageEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StorageEvent {
  type: StorageEventType;
  key: string;
  /** For DELETED: the last state, with resourceVersion set to the deletion revision. */
  object: KubeObject;
  /** The state before this event (MODIFIED and DELETED), for selector transitions. */
  prevObject?: KubeObject;
  revision: number;
}

export interface WatchOptions {
  /**
   * Deliver every event with revision > sinceRevision, in order, exactly once.
   * 0 means "now": first a synthetic ADDED for each object that exists, then changes.
   */
  sinceRevision: number;
  /** Watch every key under the prefix (true) or exactly one key (false). */
  recursive: boolean;
}

export interface WatchHandle {
  stop(): void;
}

export interface WatchCallbacks {
  onEvent(e: StorageEvent): void;
  /** The watch ended: StorageError ResourceVersionTooOld (410), Unavailable, or a stop. */
  onError(e: Error): void;
  /** Called with the latest revision known to be complete, for bookmarks. */
  onProgress?(revision: number): void;
}

export interface Storage {
  /** Fails with KeyExists when the key is present. Returns the object with its new resourceVersion. */
  create(key: string, obj: KubeObject): Promise<KubeObject>;
  /** Fails with KeyNotFound. */
  get(key: string): Promise<KubeObject>;
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /**
   * Read-modify-write with compare-and-swap on mod_revision, retried while
   * other writers win the race. tryUpdate gets a private copy of the current
   * object and returns the new one, or throws to abort (its error propagates).
   * Preconditions are checked against each fresh read; a resourceVersion
   * precondition that does not match fails with Conflict at once.
   * Returning the same object (deep-equal) writes nothing and returns current.
   */
  guaranteedUpdate(
    key: string,
    preconditions: Preconditions | undefined,
    tryUpdate: (current: KubeObject) => KubeObject | Promise<KubeObject>,
  ): Promise<KubeObject>;
  /**
   * Deletes with compare-and-swap against the current mod_revision; validate
   * may throw to abort (e.g. preconditions). Returns the deleted object with
   * resourceVersion set to the deletion revision.
   */
  delete(key: string, preconditions?: Preconditions, validate?: (current: KubeObject) => void | Promise<void>): Promise<KubeObject>;
  watch(prefix: string, opts: WatchOptions, cb: WatchCallbacks): WatchHandle;
  /** The store's current revision (etcd header revision). */
  currentRevision(): Promise<number>;
  /** Count of keys under a prefix, for metrics and quota. */
  count(prefix: string): Promise<number>;
  /** Drop history before revision (etcd compaction); later reads and watches from before it fail with ResourceVersionTooOld. */
  compact?(revision: number): Promise<void>;
  close(): Promise<void>;
}

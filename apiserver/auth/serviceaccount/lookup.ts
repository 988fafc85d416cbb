// How the token authenticator and the ServiceAccount admission plugin read
// the objects a token or pod names. kube reads them from informer caches
// with a live read on a miss (pkg/controller/serviceaccount/tokengetter.go,
// the admission plugin's getServiceAccount); here ServiceAccounts come from a
// watch-fed cache of storage, since every pod create and every request with a
// ServiceAccount token asks for one, and the rest are read live.

import { isNotFound } from '../../../api/errors.js';
import type { KubeObject } from '../../../api/types.js';
import { logger } from '../../../lib/log.js';
import type { Storage, WatchHandle } from '../../storage/interface.js';

const log = logger('serviceaccount');

/** undefined when the object does not exist; other failures reject. */
export interface ObjectLookup {
  serviceAccount(namespace: string, name: string): Promise<KubeObject | undefined>;
  pod(namespace: string, name: string): Promise<KubeObject | undefined>;
  secret(namespace: string, name: string): Promise<KubeObject | undefined>;
  node(name: string): Promise<KubeObject | undefined>;
}

/** The slice of a registry Store this needs (apiserver/registry/store.ts). */
export interface Getter {
  get(namespace: string | undefined, name: string): Promise<KubeObject>;
  key(namespace: string | undefined, name: string): string;
  listPrefix(namespace?: string): string;
}

export interface StoreLookupOptions {
  /** The server's stores by plural ("serviceaccounts", "pods", "secrets", "nodes"). */
  storeOf: (plural: string) => Getter;
  /** With storage, ServiceAccounts are served from a watch of it; without, every read is live. */
  storage?: Storage;
  /** Wait before re-opening a failed watch. */
  rewatchDelayMs?: number;
}

async function orUndefined(p: Promise<KubeObject>): Promise<KubeObject | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Reads through the API server's stores. start() opens the ServiceAccount watch; stop() closes it. */
export class StoreLookup implements ObjectLookup {
  private readonly cache = new Map<string, KubeObject>();
  private watch?: WatchHandle;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly o: StoreLookupOptions) {}

  start(): void {
    if (!this.o.storage || this.watch || this.stopped) return;
    const storage = this.o.storage;
    this.watch = storage.watch(this.o.storeOf('serviceaccounts').listPrefix(), { sinceRevision: 0, recursive: true }, {
      onEvent: (e) => {
        if (e.type === 'DELETED') this.cache.delete(e.key);
        else this.cache.set(e.key, e.object);
      },
      onError: (err) => {
        // A stale entry could outlive a delete while the watch is down: start over from a live list.
        this.cache.clear();
        this.watch = undefined;
        if (this.stopped) return;
        log.debug('serviceaccount watch ended, reopening', { error: err.message });
        this.timer = setTimeout(() => this.start(), this.o.rewatchDelayMs ?? 1000);
        this.timer.unref();
      },
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.watch?.stop();
    this.watch = undefined;
    this.cache.clear();
  }

  async serviceAccount(namespace: string, name: string): Promise<KubeObject | undefined> {
    const store = this.o.storeOf('serviceaccounts');
    // A miss may only mean the watch has not caught up (a ServiceAccount created a moment ago): read it live, as kube does.
    return this.cache.get(store.key(namespace, name)) ?? orUndefined(store.get(namespace, name));
  }

  pod(namespace: string, name: string): Promise<KubeObject | undefined> {
    return orUndefined(this.o.storeOf('pods').get(namespace, name));
  }

  secret(namespace: string, name: string): Promise<KubeObject | undefined> {
    return orUndefined(this.o.storeOf('secrets').get(namespace, name));
  }

  node(name: string): Promise<KubeObject | undefined> {
    return orUndefined(this.o.storeOf('nodes').get(undefined, name));
  }
}

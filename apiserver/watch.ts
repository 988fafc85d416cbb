// Serving a watch: newline-delimited JSON events over a chunked response,
// one write per event so each reaches the client at once. Selector
// transitions follow kube's cacher: an object leaving the selector is
// DELETED for this watcher (carrying its last matching state), one entering
// it ADDED.

import type { Request, Response } from 'express';
import { apiVersionOf, type ResourceInfo } from '../api/resources.js';
import type { KubeObject, WatchEvent, WatchEventType } from '../api/types.js';
import { logger } from '../lib/log.js';
import { toTable, type TableOptions } from './printers.js';
import { toStatus } from './registry/errors.js';
import type { Storage, StorageEvent, WatchHandle } from './storage/interface.js';
import { longrunningRequests, registeredWatchers, terminatedWatchers } from './metrics.js';

const log = logger('apiserver');

export interface WatchRequest {
  resource: ResourceInfo;
  storage: Storage;
  prefix: string;
  sinceRevision: number;
  predicate: (o: KubeObject) => boolean;
  allowBookmarks: boolean;
  timeoutSeconds?: number;
  /** Stream Table rows instead of objects (kubectl get -w). */
  table?: TableOptions;
  bookmarkIntervalMs?: number;
  /** Bytes queued for a watcher that is not reading before it is terminated (default maxWatcherBufferBytes). */
  maxBufferedBytes?: number;
}

/**
 * What a watcher may have queued before it is dropped. A watcher that reads
 * stays far below it (its queue drains between events); 20 that stopped
 * reading once held ~730 MiB between them.
 */
export const maxWatcherBufferBytes = 8 * 1024 * 1024;

/**
 * An event's object as JSON, serialised once however many watchers send it
 * (kube's cachingObject): every controller, the scheduler and each kubelet
 * watch pods, so one pod update would otherwise be serialised once per
 * watcher. Keyed by the object the storage hands every subscriber; nothing
 * mutates those.
 */
const objectJSON = new WeakMap<object, string>();

function eventLine(type: WatchEventType, object: unknown): string {
  if (typeof object !== 'object' || object === null) return JSON.stringify({ type, object }) + '\n';
  let json = objectJSON.get(object);
  if (json === undefined) {
    json = JSON.stringify(object);
    objectJSON.set(object, json);
  }
  return `{"type":"${type}","object":${json}}\n`;
}

/** kube-apiserver picks a random timeout in [min-request-timeout, 2x] (30-60 min) so watches do not all reconnect at once. */
function defaultTimeoutSeconds(): number {
  return 1800 + Math.floor(Math.random() * 1800);
}

/** Map a storage event through the watcher's selector; undefined when the watcher must not see it. */
export function filterEvent(e: StorageEvent, matches: (o: KubeObject) => boolean): WatchEvent | undefined {
  const now = matches(e.object);
  if (e.type === 'ADDED') return now ? { type: 'ADDED', object: e.object } : undefined;
  if (e.type === 'DELETED') return matches(e.prevObject ?? e.object) ? { type: 'DELETED', object: e.object } : undefined;
  const before = e.prevObject ? matches(e.prevObject) : true;
  if (now && before) return { type: 'MODIFIED', object: e.object };
  if (now) return { type: 'ADDED', object: e.object };
  // As kube's cacheWatcher: the watcher last saw the object matching, so it
  // gets that state back (with the event's resourceVersion), not one it
  // would have filtered out.
  if (before) return { type: 'DELETED', object: withResourceVersion(e.prevObject!, e.object.metadata.resourceVersion) };
  return undefined;
}

function withResourceVersion(o: KubeObject, rv: string | undefined): KubeObject {
  return { ...o, metadata: { ...o.metadata, resourceVersion: rv } };
}

export function serveWatch(req: Request, res: Response, w: WatchRequest): void {
  const r = w.resource;
  const labels = { group: r.group, version: r.version, kind: r.kind };
  const lrLabels = { verb: 'WATCH', group: r.group, version: r.version, resource: r.plural, subresource: '', scope: r.namespaced ? 'namespace' : 'cluster' };
  res.status(200);
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Transfer-Encoding', 'chunked');
  res.flushHeaders();
  registeredWatchers.inc(labels);
  longrunningRequests.inc(lrLabels);

  let headersSent = false;
  let lastRevision = w.sinceRevision;
  const send = (type: WatchEventType, object: unknown) => {
    if (res.writableEnded || res.destroyed) return;
    if (w.table && type !== 'ERROR' && type !== 'BOOKMARK') {
      const table = toTable(r, [object as KubeObject], {}, { ...w.table, noHeaders: headersSent });
      headersSent = true;
      res.write(JSON.stringify({ type, object: table }) + '\n');
    } else {
      res.write(eventLine(type, object));
    }
    // A watcher that stops reading must not be buffered without limit: as kube's cacher does with a watcher
    // whose channel stays full, it is terminated (the connection dropped, freeing what is queued for it), and
    // its client lists or resumes from the last resourceVersion it saw.
    if (res.writableLength > (w.maxBufferedBytes ?? maxWatcherBufferBytes)) {
      terminatedWatchers.inc({ group: r.group, resource: r.plural });
      log.warn('forcing watcher close due to unresponsiveness', { resource: r.plural, bufferedBytes: res.writableLength });
      finish();
      res.destroy();
    }
  };
  const bookmark = (revision: number) => {
    send('BOOKMARK', { kind: r.kind, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(revision) } });
  };

  // As kube's cacher: a bookmark every minute and one shortly before the
  // timeout, so a client reconnecting resumes from the freshest revision.
  const timeoutMs = (w.timeoutSeconds ?? defaultTimeoutSeconds()) * 1000;
  const sendBookmark = () => {
    if (w.allowBookmarks && lastRevision > 0) bookmark(lastRevision);
  };
  let finished = false;
  let handle: WatchHandle | undefined;
  const finish = () => {
    if (finished) return;
    finished = true;
    handle?.stop();
    clearTimeout(timeout);
    clearTimeout(lastBookmark);
    clearInterval(bookmarks);
    registeredWatchers.dec(labels);
    longrunningRequests.dec(lrLabels);
    if (!res.writableEnded) res.end();
  };
  const bookmarks = setInterval(sendBookmark, w.bookmarkIntervalMs ?? 60_000);
  const lastBookmark = setTimeout(sendBookmark, Math.max(0, timeoutMs - 2000));
  const timeout = setTimeout(finish, timeoutMs);

  handle = w.storage.watch(w.prefix, { sinceRevision: w.sinceRevision, recursive: true }, {
    onEvent(e) {
      lastRevision = Math.max(lastRevision, e.revision);
      const ev = filterEvent(e, w.predicate);
      if (ev) send(ev.type, ev.object);
    },
    onError(e) {
      if (!finished) {
        log.debug('watch ended by storage', { resource: r.plural, error: e.message });
        send('ERROR', toStatus(e, r, '').status);
      }
      finish();
    },
    onProgress(revision) {
      // Only moves the resume point; bookmarks go out on kube's schedule, not per notification.
      lastRevision = Math.max(lastRevision, revision);
    },
  });
  // The storage may fail the watch synchronously (a compacted revision).
  if (finished) handle.stop();
  req.on('close', finish);
  res.on('error', finish);
}

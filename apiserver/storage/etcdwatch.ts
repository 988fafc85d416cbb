// One etcd watch stream that survives etcd restarts without gaps or
// duplicates. The etcd3 client reconnects on its own but resumes from the
// revision in its last response header (possibly past events it never sent);
// we resume from the last revision we actually delivered, as clientv3 does.

import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import { logger } from '../../lib/log.js';
import { decode, withRevision } from './codec.js';
import { StorageError, type StorageEvent } from './interface.js';

const log = logger('storage');

export interface EtcdWatchSink {
  onEvents(events: StorageEvent[]): void;
  onProgress(revision: number): void;
  onError(e: Error): void;
}

export interface EtcdWatch {
  close(): void;
}

export function openEtcdWatch(client: Etcd3, prefix: string, recursive: boolean, fromRevision: number, sink: EtcdWatchSink, onClosed: () => void): EtcdWatch {
  let delivered = fromRevision - 1;
  let closed = false;
  const builder = client.watch().withPreviousKV().startRevision(String(fromRevision));
  const watcher: Watcher = (recursive ? builder.prefix(prefix) : builder.key(prefix)).watcher();

  const close = () => {
    if (closed) return;
    closed = true;
    onClosed();
    void watcher.cancel().catch(() => undefined);
  };

  watcher.on('data', (res) => {
    if (closed) return;
    if (res.events.length === 0) {
      if (!res.created && !res.canceled) {
        // A progress notification: everything up to the header revision has been sent.
        delivered = Math.max(delivered, Number(res.header.revision));
        sink.onProgress(delivered);
      }
      return;
    }
    const events = res.events.map((ev) => toEvent(ev.type === 'Delete', ev.kv, ev.prev_kv));
    delivered = events[events.length - 1]!.revision;
    sink.onEvents(events);
  });
  watcher.on('disconnected', (err) => {
    log.warn('etcd watch disconnected, resuming', { prefix, fromRevision: delivered + 1, error: err.message });
    // The client re-sends this request on reconnect.
    watcher.request.start_revision = String(delivered + 1);
  });
  watcher.on('error', (err) => {
    if (closed) return;
    // etcd already ended this watch; the client's message drops compact_revision, so ask etcd whether our next revision is gone.
    closed = true;
    onClosed();
    void watchableFrom(client, delivered).then(
      (from) => sink.onError(from === true ? new StorageError('Unavailable', prefix, `etcd watch failed: ${err.message}`) : tooOld(prefix, delivered, from)),
      (e: Error) => sink.onError(e instanceof StorageError ? e : new StorageError('Unavailable', prefix, `etcd watch failed: ${e.message}`)),
    );
  });
  return { close };
}

function toEvent(isDelete: boolean, kv: IKeyValue, prev: IKeyValue | undefined): StorageEvent {
  const key = kv.key.toString();
  const revision = Number(kv.mod_revision);
  const prevObject = prev ? decode(prev.value.toString(), Number(prev.mod_revision)) : undefined;
  if (isDelete) {
    // A delete's kv has no value: the last state comes from prev_kv, stamped with the delete revision.
    const object = prevObject ? withRevision(prevObject, revision) : { metadata: { name: key.slice(key.lastIndexOf('/') + 1), resourceVersion: String(revision) } };
    return { type: 'DELETED', key, object, prevObject, revision };
  }
  const object = decode(kv.value.toString(), revision);
  if (kv.create_revision === kv.mod_revision) return { type: 'ADDED', key, object, revision };
  return { type: 'MODIFIED', key, object, prevObject, revision };
}

/** Whether revision r can still be read; false when etcd compacted it away. */
async function readable(client: Etcd3, r: number): Promise<boolean> {
  try {
    await client.kv.range({ key: Buffer.from('/'), revision: r, count_only: true });
    return true;
  } catch (e) {
    const message = (e as Error).message;
    if (/compacted/.test(message)) return false;
    // A future revision is not gone, merely not yet written.
    if (/future revision/.test(message)) return true;
    throw new StorageError('Unavailable', '/', `etcd unavailable: ${message}`);
  }
}

/**
 * True when etcd still holds every event after `since` (a watch from resourceVersion
 * `since` can be served), else etcd's compaction revision. etcd only reports that
 * revision on a watch response the client library drops, so it is found by bisecting
 * between the first unreadable revision and the current one; this runs only when a
 * watcher already asked for history that is gone.
 */
export async function watchableFrom(client: Etcd3, since: number): Promise<true | number> {
  if (await readable(client, since)) return true;
  const res = await client.kv.range({ key: Buffer.from('/'), count_only: true }).catch((e: Error) => {
    throw new StorageError('Unavailable', '/', `etcd unavailable: ${e.message}`);
  });
  let lo = since; // unreadable
  let hi = Number(res.header.revision); // readable: etcd never compacts past its current revision
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (await readable(client, mid)) hi = mid;
    else lo = mid;
  }
  // A watch from `since` starts at since+1, which etcd serves when it is the compaction revision.
  return hi === since + 1 ? true : hi;
}

/** kube's cacher message for a watch from before the oldest revision it can serve (compacted - 1). */
export function tooOld(key: string, since: number, compactedAt: number): StorageError {
  return new StorageError('ResourceVersionTooOld', key, `too old resource version: ${since} (${compactedAt - 1})`);
}

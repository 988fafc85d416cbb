// How objects sit in storage, shared by the etcd and memory stores. As in
// kube-apiserver, resourceVersion is never stored: it is the key's
// mod_revision, stamped on every read, so a value cannot disagree with it.

import type { KubeObject } from '../../api/types.js';
import { StorageError, type Preconditions } from './interface.js';

export function encode(obj: KubeObject): string {
  const p = encodeParts(obj);
  return p.head + p.meta + p.tail;
}

/**
 * The stored JSON in three pieces, apiVersion, kind and metadata first (kube's order), so the
 * response to a create is the stored bytes with resourceVersion spliced into metadata instead
 * of a second serialisation of the whole object.
 */
function encodeParts(obj: KubeObject): { head: string; meta: string; tail: string } {
  const { apiVersion, kind, metadata, ...rest } = obj;
  let head = '{';
  if (apiVersion !== undefined) head += `"apiVersion":${JSON.stringify(apiVersion)},`;
  if (kind !== undefined) head += `"kind":${JSON.stringify(kind)},`;
  head += '"metadata":';
  // Copied only to drop a resourceVersion; a create's metadata has none.
  const meta = JSON.stringify(metadata && !('resourceVersion' in metadata) ? metadata : { ...metadata, resourceVersion: undefined });
  const others = JSON.stringify(rest);
  return { head, meta, tail: others === '{}' ? '}' : `,${others.slice(1)}` };
}

/** JSON of objects Storage.create returned; they are fresh objects nothing changes before they are sent. */
const createdJSON = new WeakMap<KubeObject, string>();

/** The value to store for a create, and a function giving the created object (remembering its JSON) once the revision is known. */
export function encodeCreate(obj: KubeObject): { value: string; created(revision: number): KubeObject } {
  const p = encodeParts(obj);
  return {
    value: p.head + p.meta + p.tail,
    created(revision) {
      const out = withRevision(obj, revision);
      const rv = `"resourceVersion":${JSON.stringify(String(revision))}}`;
      createdJSON.set(out, p.head + (p.meta === '{}' ? `{${rv}` : `${p.meta.slice(0, -1)},${rv}`) + p.tail);
      return out;
    },
  };
}

/** The JSON text of an object Storage.create just returned, when known. */
export function createdJSONOf(obj: KubeObject): string | undefined {
  return createdJSON.get(obj);
}

export function decode(value: string, revision: number): KubeObject {
  const obj = JSON.parse(value) as KubeObject;
  obj.metadata = { ...obj.metadata, resourceVersion: String(revision) };
  return obj;
}

export function withRevision(obj: KubeObject, revision: number): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(revision) } };
}

/** Conflict messages as k8s.io/apiserver/pkg/storage.Preconditions.Check words them. */
export function checkPreconditions(key: string, p: Preconditions | undefined, current: KubeObject): void {
  if (!p) return;
  if (p.uid && p.uid !== current.metadata.uid) {
    throw new StorageError('Conflict', key, `Precondition failed: UID in precondition: ${p.uid}, UID in object meta: ${current.metadata.uid ?? ''}`);
  }
  if (p.resourceVersion && p.resourceVersion !== current.metadata.resourceVersion) {
    throw new StorageError('Conflict', key, `Precondition failed: ResourceVersion in precondition: ${p.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion ?? ''}`);
  }
}

/** The first key after every key that starts with prefix (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i]!++;
      return end;
    }
  }
  return Buffer.from([0]);
}

interface ContinueToken { v: string; rv: number; start: string }

/**
 * Continue tokens as kube-apiserver encodes them: base64 JSON of the list's
 * revision and the next key relative to the listed prefix, so every page of
 * one list reads the same snapshot.
 */
export function encodeContinue(revision: number, nextKey: string, prefix: string): string {
  const token: ContinueToken = { v: 'meta.k8s.io/v1', rv: revision, start: nextKey.slice(prefix.length) };
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

export function decodeContinue(token: string, prefix: string): { revision: number; startKey: string } {
  let parsed: Partial<ContinueToken>;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString()) as Partial<ContinueToken>;
  } catch {
    throw new StorageError('InvalidResourceVersion', prefix, 'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  if (parsed.v !== 'meta.k8s.io/v1' || typeof parsed.rv !== 'number' || parsed.rv <= 0 || typeof parsed.start !== 'string') {
    throw new StorageError('InvalidResourceVersion', prefix, 'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  if (parsed.start.includes('..') || parsed.start.startsWith('/')) {
    throw new StorageError('InvalidResourceVersion', prefix, 'continue key is not valid: path traversal not allowed');
  }
  return { revision: parsed.rv, startKey: prefix + parsed.start };
}

/** The key a watch is shared on: "/registry/pods/" for any key or prefix below it. */
export function resourcePrefix(key: string): string {
  const parts = key.split('/');
  return parts.length > 3 ? parts.slice(0, 3).join('/') + '/' : key;
}

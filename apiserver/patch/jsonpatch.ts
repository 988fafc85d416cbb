// RFC 6902 JSON patch and RFC 7386 JSON merge patch. Errors follow
// kube-apiserver's patcher: a body that is not a patch is 400, a patch that
// cannot apply to this object (missing path, failed test, unknown op) is the
// generic 422 of NewGenericServerResponse, whose message hides the reason.

import { errors } from '../../api/errors.js';
import { logger } from '../../lib/log.js';
import { parseJSONBody } from '../negotiation.js';

const log = logger('patch');

type Json = unknown;
type Container = Record<string, Json> | Json[];

interface Operation { op: string; path: string; from?: string; value?: Json }

export function parseJSON(text: string): Json {
  try {
    return parseJSONBody(text) as Json;
  } catch (e) {
    throw errors.badRequest(`error decoding patch: ${(e as Error).message}`);
  }
}

export function applyJSONPatch(doc: Json, text: string): Json {
  const ops = parseJSON(text);
  if (!Array.isArray(ops)) throw errors.badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let out = structuredClone(doc);
  for (const raw of ops as Operation[]) {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
      throw errors.badRequest(`json: cannot unmarshal ${Array.isArray(raw) ? 'array' : typeof raw} into Go value of type jsonpatch.Operation`);
    }
    if (typeof raw.path !== 'string') throw unprocessable(`operation missing path: ${JSON.stringify(raw)}`);
    out = applyOp(out, raw);
  }
  return out;
}

function applyOp(doc: Json, o: Operation): Json {
  switch (o.op) {
    case 'add': return add(doc, o.path, requireValue(o));
    case 'remove': return remove(doc, o.path).doc;
    case 'replace': {
      get(doc, o.path);
      return add(remove(doc, o.path).doc, o.path, requireValue(o));
    }
    case 'move': {
      const from = requireFrom(o);
      if (o.path.startsWith(from + '/')) throw unprocessable(`move operation does not apply: "from" ${from} is a prefix of "path" ${o.path}`);
      const { doc: rest, value } = remove(doc, from);
      return add(rest, o.path, value);
    }
    case 'copy': return add(doc, o.path, structuredClone(get(doc, requireFrom(o))));
    case 'test': {
      const actual = get(doc, o.path);
      if (!deepEqual(actual, o.value)) throw unprocessable(`testing value ${o.path} failed: test failed`);
      return doc;
    }
    default: throw unprocessable(`Unexpected kind: ${o.op ?? ''}`);
  }
}

function requireValue(o: Operation): Json {
  if (!('value' in o)) throw unprocessable(`missing value for operation "${o.op}" at ${o.path}`);
  return structuredClone(o.value);
}

function requireFrom(o: Operation): string {
  if (typeof o.from !== 'string') throw unprocessable(`missing "from" for operation "${o.op}"`);
  return o.from;
}

export function unprocessable(why: string) {
  log.debug('json patch does not apply', { reason: why });
  return errors.fromHTTP(422, 'the server rejected our request due to an error in our request');
}

/** RFC 6901 pointer tokens, ~1 before ~0 so "~01" stays "~1". */
function tokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw unprocessable(`JSON pointer must start with "/": ${pointer}`);
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parent(doc: Json, pointer: string): { container: Container; key: string } {
  const ts = tokens(pointer);
  if (ts.length === 0) throw unprocessable('cannot operate on the document root');
  let cur: Json = doc;
  for (const t of ts.slice(0, -1)) {
    cur = child(cur, t, pointer);
  }
  if (cur === null || typeof cur !== 'object') throw unprocessable(`doc is missing path: "${pointer}": missing value`);
  return { container: cur as Container, key: ts[ts.length - 1]! };
}

function child(cur: Json, t: string, pointer: string): Json {
  if (Array.isArray(cur)) {
    const i = index(t, cur.length - 1, pointer);
    return cur[i];
  }
  if (cur !== null && typeof cur === 'object' && hasKey(cur as object, t)) return (cur as Record<string, Json>)[t];
  throw unprocessable(`doc is missing path: "${pointer}": missing value`);
}

function index(t: string, max: number, pointer: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(t)) throw unprocessable(`invalid array index "${t}" in ${pointer}`);
  const i = Number(t);
  if (i > max) throw unprocessable(`Unable to access invalid index: ${i} in ${pointer}`);
  return i;
}

function get(doc: Json, pointer: string): Json {
  let cur = doc;
  for (const t of tokens(pointer)) cur = child(cur, t, pointer);
  return cur;
}

function add(doc: Json, pointer: string, value: Json): Json {
  if (pointer === '') return value;
  const { container, key } = parent(doc, pointer);
  if (Array.isArray(container)) {
    container.splice(key === '-' ? container.length : index(key, container.length, pointer), 0, value);
  } else {
    setKey(container, key, value);
  }
  return doc;
}

function remove(doc: Json, pointer: string): { doc: Json; value: Json } {
  const { container, key } = parent(doc, pointer);
  if (Array.isArray(container)) {
    const i = index(key, container.length - 1, pointer);
    return { doc, value: container.splice(i, 1)[0] };
  }
  if (!hasKey(container, key)) throw unprocessable(`Unable to remove nonexistent key: ${key}: missing value`);
  const value = container[key];
  delete container[key];
  return { doc, value };
}

/** RFC 7386: objects merge recursively, null deletes, everything else replaces. */
export function applyMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else setKey(out, k, applyMergePatch(hasKey(out, k) ? out[k] : undefined, v));
  }
  return out;
}

/**
 * Own keys only: a patch naming "constructor" or "__proto__" must find what
 * the document holds under that name, never what Object.prototype does.
 */
export function hasKey(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

/** o[k] = v, except that "__proto__" becomes a plain own key rather than the object's prototype. */
export function setKey(o: Record<string, Json>, k: string, v: Json): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  else o[k] = v;
}

export function isObject(v: Json): v is Record<string, Json> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => hasKey(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

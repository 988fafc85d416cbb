// Merge patch (RFC 7386) and JSON patch (RFC 6902) for the fake client, which
// must behave like the API server without depending on it.

import { errors } from '../api/errors.js';
import { deepCopy } from '../api/types.js';

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return deepCopy(patch);
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

interface Op { op: string; path: string; value?: unknown; from?: string }

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw errors.badRequest(`invalid JSON pointer: ${path}`);
  return path.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: any, tokens: string[], path: string): [any, string] {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    cur = cur?.[t];
    if (cur === undefined || cur === null || typeof cur !== 'object') throw errors.invalid('Patch', '', [{ message: `doc is missing path: "${path}"`, field: path }]);
  }
  return [cur, tokens[tokens.length - 1]];
}

function get(doc: any, path: string): unknown {
  let cur = doc;
  for (const t of pointer(path)) {
    if (cur === null || typeof cur !== 'object' || !(t in cur)) throw errors.invalid('Patch', '', [{ message: `doc is missing path: "${path}"`, field: path }]);
    cur = cur[t];
  }
  return cur;
}

function remove(doc: any, path: string): unknown {
  const [parent, key] = parentOf(doc, pointer(path), path);
  const v = get(doc, path);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete parent[key];
  return v;
}

function add(doc: any, path: string, value: unknown, replace: boolean): any {
  const tokens = pointer(path);
  if (tokens.length === 0) return deepCopy(value);
  const [parent, key] = parentOf(doc, tokens, path);
  if (replace) get(doc, path);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(i) || i < 0 || i > parent.length) throw errors.invalid('Patch', '', [{ message: `index out of range: ${key}`, field: path }]);
    parent.splice(i, replace ? 1 : 0, deepCopy(value));
  } else {
    parent[key] = deepCopy(value);
  }
  return doc;
}

export function jsonPatch<T>(target: T, ops: unknown): T {
  if (!Array.isArray(ops)) throw errors.badRequest('json patch must be an array of operations');
  let doc: any = deepCopy(target);
  for (const o of ops as Op[]) {
    switch (o.op) {
      case 'add': doc = add(doc, o.path, o.value, false); break;
      case 'replace': doc = add(doc, o.path, o.value, true); break;
      case 'remove': remove(doc, o.path); break;
      case 'move': doc = add(doc, o.path, remove(doc, o.from!), false); break;
      case 'copy': doc = add(doc, o.path, get(doc, o.from!), false); break;
      case 'test':
        if (JSON.stringify(get(doc, o.path)) !== JSON.stringify(o.value)) throw errors.invalid('Patch', '', [{ message: `testing value ${o.path} failed`, field: o.path }]);
        break;
      default: throw errors.badRequest(`unexpected kind: ${o.op}`);
    }
  }
  return doc;
}

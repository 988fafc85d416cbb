// Field ownership as kube-apiserver's field manager keeps it in
// metadata.managedFields (structured-merge-diff): which manager owns which
// fields, how a write (Update) takes fields over, and how server-side apply
// merges, prunes and reports conflicts.

import { errors } from '../../api/errors.js';
import type { ManagedFieldsEntry, KubeObject } from '../../api/types.js';
import { FieldSet, pathString } from './fieldset.js';
import { applyKeys, isAtomicMap, listStrategy, schemaRoot, type ListStrategy, type SchemaNode } from './mergekeys.js';
import { deepEqual, isObject } from './jsonpatch.js';

type Json = unknown;
type Obj = Record<string, Json>;

/** Key fields with a default in the OpenAPI schema, which server-side apply fills in before keying. */
const keyDefaults: Record<string, Json> = { protocol: 'TCP' };

function childPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** The path element naming a list item, or undefined when the item cannot be keyed. */
export function itemElement(s: ListStrategy, item: Json): string | undefined {
  const keys = applyKeys(s);
  if (!keys.length) return `v:${JSON.stringify(item)}`;
  if (!isObject(item)) return undefined;
  const key: Obj = {};
  for (const k of [...keys].sort()) {
    const v = item[k] ?? keyDefaults[k];
    if (v === undefined) return undefined;
    key[k] = v;
  }
  return `k:${JSON.stringify(key)}`;
}

function requireElement(s: ListStrategy, item: Json, path: string | (() => string), i: number): string {
  const pe = itemElement(s, item);
  if (pe === undefined) {
    const missing = applyKeys(s).find((k) => !isObject(item) || (item[k] === undefined && keyDefaults[k] === undefined));
    throw new Error(`.${typeof path === 'string' ? path : path()}: element ${i}: associative list with keys has an element that omits key field "${missing}" (and doesn't have default value)`);
  }
  return pe;
}

/** Leaves for ownership: scalars, nulls, atomic lists and atomic maps. */
function isLeaf(node: SchemaNode, v: Json): boolean {
  if (Array.isArray(v)) return !node.list;
  if (isObject(v)) return node.atomicMap;
  return true;
}

/** The dotted field path of an element stack (list items left out), for messages. */
function fieldPath(at: readonly string[]): string {
  return at.filter((pe) => pe.startsWith('f:')).map((pe) => pe.slice(2)).join('.');
}

/** typed.ToFieldSet: the fields an applied configuration sets. */
export function fieldSetOf(kind: string, v: Json): FieldSet {
  return stripSet(toFieldSet(schemaRoot(kind), v, ''));
}

function toFieldSet(schema: SchemaNode, v: Json, path: string, node = new FieldSet()): FieldSet {
  if (isLeaf(schema, v)) {
    node.self = true;
  } else if (Array.isArray(v)) {
    const s = schema.list!;
    v.forEach((item, i) => {
      const c = node.child(requireElement(s, item, path, i));
      if (!isLeaf(schema, item)) toFieldSet(schema, item, path, c);
      c.self = true;
    });
  } else if (isObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      const c = node.child(`f:${k}`);
      toFieldSet(schema.child(k), x, childPath(path, k), c);
      if (x === null || (isObject(x) && Object.keys(x).length === 0)) c.self = true;
    }
  }
  return node;
}

export interface Comparison { added: FieldSet; modified: FieldSet; removed: FieldSet }

/** typed.Compare: the fields added, changed and removed from lhs to rhs. */
export function compare(kind: string, lhs: Json, rhs: Json): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  walkCompare(schemaRoot(kind), lhs, rhs, [], c);
  stripSet(c.added);
  stripSet(c.modified);
  stripSet(c.removed);
  return c;
}

function shape(node: SchemaNode, v: Json): 'leaf' | 'map' | 'list' {
  if (v === undefined || isLeaf(node, v)) return 'leaf';
  return Array.isArray(v) ? 'list' : 'map';
}

// Every write compares whole objects, so the walk allocates as little as it
// can: `at` is one stack pushed and popped (FieldSet.insert copies nothing
// from it), the schema travels as SchemaNodes rather than path strings, and a
// message's path is built only when there is an error to report.
function walkCompare(node: SchemaNode, l: Json, r: Json, at: string[], c: Comparison): void {
  let ls = l === undefined ? undefined : shape(node, l);
  let rs = r === undefined ? undefined : shape(node, r);
  // A null map or list (Go's nil slice in a zero object) is an empty one that is there, not an added or removed field.
  let present = false;
  if (l === null && rs && rs !== 'leaf') {
    ls = rs;
    l = rs === 'map' ? {} : [];
    present = true;
  } else if (r === null && ls && ls !== 'leaf') {
    rs = ls;
    r = ls === 'map' ? {} : [];
    present = true;
  }
  if (ls === 'leaf' || rs === 'leaf' || (ls && rs && ls !== rs)) {
    if (l === undefined) c.added.insert(at);
    else if (r === undefined) c.removed.insert(at);
    else if (!deepEqual(l, r)) c.modified.insert(at);
    return;
  }
  if ((ls ?? rs) === 'map') {
    const lo = (l ?? {}) as Obj;
    const ro = (r ?? {}) as Obj;
    for (const k of Object.keys(lo)) {
      at.push(`f:${k}`);
      // Own properties only: a body's "constructor" is a field, not Object.prototype's.
      walkCompare(node.child(k), lo[k], Object.hasOwn(ro, k) ? ro[k] : undefined, at, c);
      at.pop();
    }
    for (const k of Object.keys(ro)) {
      if (Object.hasOwn(lo, k)) continue;
      at.push(`f:${k}`);
      walkCompare(node.child(k), undefined, ro[k], at, c);
      at.pop();
    }
  } else {
    const s = node.list!;
    const path = () => fieldPath(at);
    const li = indexItems(s, (l ?? []) as Json[], path);
    const ri = indexItems(s, (r ?? []) as Json[], path);
    for (const [pe, item] of li) {
      at.push(pe);
      walkCompare(node, item, ri.get(pe), at, c);
      at.pop();
    }
    for (const [pe, item] of ri) {
      if (li.has(pe)) continue;
      at.push(pe);
      walkCompare(node, undefined, item, at, c);
      at.pop();
    }
  }
  if (present) return;
  if (l === undefined) c.added.insert(at);
  else if (r === undefined) c.removed.insert(at);
}

function indexItems(s: ListStrategy, list: Json[], path: string | (() => string)): Map<string, Json> {
  const m = new Map<string, Json>();
  list.forEach((item, i) => m.set(requireElement(s, item, path, i), item));
  return m;
}

/**
 * typed.Merge of an applied configuration into the live object: maps merge,
 * keyed lists and sets merge by item, everything else is replaced.
 */
export function mergeApplied(kind: string, live: Json, config: Json, path = ''): Json {
  if (live === undefined || config === undefined) return structuredClone(config ?? live);
  if (isObject(live) && isObject(config) && !isAtomicMap(kind, path)) {
    const out: Obj = { ...live };
    for (const [k, v] of Object.entries(config)) out[k] = mergeApplied(kind, live[k], v, childPath(path, k));
    return out;
  }
  const s = Array.isArray(live) && Array.isArray(config) ? listStrategy(kind, path) : undefined;
  if (!s) return structuredClone(config);
  return mergeLists(kind, s, live as Json[], config as Json[], path);
}

/**
 * The merged list keeps live-only items where they were and config items in
 * the config's order, as structured-merge-diff's mergingWalker interleaves them.
 */
function mergeLists(kind: string, s: ListStrategy, lhs: Json[], rhs: Json[], path: string): Json[] {
  const lPE = lhs.map((x, i) => requireElement(s, x, path, i));
  const rPE = rhs.map((x, i) => requireElement(s, x, path, i));
  const lMap = new Map(lPE.map((pe, i) => [pe, lhs[i]]));
  const rMap = new Map(rPE.map((pe, i) => [pe, rhs[i]]));
  const shared = rPE.filter((pe) => lMap.has(pe));
  let nextShared = 0;
  const done = new Set<string>();
  const out: Json[] = [];
  const take = (pe: string) => {
    done.add(pe);
    out.push(mergeApplied(kind, lMap.get(pe), rMap.get(pe), path));
    if (shared[nextShared] === pe) nextShared++;
  };
  let li = 0;
  let ri = 0;
  while (li < lPE.length || ri < rPE.length) {
    if (li < lPE.length && ri < rPE.length) {
      const pe = lPE[li]!;
      if (pe === rPE[ri]) {
        take(pe);
        li++;
        ri++;
        continue;
      }
      if (rMap.has(pe) && shared[nextShared] !== undefined && shared[nextShared] !== pe) {
        li++;
        continue;
      }
    }
    if (li < lPE.length) {
      const pe = lPE[li]!;
      if (!rMap.has(pe)) {
        out.push(structuredClone(lhs[li]));
        li++;
        continue;
      }
      if (done.has(pe)) {
        li++;
        continue;
      }
    }
    if (ri < rPE.length) {
      const pe = rPE[ri]!;
      if (!done.has(pe)) take(pe);
      ri++;
    }
  }
  return out;
}

/**
 * Remove what the applier owned last time, no longer applies and nobody else
 * owns (merge.Updater.prune). A field node anybody still owns something under
 * stays; a list item stays only while somebody owns the item itself.
 */
export function prune(kind: string, v: Json, last: FieldSet, owned: FieldSet | undefined, path = ''): Json {
  if (isObject(v)) {
    for (const [pe, lc] of last.children) {
      if (!pe.startsWith('f:')) continue;
      const k = pe.slice(2);
      if (!(k in v)) continue;
      const oc = owned?.children.get(pe);
      if (!oc || oc.empty()) delete v[k];
      else v[k] = prune(kind, v[k], lc, oc, childPath(path, k));
    }
    return v;
  }
  if (Array.isArray(v)) {
    const s = listStrategy(kind, path);
    if (!s) return v;
    const kept: Json[] = [];
    for (const item of v) {
      const pe = itemElement(s, item);
      const lc = pe === undefined ? undefined : last.children.get(pe);
      if (!lc) {
        kept.push(item);
        continue;
      }
      const oc = owned?.children.get(pe!);
      if (lc.self && !oc?.self) continue;
      kept.push(oc ? prune(kind, item, lc, oc, path) : item);
    }
    return kept;
  }
  return v;
}

// ---- managers ----

export interface Manager {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource?: string;
  time?: string;
  set: FieldSet;
}

/** fieldmanager's BuildManagerIdentifier: an applier is the same whatever version it applies with. */
export function managerId(m: Pick<Manager, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  return JSON.stringify([m.manager, m.operation, m.operation === 'Apply' ? '' : m.apiVersion, m.subresource ?? '']);
}

export function decodeManagers(entries: ManagedFieldsEntry[] | undefined): Map<string, Manager> {
  const out = new Map<string, Manager>();
  for (const e of entries ?? []) {
    if (!e || typeof e !== 'object') throw new Error('managedFields entries must be objects');
    const m: Manager = {
      manager: e.manager ?? '',
      operation: e.operation === 'Apply' ? 'Apply' : 'Update',
      apiVersion: e.apiVersion ?? '',
      subresource: e.subresource || undefined,
      time: e.time,
      set: FieldSet.fromFieldsV1(e.fieldsV1),
    };
    const id = managerId(m);
    const prev = out.get(id);
    out.set(id, prev ? { ...m, set: prev.set.union(m.set) } : m);
  }
  return out;
}

/** Entries sorted as kube encodes them: operation, time, manager, apiVersion, subresource. */
export function encodeManagers(managers: Map<string, Manager>): ManagedFieldsEntry[] {
  const list = [...managers.values()].filter((m) => !m.set.empty());
  const secs = (t?: string) => (t ? Math.floor(Date.parse(t) / 1000) : 0);
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  list.sort((p, q) => cmp(p.operation, q.operation) || secs(p.time) - secs(q.time) || cmp(p.manager, q.manager) || cmp(p.apiVersion, q.apiVersion) || cmp(p.subresource ?? '', q.subresource ?? ''));
  return list.map((m) => {
    const e: ManagedFieldsEntry = { manager: m.manager, operation: m.operation, apiVersion: m.apiVersion };
    if (m.time) e.time = m.time;
    e.fieldsType = 'FieldsV1';
    e.fieldsV1 = m.set.toFieldsV1();
    if (m.subresource) e.subresource = m.subresource;
    return e;
  });
}

let stampSecond = NaN;
let stamp = '';

/** metav1.Time: RFC 3339 in whole seconds. */
export function nowTime(): string {
  // Every write stamps its managedFields entry: format each second once.
  const second = Math.floor(Date.now() / 1000);
  if (second !== stampSecond) {
    stampSecond = second;
    stamp = new Date(second * 1000).toISOString().replace('.000Z', 'Z');
  }
  return stamp;
}

/** fieldmanager's printManager, for conflict messages. */
function printManager(m: Manager): string {
  let s = JSON.stringify(m.manager);
  if (m.subresource) s += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === 'Update') s += ` using ${m.apiVersion}`;
  return s;
}

export interface Conflict { manager: Manager; path: string[] }

export function conflictError(conflicts: Conflict[]) {
  const causes = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${printManager(c.manager)}`, field: pathString(c.path) }));
  if (conflicts.length === 1) {
    const c = conflicts[0]!;
    return errors.applyConflict(`Apply failed with 1 conflict: conflict with ${printManager(c.manager)}: ${pathString(c.path)}`, causes);
  }
  const byManager = new Map<string, Conflict[]>();
  for (const c of conflicts) {
    const k = printManager(c.manager);
    byManager.set(k, [...(byManager.get(k) ?? []), c]);
  }
  const lines: string[] = [];
  for (const k of [...byManager.keys()].sort()) {
    lines.push(`conflicts with ${k}:`);
    for (const c of byManager.get(k)!) lines.push(`- ${pathString(c.path)}`);
  }
  return errors.applyConflict(`Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`, causes);
}

/**
 * What field management sees of an object (stripmeta and the strategies'
 * reset fields): never identity or bookkeeping metadata; for a kind with a
 * status subresource, only status through it and never status elsewhere.
 */
export function managedView(o: KubeObject | Obj, statusSubresource: boolean, subresource?: string): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) {
    if (statusSubresource && subresource === 'status' && k !== 'status') continue;
    if (statusSubresource && subresource !== 'status' && k === 'status') continue;
    out[k] = v;
  }
  return out;
}

const stripped = ['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation', 'managedFields', 'resourceVersion'];

/** stripmeta: the fields nobody owns, taken out of a computed set. */
export function stripSet(s: FieldSet): FieldSet {
  s.removeChild('f:apiVersion');
  s.removeChild('f:kind');
  const meta = s.children.get('f:metadata');
  if (meta) {
    for (const f of stripped) meta.removeChild(`f:${f}`);
    if (meta.empty()) s.removeChild('f:metadata');
  }
  return s;
}

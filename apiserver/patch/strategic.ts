// Kubernetes' strategic merge patch (apimachinery/pkg/util/strategicpatch),
// applied as kube-apiserver applies it: MergeParallelList and
// IgnoreUnmatchedNulls on. Merge keys come from mergekeys.ts; directives are
// $patch (replace, delete, and merge for maps), $retainKeys,
// $setElementOrder/<list> and $deleteFromPrimitiveList/<list>.

import { errors } from '../../api/errors.js';
import { listStrategy } from './mergekeys.js';
import { hasKey, isObject, setKey, unprocessable } from './jsonpatch.js';
import { parseJSONBody } from '../negotiation.js';

type Json = unknown;
type Obj = Record<string, Json>;

const directiveMarker = '$patch';
const retainKeysDirective = '$retainKeys';
const setElementOrderPrefix = '$setElementOrder';
const deleteFromPrimitiveListPrefix = '$deleteFromPrimitiveList';

/**
 * Errors as mergepatch names them; kube's interpretStrategicMergePatchError
 * turns the format ones into 400, the content ones into 422 and lets the rest
 * through as 500.
 */
class PatchFormatError extends Error {}
class PatchContentError extends Error {}

const errBadPrimitiveList = () => new PatchFormatError('invalid patch format of primitive list');
const errBadRetainKeys = () => new PatchFormatError('invalid patch format of retainKeys');
const errBadSetElementOrder = () => new PatchFormatError('invalid patch format of setElementOrder list');
const errNoListOfLists = () => new PatchContentError('lists of lists are not supported');
const errNoMergeKey = (m: Obj, key: string) => new Error(`map: ${goMap(m)} does not contain declared merge key: ${key}`);
const errBadPatchType = (t: Json, m: Obj) => new Error(`unknown patch type: ${String(t)} in map: ${goMap(m)}`);

/** Go's %v of a map[string]interface{}, for messages that quote one. */
function goMap(v: Json): string {
  if (isObject(v)) return `map[${Object.keys(v).sort().map((k) => `${k}:${goMap(v[k])}`).join(' ')}]`;
  if (Array.isArray(v)) return `[${v.map(goMap).join(' ')}]`;
  if (v === null) return '<nil>';
  return String(v);
}

export function parsePatchObject(text: string): Obj {
  let v: Json;
  try {
    v = parseJSONBody(text);
  } catch (e) {
    throw errors.badRequest((e as Error).message);
  }
  if (!isObject(v)) {
    throw errors.badRequest(`json: cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v === 'string' ? 'string' : v === null ? 'null' : typeof v} into Go value of type map[string]interface {}`);
  }
  return v;
}

/** Apply a strategic merge patch to `original` (of the given kind); neither argument is changed. */
export function strategicMergePatch(kind: string, original: Json, patch: Obj): Obj {
  try {
    return stripDirectives(mergeMap(kind, '', isObject(original) ? structuredClone(original) : {}, structuredClone(patch))) as Obj;
  } catch (e) {
    if (e instanceof PatchFormatError) throw errors.badRequest(e.message);
    if (e instanceof PatchContentError) throw unprocessable(e.message);
    // Everything else mergepatch reports is about the patch's shape (a $setElementOrder that is no list, a
    // list item without its merge key, ...): the client's fault, so 400 with mergepatch's message, never a 500.
    if (e instanceof Error && !('status' in e)) throw errors.badRequest(e.message);
    throw e;
  }
}

function childPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function mergeMap(kind: string, path: string, original: Obj | undefined, patch: Obj): Obj {
  if (hasKey(patch, directiveMarker)) return handleDirectiveInMergeMap(patch[directiveMarker], patch);
  original ??= {};
  applyRetainKeysDirective(original, patch);
  mergePatchIntoOriginal(kind, path, original, patch);

  for (let [k, patchV] of Object.entries(patch)) {
    let isDeleteList = false;
    if (k.startsWith(deleteFromPrimitiveListPrefix)) {
      k = extractKey(k, deleteFromPrimitiveListPrefix, errBadPrimitiveList);
      isDeleteList = true;
    }
    if (patchV === null) {
      delete original[k];
      continue;
    }
    if (!hasKey(original, k) || original[k] === undefined) {
      if (!isDeleteList) setKey(original, k, discardNulls(patchV));
      continue;
    }
    const orig = original[k];
    if (typeOf(orig) !== typeOf(patchV)) {
      if (!isDeleteList) setKey(original, k, discardNulls(patchV));
      continue;
    }
    const p = childPath(path, k);
    if (isObject(orig)) {
      setKey(original, k, mergeMap(kind, p, orig, patchV as Obj));
    } else if (Array.isArray(orig)) {
      const strategy = listStrategy(kind, p);
      setKey(original, k, strategy ? mergeSlice(kind, p, orig, patchV as Json[], strategy.mergeKey ?? '', isDeleteList) : patchV);
    } else {
      setKey(original, k, patchV);
    }
  }
  return original;
}

/** Go's reflect kinds as far as merging cares: map, slice or a scalar of some type. */
function typeOf(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'slice';
  if (typeof v === 'object') return 'map';
  return typeof v;
}

function handleDirectiveInMergeMap(directive: Json, patch: Obj): Obj {
  if (directive === 'replace') {
    delete patch[directiveMarker];
    return patch;
  }
  if (directive === 'delete') return {};
  throw errBadPatchType(directive, patch);
}

/** As discardNullValuesFromPatch: nulls for keys the live object never had mean nothing. */
function discardNulls(v: Json): Json {
  if (isObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (x === null) delete v[k];
      else discardNulls(x);
    }
  } else if (Array.isArray(v)) {
    v.forEach(discardNulls);
  }
  return v;
}

function extractKey(s: string, prefix: string, err: () => Error): string {
  const i = s.indexOf('/');
  if (i < 0 || s.slice(0, i) !== prefix) throw err();
  return s.slice(i + 1);
}

function applyRetainKeysDirective(original: Obj, patch: Obj): void {
  if (!hasKey(patch, retainKeysDirective)) return;
  const list = patch[retainKeysDirective];
  delete patch[retainKeysDirective];
  if (!Array.isArray(list)) throw errBadRetainKeys();
  const keep = new Set(list);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(deleteFromPrimitiveListPrefix) || k.startsWith(setElementOrderPrefix)) continue;
    if (!keep.has(k)) throw errBadRetainKeys();
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

/**
 * $setElementOrder lists: merge the list they name and order the result by
 * $setElementOrder first, then the patch, then the live list.
 */
function mergePatchIntoOriginal(kind: string, path: string, original: Obj, patch: Obj): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(setElementOrderPrefix)) continue;
    const order = patch[key];
    delete patch[key];
    if (!Array.isArray(order)) throw new Error(`invalid type for setElementOrder list: ${goMap(order)}`);
    const field = extractKey(key, setElementOrderPrefix, errBadSetElementOrder);
    const foundOriginal = hasKey(original, field) && original[field] !== undefined && original[field] !== null;
    const foundPatch = hasKey(patch, field) && patch[field] !== null;
    const originalList = foundOriginal ? original[field] : undefined;
    const patchList = foundPatch ? patch[field] : undefined;
    if (foundOriginal && !Array.isArray(originalList)) throw new Error(`invalid type for original list: ${goMap(originalList)}`);
    if (foundPatch && !Array.isArray(patchList)) throw new Error(`invalid type for patch list: ${goMap(patchList)}`);
    const p = childPath(path, field);
    const strategy = listStrategy(kind, p);
    const mergeKey = strategy?.mergeKey ?? '';
    validatePatchWithSetOrderList((patchList as Json[] | undefined) ?? [], order, mergeKey);
    let merged: Json[];
    if (foundOriginal && !foundPatch) merged = originalList as Json[];
    else if (!foundOriginal && foundPatch) merged = patchList as Json[];
    else if (foundOriginal && foundPatch) {
      merged = strategy ? mergeSlice(kind, p, originalList as Json[], patchList as Json[], mergeKey, false) : (patchList as Json[]);
    } else continue;
    const isMap = elementKind([(originalList as Json[] | undefined) ?? [], (patchList as Json[] | undefined) ?? []]) === 'map';
    const [patchItems, serverOnly] = partition(merged, order, mergeKey, isMap);
    setKey(original, field, normalizeElementOrder(patchItems, serverOnly, order, (originalList as Json[] | undefined) ?? [], mergeKey, isMap));
    delete patch[field];
  }
}

function validatePatchWithSetOrderList(patchList: Json[], order: Json[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  const nonDelete = mergeKey ? patchList.filter((x) => !(isObject(x) && x[directiveMarker] === 'delete')) : patchList;
  let pi = 0;
  let oi = 0;
  while (pi < nonDelete.length && oi < order.length) {
    const item = nonDelete[pi];
    if (isObject(item) && directiveMarker in item) {
      pi++;
      continue;
    }
    if (mergeKeyValueEqual(item, order[oi], mergeKey)) pi++;
    oi++;
  }
  if (pi < nonDelete.length && oi >= order.length) {
    throw new Error(`The order in patch list:\n${goMap(patchList)}\n doesn't match ${setElementOrderPrefix} list:\n${goMap(order)}\n`);
  }
}

function mergeKeyValueEqual(left: Json, right: Json, mergeKey: string): boolean {
  if (!mergeKey) return left === right;
  if (!isObject(left) || !isObject(right)) throw new Error('invalid list item: expected a map');
  if (!(mergeKey in left)) throw errNoMergeKey(left, mergeKey);
  if (!(mergeKey in right)) throw errNoMergeKey(right, mergeKey);
  return left[mergeKey] === right[mergeKey];
}

function elementKind(slices: Json[][]): 'map' | 'scalar' | undefined {
  let kind: string | undefined;
  for (const s of slices) {
    for (const v of s) {
      const t = typeOf(v);
      if (kind === undefined) {
        kind = t;
        if (t === 'slice') throw errNoListOfLists();
      } else if (kind !== t) {
        throw new Error(`list element types are not identical: ${goMap(slices)}`);
      }
    }
  }
  if (kind === undefined) return undefined;
  return kind === 'map' ? 'map' : 'scalar';
}

function mergeSlice(kind: string, path: string, original: Json[], patch: Json[], mergeKey: string, isDeleteList: boolean): Json[] {
  if (original.length === 0 && patch.length === 0) return original;
  const t = elementKind([original, patch]);
  if (t === undefined) throw new Error('no elements in any of the given slices');
  let merged: Json[];
  if (t !== 'map') {
    if (isDeleteList) {
      const del = new Set(patch);
      return original.filter((v) => !del.has(v));
    }
    merged = dedupe([...original, ...patch]);
  } else {
    if (!mergeKey) throw new Error('cannot merge lists without merge key for type map');
    [original, patch] = mergeSliceWithSpecialElements(original, patch, mergeKey);
    merged = mergeSliceWithoutSpecialElements(kind, path, original, patch, mergeKey);
  }
  const isMap = t === 'map';
  const [patchItems, serverOnly] = partition(merged, patch, mergeKey, isMap);
  return normalizeElementOrder(patchItems, serverOnly, patch, original, mergeKey, isMap);
}

function dedupe(list: Json[]): Json[] {
  const seen = new Set<Json>();
  return list.filter((v) => (seen.has(v) ? false : (seen.add(v), true)));
}

function mergeSliceWithSpecialElements(original: Json[], patch: Json[], mergeKey: string): [Json[], Json[]] {
  const plain: Json[] = [];
  let replace = false;
  for (const v of patch) {
    const m = v as Obj;
    if (!(directiveMarker in m)) {
      plain.push(v);
      continue;
    }
    const directive = m[directiveMarker];
    if (directive === 'delete') {
      if (!(mergeKey in m)) throw errNoMergeKey(m, mergeKey);
      original = original.filter((o) => !(isObject(o) && mergeKey in o && o[mergeKey] === m[mergeKey]));
    } else if (directive === 'replace') {
      replace = true;
    } else if (directive === 'merge') {
      throw new Error('merging lists cannot yet be specified in the patch');
    } else {
      throw errBadPatchType(directive, m);
    }
  }
  return replace ? [plain, []] : [original, plain];
}

function mergeSliceWithoutSpecialElements(kind: string, path: string, original: Json[], patch: Json[], mergeKey: string): Json[] {
  original = [...original];
  for (const v of patch) {
    const m = v as Obj;
    if (!(mergeKey in m)) throw errNoMergeKey(m, mergeKey);
    const i = findByKey(original, mergeKey, m[mergeKey]);
    if (i >= 0) original[i] = mergeMap(kind, path, original[i] as Obj, m);
    else original.push(discardNulls(v));
  }
  return original;
}

function findByKey(list: Json[], key: string, value: Json): number {
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (!isObject(item)) throw new Error(`value for key ${i} is not a map.`);
    if (key in item && item[key] === value) return i;
  }
  return -1;
}

/** Items of `list` present in `by` (by merge key for maps) and the others, each in list order. */
function partition(list: Json[], by: Json[], mergeKey: string, isMap: boolean): [Json[], Json[]] {
  const inBy: Json[] = [];
  const rest: Json[] = [];
  for (const v of list) {
    if (isMap) {
      if (!isObject(v)) throw new Error('invalid list item: expected a map');
      if (!(mergeKey in v)) throw errNoMergeKey(v, mergeKey);
      (by.some((b) => isObject(b) && b[mergeKey] === v[mergeKey]) ? inBy : rest).push(v);
    } else {
      (by.includes(v) ? inBy : rest).push(v);
    }
  }
  return [inBy, rest];
}

function indexIn(list: Json[], v: Json, mergeKey: string, isMap: boolean): number {
  const key = (x: Json) => (isMap ? (isObject(x) ? x[mergeKey] : undefined) : x);
  const want = key(v);
  return list.findIndex((x) => key(x) === want);
}

/**
 * Patch items sorted by the patch's order, server-only items by the live
 * order, then interleaved so both keep their relative order (as
 * normalizeElementOrder and mergeSortedSlice).
 */
function normalizeElementOrder(patchItems: Json[], serverOnly: Json[], patchOrder: Json[], serverOrder: Json[], mergeKey: string, isMap: boolean): Json[] {
  const sortBy = (items: Json[], order: Json[]) => {
    const keyed = items.map((v, i) => ({ v, i, o: indexIn(order, v, mergeKey, isMap) }));
    keyed.sort((a, b) => (a.o >= 0 && b.o >= 0 ? a.o - b.o : a.i - b.i));
    return keyed.map((x) => x.v);
  };
  const left = sortBy(serverOnly, serverOrder);
  const right = sortBy(patchItems, patchOrder);
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverOrder, left[i], mergeKey, isMap);
      const ri = indexIn(serverOrder, right[j], mergeKey, isMap);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/**
 * Directives left in values the live object did not have (a new list whose
 * items carry $patch): kube drops them when decoding into the typed object.
 */
function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  for (const k of Object.keys(v)) {
    if (k === directiveMarker || k === retainKeysDirective || k.startsWith(`${setElementOrderPrefix}/`) || k.startsWith(`${deleteFromPrimitiveListPrefix}/`)) delete v[k];
    else v[k] = stripDirectives(v[k]);
  }
  return v;
}

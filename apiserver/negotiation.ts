// Content negotiation as kube-apiserver does it for Skiff's one wire format:
// responses are always JSON (a protobuf-first Accept falls through to its JSON
// alternative), except that kubectl's `as=Table` media type selects
// server-side printing. Request bodies may be JSON, YAML or (for the kinds
// kubectl's create generators send that way) protobuf, up to 3 MiB.
//
// Every JSON and YAML body goes through parseJSONBody/parseYAMLBody, which
// bound what a small body can cost: nesting depth (the handlers, validation
// and patching recurse over objects, so a 10,000-deep body must stop here,
// not as a stack overflow later) and, for YAML, what aliases expand to.

import type { Request } from 'express';
import yaml from 'js-yaml';
import { errors } from '../api/errors.js';
import type { KubeObject } from '../api/types.js';
import { decodeProtobufObject } from './handlers/protobuf.js';

const protobuf = 'application/vnd.kubernetes.protobuf';

/** kube-apiserver's limit on request bodies (3 MiB). */
export const maxBodyBytes = 3 * 1024 * 1024;

/**
 * The nesting a body may have. kube's decoders stop at 10,000 levels; Skiff's
 * own walks (validation, pruning, patches) recurse per level, so its bound is
 * lower: js-yaml's default, and far above any built-in kind (a Deployment's
 * managedFields, the deepest, are ~15 levels).
 */
export const maxNestingDepth = 100;

/**
 * What a YAML body may expand to through aliases, in bytes of its JSON form.
 * js-yaml (4.x has maxDepth but no alias cap) shares an anchored node between
 * its aliases, so the load itself is cheap; the cost comes when anything walks
 * or serializes the result: ~450 bytes of nested aliases ("billion laughs")
 * are gigabytes by then. Bounding the expanded size at the decoder is what
 * goyaml's "excessive aliasing" check does for kube. A document without
 * aliases expands to at most about twice its size, so this never refuses one
 * the body limit lets through.
 */
export const maxExpandedBytes = 4 * maxBodyBytes;

/** A body over one of the decoders' bounds; the message is what the client sees after the decoder's prefix. */
export class DecodeLimitError extends Error {}

/**
 * The expanded JSON size of a decoded value, walking each shared node once
 * (aliases make a DAG) so the walk costs what the body does, and refusing
 * before the expanded size or depth passes its bound.
 */
function checkBounds(root: unknown): void {
  const memo = new Map<object, { size: number; height: number }>();
  const deeper = () => new DecodeLimitError(`yaml: exceeded max depth of ${maxNestingDepth}`);
  const visit = (v: unknown, depth: number): { size: number; height: number } => {
    if (typeof v === 'string') return { size: v.length + 2, height: 0 };
    if (v === null || typeof v !== 'object') return { size: 5, height: 0 };
    const seen = memo.get(v);
    if (seen) {
      if (depth + seen.height > maxNestingDepth) throw deeper();
      return seen;
    }
    if (depth >= maxNestingDepth) throw deeper();
    let size = 2;
    let height = 0;
    const add = (key: string | undefined, x: unknown) => {
      const c = visit(x, depth + 1);
      size += c.size + 1 + (key === undefined ? 0 : key.length + 3);
      if (c.height + 1 > height) height = c.height + 1;
      if (size > maxExpandedBytes) throw new DecodeLimitError('yaml: document contains excessive aliasing');
    };
    if (Array.isArray(v)) for (const x of v) add(undefined, x);
    else for (const k of Object.keys(v)) add(k, (v as Record<string, unknown>)[k]);
    const out = { size, height };
    memo.set(v, out);
    return out;
  };
  visit(root, 0);
}

/**
 * Whether a JSON value nests deeper than the bound. JSON is a tree, so this
 * needs none of checkBounds' bookkeeping, which every create would pay for.
 */
function tooDeep(v: unknown, depth: number): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (depth >= maxNestingDepth) return true;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (tooDeep(v[i], depth + 1)) return true;
    return false;
  }
  for (const k in v) if (tooDeep((v as Record<string, unknown>)[k], depth + 1)) return true;
  return false;
}

/**
 * Whether the text holds more than `bound` opening brackets: nesting deeper
 * than the bound needs that many, and counting them with indexOf costs a
 * fraction of walking the parsed tree, which nearly every body (a pod has a
 * dozen) would otherwise pay for.
 */
function mayNestDeeperThan(text: string, bound: number): boolean {
  let n = 0;
  for (const open of ['{', '[']) {
    for (let i = text.indexOf(open); i >= 0; i = text.indexOf(open, i + 1)) {
      if (++n > bound) return true;
    }
  }
  return false;
}

/** JSON.parse within the nesting bound; SyntaxError or DecodeLimitError otherwise. */
export function parseJSONBody(text: string): unknown {
  const v = JSON.parse(text) as unknown;
  if (mayNestDeeperThan(text, maxNestingDepth) && tooDeep(v, 0)) throw new DecodeLimitError('exceeded max depth');
  return v;
}

/** YAML (js-yaml, the first document) within the nesting and alias-expansion bounds. */
export function parseYAMLBody(text: string): unknown {
  let v: unknown;
  try {
    // maxDepth is js-yaml 4.3's option; @types/js-yaml predates it.
    v = yaml.load(text, { maxDepth: maxNestingDepth } as yaml.LoadOptions);
  } catch (e) {
    if (/maxDepth/.test((e as Error).message)) throw new DecodeLimitError(`yaml: exceeded max depth of ${maxNestingDepth}`);
    throw e;
  }
  if (v !== null && typeof v === 'object') checkBounds(v);
  return v;
}

/** Whether the client asked for a meta.k8s.io/v1 Table anywhere in its Accept list. */
export function wantsTable(req: Request): boolean {
  const accept = req.headers.accept ?? '';
  // Nearly every request: no Table anywhere, nothing to parse.
  if (!accept.includes('Table')) return false;
  for (const alt of accept.split(',')) {
    const [type, ...params] = alt.split(';').map((s) => s.trim());
    if (type !== 'application/json') continue;
    const p = Object.fromEntries(params.map((kv) => kv.split('=').map((s) => s.trim())));
    if (p.as === 'Table' && p.g === 'meta.k8s.io' && (p.v ?? 'v1') === 'v1') return true;
  }
  return false;
}

/** The request body as text (JSON, YAML, patches). */
export async function readBody(req: Request): Promise<string> {
  return (await readRawBody(req)).toString('utf8');
}

/**
 * The raw request body, refusing anything over the limit before buffering it all.
 * Plain 'data'/'end' listeners: the stream's async iterator costs several
 * allocations and listeners per request on the create hot path.
 */
export function readRawBody(req: Request): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBodyBytes) return Promise.reject(errors.requestEntityTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        cleanup();
        req.resume();
        reject(errors.requestEntityTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    // A client that goes away mid-body must not leave the request hanging.
    const onClose = () => {
      if (req.readableEnded) return;
      cleanup();
      reject(new Error('request aborted'));
    };
    if (req.readableEnded) {
      resolve(Buffer.alloc(0));
      return;
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

export function mediaType(req: Request): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/** Decode a create/update body; the media type decides the decoder. */
export function decodeObject(contentType: string, raw: Buffer): KubeObject {
  let obj: unknown;
  const body = contentType === protobuf ? '' : raw.toString('utf8');
  if (contentType === protobuf) {
    obj = decodeProtobufObject(raw);
  } else if (contentType === 'application/json' || contentType === '') {
    try {
      obj = parseJSONBody(body);
    } catch (e) {
      throw errors.badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
    }
  } else if (contentType === 'application/yaml' || contentType === 'application/x-yaml' || contentType === 'text/yaml') {
    try {
      obj = parseYAMLBody(body);
    } catch (e) {
      throw errors.badRequest(`error converting YAML to JSON: ${(e as Error).message.split('\n')[0]}`);
    }
  } else {
    throw errors.unsupportedMediaType(contentType);
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
    throw errors.badRequest("Object 'Kind' is missing in the request body");
  }
  const o = obj as KubeObject;
  if (o.metadata === undefined || o.metadata === null) o.metadata = {};
  if (typeof o.metadata !== 'object' || Array.isArray(o.metadata)) {
    throw errors.badRequest('json: cannot unmarshal into Go struct field .metadata of type v1.ObjectMeta');
  }
  return o;
}

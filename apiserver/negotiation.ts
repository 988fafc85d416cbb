// Content negotiation as kube-apiserver does it for Skiff's one wire format:
// responses are always JSON (a protobuf-first Accept falls through to its JSON
// alternative), except that kubectl's `as=Table` media type selects
// server-side printing. Request bodies may be JSON, YAML or (for the kinds
// kubectl's create generators send that way) protobuf, up to 3 MiB.

import type { Request } from 'express';
import yaml from 'js-yaml';
import { errors } from '../api/errors.js';
import type { KubeObject } from '../api/types.js';
import { decodeProtobufObject } from './handlers/protobuf.js';

const protobuf = 'application/vnd.kubernetes.protobuf';

/** kube-apiserver's limit on request bodies (3 MiB). */
export const maxBodyBytes = 3 * 1024 * 1024;

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
      obj = JSON.parse(body);
    } catch (e) {
      throw errors.badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
    }
  } else if (contentType === 'application/yaml' || contentType === 'application/x-yaml' || contentType === 'text/yaml') {
    try {
      obj = yaml.load(body);
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

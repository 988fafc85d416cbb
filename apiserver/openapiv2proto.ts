// The protobuf form of /openapi/v2: gnostic's openapi_v2.Document
// (github.com/google/gnostic-models/openapiv2/OpenAPIv2.proto), which
// client-go's discovery OpenAPISchema() asks for and nothing else. Only the
// parts a Swagger document built by apiserver/openapiv2.ts has are written:
// info, paths with their operations, body, query and path parameters and
// responses, definitions, the security definition; vendor extensions, enums
// and defaults are gnostic's Any, whose yaml holds their JSON (JSON is YAML).
// Field numbers are gnostic's.

import { Writer } from './storage/etcdkv.js';

type Json = Record<string, any>;

const text = (w: Writer, field: number, s: unknown): Writer => (typeof s === 'string' && s ? w.bytes(field, Buffer.from(s)) : w);
const texts = (w: Writer, field: number, list: unknown): Writer => {
  for (const s of Array.isArray(list) ? list : []) w.bytes(field, Buffer.from(String(s)));
  return w;
};
/** gnostic's Any: the value as YAML text. */
const any = (v: unknown): Writer => text(new Writer(), 2, JSON.stringify(v));
const named = (name: string, value: Writer): Writer => text(new Writer(), 1, name).message(2, value);

function vendorExtensions(w: Writer, field: number, o: Json): void {
  for (const [k, v] of Object.entries(o)) if (k.startsWith('x-')) w.message(field, named(k, any(v)));
}

export function schema(s: Json): Writer {
  const w = new Writer();
  text(w, 1, s.$ref);
  text(w, 2, s.format);
  text(w, 3, s.title);
  text(w, 4, s.description);
  if (s.default !== undefined) w.message(5, any(s.default));
  w.bool(16, s.uniqueItems);
  texts(w, 19, s.required);
  for (const e of Array.isArray(s.enum) ? s.enum : []) w.message(20, any(e));
  if (typeof s.additionalProperties === 'boolean') w.message(21, new Writer().uint(2, s.additionalProperties ? 1 : 0, true));
  else if (s.additionalProperties) w.message(21, new Writer().message(1, schema(s.additionalProperties)));
  if (s.type) w.message(22, texts(new Writer(), 1, [].concat(s.type)));
  if (s.items) w.message(23, new Writer().message(1, schema(s.items)));
  for (const a of Array.isArray(s.allOf) ? s.allOf : []) w.message(24, schema(a));
  if (s.properties) {
    const p = new Writer();
    for (const [name, v] of Object.entries(s.properties as Json)) p.message(1, named(name, schema(v)));
    w.message(25, p);
  }
  vendorExtensions(w, 31, s);
  return w;
}

function parameter(p: Json): Writer {
  if (p.in === 'body') {
    const body = text(new Writer(), 1, p.description);
    text(body, 2, p.name);
    text(body, 3, p.in);
    body.bool(4, p.required);
    if (p.schema) body.message(5, schema(p.schema));
    return new Writer().message(1, new Writer().message(1, body));
  }
  // Query and path parameters differ in their field numbers past name.
  const query = p.in === 'query';
  const sub = new Writer().bool(1, p.required);
  text(sub, 2, p.in);
  text(sub, 3, p.description);
  text(sub, 4, p.name);
  text(sub, query ? 6 : 5, p.type);
  sub.bool(query ? 20 : 19, p.uniqueItems);
  return new Writer().message(1, new Writer().message(2, new Writer().message(query ? 3 : 4, sub)));
}

function operation(op: Json): Writer {
  const w = texts(new Writer(), 1, op.tags);
  text(w, 3, op.description);
  text(w, 5, op.operationId);
  texts(w, 6, op.produces);
  texts(w, 7, op.consumes);
  for (const p of op.parameters ?? []) w.message(8, parameter(p));
  const responses = new Writer();
  for (const [code, r] of Object.entries((op.responses ?? {}) as Json)) {
    const response = text(new Writer(), 1, r.description);
    if (r.schema) response.message(2, new Writer().message(1, schema(r.schema)));
    responses.message(1, named(code, new Writer().message(1, response)));
  }
  w.message(9, responses);
  texts(w, 10, op.schemes);
  vendorExtensions(w, 13, op);
  return w;
}

const methodFields: Record<string, number> = { get: 2, put: 3, post: 4, delete: 5, options: 6, head: 7, patch: 8 };

/** The Swagger 2.0 document (as openapiv2.ts builds it) as gnostic's protobuf Document. */
export function encodeDocument(doc: Json): Buffer {
  const w = text(new Writer(), 1, doc.swagger);
  const info = text(new Writer(), 1, doc.info?.title);
  text(info, 2, doc.info?.version);
  w.message(2, info);
  const paths = new Writer();
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Json)) {
    const pi = new Writer();
    for (const [method, field] of Object.entries(methodFields)) if (item[method]) pi.message(field, operation(item[method]));
    for (const p of item.parameters ?? []) pi.message(9, parameter(p));
    paths.message(2, named(path, pi));
  }
  w.message(8, paths);
  const defs = new Writer();
  for (const [name, s] of Object.entries((doc.definitions ?? {}) as Json)) defs.message(1, named(name, schema(s)));
  w.message(9, defs);
  for (const req of doc.security ?? []) {
    const r = new Writer();
    for (const [name, scopes] of Object.entries(req as Json)) r.message(1, named(name, texts(new Writer(), 1, scopes)));
    w.message(12, r);
  }
  const secDefs = new Writer();
  for (const [name, d] of Object.entries((doc.securityDefinitions ?? {}) as Json)) {
    // Only apiKey definitions (kube's BearerToken) are written.
    if (d.type !== 'apiKey') continue;
    const key = text(new Writer(), 1, d.type);
    text(key, 2, d.name);
    text(key, 3, d.in);
    text(key, 4, d.description);
    secDefs.message(1, named(name, new Writer().message(2, key)));
  }
  w.message(13, secDefs);
  return w.finish();
}

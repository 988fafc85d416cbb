// OpenAPI v2 (Swagger 2.0) at /openapi/v2, as kube-apiserver still serves it
// for clients that read it: one document for every group-version, built from
// the same paths and schemas as the per-group-version /openapi/v3 documents
// (apiserver/openapi.ts), converted as kube's builders differ between the two
// (body parameters instead of requestBody, `type` on parameters, `$ref` with
// its description instead of allOf, int-or-string and Quantity as strings).
// kube answers JSON, or protobuf (gnostic's openapi_v2.Document) when asked
// for application/com.github.proto-openapi.spec.v2[@.]v1.0+protobuf, which
// client-go's OpenAPISchema() always asks for; anything else is 406.

import crypto from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { apiVersionOf, onTableChange, resources, type ResourceInfo } from '../api/resources.js';
import { refPrefix, type Schema } from '../api/schemas/index.js';
import { groupVersionDocument } from './openapi.js';
import { encodeDocument } from './openapiv2proto.js';

type Json = Record<string, any>;

const v2Prefix = '#/definitions/';

/** A v3 schema as kube's v2 builder writes it. */
export function toV2Schema(s: Schema): Json {
  if (s.oneOf) {
    // IntOrString and Quantity: a v2 schema has one type; kube publishes string (with the int-or-string format).
    const { oneOf: _o, ...rest } = s;
    return { ...rest, type: 'string' };
  }
  const out: Json = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'allOf' && Array.isArray(v) && v.length === 1 && v[0].$ref) {
      out.$ref = v2Prefix + v[0].$ref.slice(refPrefix.length);
    } else if (k === '$ref') {
      out.$ref = v2Prefix + String(v).slice(refPrefix.length);
    } else if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v as Record<string, Schema>).map(([n, p]) => [n, toV2Schema(p)]));
    } else if (k === 'items' || (k === 'additionalProperties' && typeof v === 'object')) {
      out[k] = toV2Schema(v as Schema);
    } else {
      out[k] = v;
    }
  }
  // A reference's default ({} on list items) is v3's way to carry it beside allOf; v2 has none there.
  if (out.$ref) delete out.default;
  return out;
}

function toV2Parameter(p: Json): Json {
  if (p.in === 'body') return p;
  const { schema, ...rest } = p;
  return { ...rest, type: schema?.type ?? 'string' };
}

function toV2Operation(op: Json): Json {
  const { requestBody, responses, parameters, ...rest } = op;
  const params = (parameters ?? []).map(toV2Parameter);
  let consumes = ['*/*'];
  if (requestBody) {
    const types = Object.keys(requestBody.content ?? {});
    const schema = requestBody.content?.[types[0]]?.schema;
    params.push({ name: 'body', in: 'body', required: true, schema: toV2Schema(schema ?? {}) });
    if (types.some((t) => t.includes('patch'))) consumes = types;
  }
  const v2Responses = Object.fromEntries(Object.entries(responses ?? {}).map(([code, r]: [string, any]) => {
    const schema = r.content ? (Object.values(r.content)[0] as Json).schema : undefined;
    return [code, { description: r.description, ...(schema ? { schema: toV2Schema(schema) } : {}) }];
  }));
  return {
    ...rest,
    consumes,
    produces: ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'],
    schemes: ['https'],
    ...(params.length ? { parameters: params } : {}),
    responses: v2Responses,
  };
}

/** The Swagger 2.0 document of every group-version in the table. */
export function swaggerDocument(table: ResourceInfo[] = resources, gitVersion = 'v1.32.0'): Json {
  const paths: Json = {};
  const definitions: Json = {};
  const groupVersions = [...new Set(table.map(apiVersionOf))];
  for (const gv of groupVersions) {
    const doc = groupVersionDocument(table.filter((r) => apiVersionOf(r) === gv), gitVersion) as Json;
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      const v2: Json = {};
      for (const [method, op] of Object.entries(item as Json)) {
        v2[method] = method === 'parameters' ? (op as Json[]).map(toV2Parameter) : toV2Operation(op as Json);
      }
      paths[path] = v2;
    }
    for (const [name, schema] of Object.entries(doc.components.schemas as Record<string, Schema>)) definitions[name] ??= toV2Schema(schema);
  }
  const sorted = (o: Json) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: gitVersion },
    paths: sorted(paths),
    definitions: sorted(definitions),
    securityDefinitions: { BearerToken: { description: 'Bearer Token authentication', type: 'apiKey', name: 'authorization', in: 'header' } },
    security: [{ BearerToken: [] }],
  };
}

const jsonType = 'application/json';
const protoType = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
/** kube-openapi's handler takes both spellings and answers with the dotted one. */
const protoTypes = ['application/com.github.proto-openapi.spec.v2@v1.0+protobuf', protoType];

/** The representation an Accept header picks, as kube-openapi's handler matches it (first acceptable clause wins); undefined for 406. */
export function negotiateV2(accept: string | undefined): 'json' | 'protobuf' | undefined {
  if (!accept) return 'json';
  for (const clause of accept.split(',')) {
    const type = clause.split(';')[0].trim().toLowerCase();
    if (type === '*/*' || type === 'application/*' || type === jsonType) return 'json';
    if (protoTypes.includes(type)) return 'protobuf';
  }
  return undefined;
}

export function openapiV2Router(table: ResourceInfo[] = resources): express.Router {
  // Built on first use: most clients never ask, and the document is the largest thing the server serves.
  let cache: { json: Buffer; proto: Buffer; etag: string } | undefined;
  // Custom resources change the table while the server runs: the next request rebuilds.
  if (table === resources) onTableChange(() => { cache = undefined; });
  const build = () => {
    if (!cache) {
      const doc = swaggerDocument(table);
      const json = Buffer.from(JSON.stringify(doc));
      cache = { json, proto: encodeDocument(doc), etag: `"${crypto.createHash('sha512').update(json).digest('hex').toUpperCase()}"` };
    }
    return cache;
  };
  const router = express.Router();
  router.get('/openapi/v2', (req: Request, res: Response) => {
    const kind = negotiateV2(req.headers.accept);
    if (!kind) {
      res.status(406).end();
      return;
    }
    const doc = build();
    res.setHeader('Etag', doc.etag);
    res.setHeader('Vary', 'Accept');
    if (req.headers['if-none-match'] === doc.etag) {
      res.status(304).end();
      return;
    }
    res.setHeader('Content-Type', kind === 'json' ? jsonType : protoType);
    res.end(kind === 'json' ? doc.json : doc.proto);
  });
  return router;
}

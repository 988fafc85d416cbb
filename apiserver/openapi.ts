// OpenAPI v3 as kube-apiserver publishes it: /openapi/v3 indexes one document
// per group-version, each with the paths and operations of its resources and
// the schemas they reference (api/schemas). kubectl reads these for
// `kubectl explain` and to learn, from a PATCH operation that carries the
// kind's x-kubernetes-group-version-kind and a fieldValidation parameter,
// that it may leave field validation to the server.

import crypto from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { apiVersionOf, kindOf, onTableChange, resources, type ResourceInfo } from '../api/resources.js';
import { definitionName, definitions, metaNames, refPrefix, type Schema } from '../api/schemas/index.js';
import { errors } from '../api/errors.js';

type Operation = Record<string, unknown>;
type Parameter = { name: string; in: 'path' | 'query'; description: string; required?: boolean; schema: Schema; uniqueItems?: boolean };

const q = (name: string, description: string, type: Schema['type'] = 'string'): Parameter => ({ name, in: 'query', description, schema: { type }, uniqueItems: true });
const params = {
  name: (kind: string): Parameter => ({ name: 'name', in: 'path', description: `name of the ${kind}`, required: true, schema: { type: 'string' }, uniqueItems: true }),
  namespace: { name: 'namespace', in: 'path', description: 'object name and auth scope, such as for teams and projects', required: true, schema: { type: 'string' }, uniqueItems: true } as Parameter,
  pretty: q('pretty', "If 'true', then the output is pretty printed."),
  dryRun: q('dryRun', 'When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed'),
  fieldManager: q('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.'),
  fieldValidation: q('fieldValidation', 'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.'),
  force: q('force', 'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.', 'boolean'),
  gracePeriodSeconds: q('gracePeriodSeconds', 'The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately.', 'integer'),
  propagationPolicy: q('propagationPolicy', "Whether and how garbage collection will be performed. Acceptable values are: 'Orphan' - orphan the dependents; 'Background' - allow the garbage collector to delete the dependents in the background; 'Foreground' - a cascading policy that deletes all dependents in the foreground."),
  list: [
    q('allowWatchBookmarks', 'allowWatchBookmarks requests watch events with type "BOOKMARK".', 'boolean'),
    q('continue', 'The continue option should be set when retrieving more results from the server.'),
    q('fieldSelector', 'A selector to restrict the list of returned objects by their fields. Defaults to everything.'),
    q('labelSelector', 'A selector to restrict the list of returned objects by their labels. Defaults to everything.'),
    q('limit', 'limit is a maximum number of responses to return for a list call.', 'integer'),
    q('resourceVersion', 'resourceVersion sets a constraint on what resource versions a request may be served from.'),
    q('resourceVersionMatch', 'resourceVersionMatch determines how resourceVersion is applied to list calls.'),
    q('sendInitialEvents', '`sendInitialEvents=true` may be set together with `watch=true`.', 'boolean'),
    q('timeoutSeconds', 'Timeout for the list/watch call.', 'integer'),
    q('watch', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.', 'boolean'),
  ],
};

const ref = (name: string): Schema => ({ $ref: refPrefix + name });
const jsonContent = (schema: Schema) => Object.fromEntries(['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'].map((t) => [t, { schema }]));
const ok = (schema: Schema, codes = ['200']) => Object.fromEntries([...codes.map((c) => [c, { description: c === '201' ? 'Created' : c === '202' ? 'Accepted' : 'OK', content: jsonContent(schema) }]), ['401', { description: 'Unauthorized' }]]);

/** "apps" -> "Apps", "coordination.k8s.io" -> "Coordination", "" -> "Core", as operation ids name groups. */
function groupWord(group: string): string {
  if (!group) return 'Core';
  const first = group.replace(/\.k8s\.io$/, '').split('.')[0];
  return first.charAt(0).toUpperCase() + first.slice(1);
}

function pathsFor(r: ResourceInfo): Record<string, Record<string, unknown>> {
  const gvk = { group: r.group, kind: r.kind, version: r.version };
  const listGvk = { ...gvk, kind: r.listKind };
  const own = kindOf(r).openapi;
  const kindRef = ref(own?.kind ?? definitionName(r.group, r.version, r.kind));
  const listRef = ref(own?.list ?? definitionName(r.group, r.version, r.listKind));
  const root = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const gv = `${groupWord(r.group)}${r.version.charAt(0).toUpperCase()}${r.version.slice(1)}`;
  const scope = r.namespaced ? 'Namespaced' : '';
  const tags = [`${r.group ? r.group.replace(/\.k8s\.io$/, '').split('.')[0] : 'core'}_${r.version}`];
  const op = (action: string, id: string, description: string, extra: Operation, kind = gvk): Operation => ({
    tags, description, operationId: `${id}${gv}${scope}${r.kind}`, ...extra, 'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': kind,
  });
  const body = (schema: Schema, types = ['application/json', 'application/yaml']) => ({ content: Object.fromEntries(types.map((t) => [t, { schema }])), required: true });
  const patchBody = body(ref(metaNames.Patch), ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json']);
  const writeParams = [params.dryRun, params.fieldManager, params.fieldValidation];
  const collection = r.namespaced ? `${root}/namespaces/{namespace}/${r.plural}` : `${root}/${r.plural}`;
  const item = `${collection}/{name}`;
  const scopeParams = r.namespaced ? [params.namespace] : [];
  const out: Record<string, Record<string, unknown>> = {};

  if (r.ephemeral) {
    // Create-only: the answer is computed from the request, so there is nothing to read, list or delete.
    out[collection] = {
      post: op('post', 'create', `create a ${r.kind}`, { parameters: writeParams, requestBody: body(kindRef), responses: ok(kindRef, ['200', '201', '202']) }),
      parameters: [...scopeParams, params.pretty],
    };
    return out;
  }
  out[collection] = {
    get: op('list', 'list', `list or watch objects of kind ${r.kind}`, { parameters: params.list, responses: ok(listRef) }, listGvk),
    post: op('post', 'create', `create a ${r.kind}`, { parameters: writeParams, requestBody: body(kindRef), responses: ok(kindRef, ['200', '201', '202']) }),
    ...(r.verbs.includes('deletecollection')
      ? { delete: op('deletecollection', 'deleteCollection', `delete collection of ${r.kind}`, { parameters: [...params.list, params.dryRun, params.gracePeriodSeconds, params.propagationPolicy], requestBody: { content: jsonContent(ref(metaNames.DeleteOptions)) }, responses: ok(ref(metaNames.Status)) }) }
      : {}),
    parameters: [...scopeParams, params.pretty],
  };
  out[item] = {
    get: op('get', 'read', `read the specified ${r.kind}`, { responses: ok(kindRef) }),
    put: op('put', 'replace', `replace the specified ${r.kind}`, { parameters: writeParams, requestBody: body(kindRef), responses: ok(kindRef, ['200', '201']) }),
    patch: op('patch', 'patch', `partially update the specified ${r.kind}`, { parameters: [...writeParams, params.force], requestBody: patchBody, responses: ok(kindRef, ['200', '201']) }),
    delete: op('delete', 'delete', `delete a ${r.kind}`, { parameters: [params.dryRun, params.gracePeriodSeconds, params.propagationPolicy], requestBody: { content: jsonContent(ref(metaNames.DeleteOptions)) }, responses: ok(ref(metaNames.Status), ['200', '202']) }),
    parameters: [params.name(r.kind), ...scopeParams, params.pretty],
  };
  if (r.namespaced) {
    out[`${root}/${r.plural}`] = {
      get: { ...op('list', 'list', `list or watch objects of kind ${r.kind}`, { parameters: params.list, responses: ok(listRef) }, listGvk), operationId: `list${gv}${r.kind}ForAllNamespaces` },
      parameters: [params.pretty],
    };
  }
  for (const sub of r.subresources.filter((s) => s === 'status' || s === 'scale')) {
    const subRef = sub === 'scale' ? ref('io.k8s.api.autoscaling.v1.Scale') : kindRef;
    const subGvk = sub === 'scale' ? { group: 'autoscaling', kind: 'Scale', version: 'v1' } : gvk;
    const word = sub === 'scale' ? 'Scale' : 'Status';
    out[`${item}/${sub}`] = {
      get: { ...op('get', 'read', `read ${sub} of the specified ${r.kind}`, { responses: ok(subRef) }, subGvk), operationId: `read${gv}${scope}${r.kind}${word}` },
      put: { ...op('put', 'replace', `replace ${sub} of the specified ${r.kind}`, { parameters: writeParams, requestBody: body(subRef), responses: ok(subRef, ['200', '201']) }, subGvk), operationId: `replace${gv}${scope}${r.kind}${word}` },
      patch: { ...op('patch', 'patch', `partially update ${sub} of the specified ${r.kind}`, { parameters: [...writeParams, params.force], requestBody: patchBody, responses: ok(subRef, ['200', '201']) }, subGvk), operationId: `patch${gv}${scope}${r.kind}${word}` },
      parameters: [params.name(r.kind), ...scopeParams, params.pretty],
    };
  }
  return out;
}

/** Definitions reachable from the given roots through $ref (kube's, and those of kinds that publish their own). */
function closure(roots: string[], extra: Record<string, Schema> = {}): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  const visit = (name: string) => {
    const d = extra[name] ?? definitions[name];
    if (out[name] || !d) return;
    out[name] = d;
    walk(d);
  };
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string') visit(x.slice(refPrefix.length));
        else walk(x);
      }
    }
  };
  roots.forEach(visit);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The OpenAPI v3 document of one group-version. */
export function groupVersionDocument(rs: ResourceInfo[], gitVersion = 'v1.32.0'): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const r of rs) Object.assign(paths, pathsFor(r));
  const extra: Record<string, Schema> = Object.assign({}, ...rs.map((r) => kindOf(r).openapi?.definitions ?? {}));
  const roots = [metaNames.Status, metaNames.DeleteOptions, metaNames.Patch, metaNames.WatchEvent, ...rs.flatMap((r) => {
    const own = kindOf(r).openapi;
    return [own?.kind ?? definitionName(r.group, r.version, r.kind), ...(r.ephemeral ? [] : [own?.list ?? definitionName(r.group, r.version, r.listKind)])];
  })];
  if (rs.some((r) => r.subresources.includes('scale'))) roots.push('io.k8s.api.autoscaling.v1.Scale');
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: gitVersion }, paths, components: { schemas: closure(roots, extra) } };
}

export interface OpenAPIOptions { table?: ResourceInfo[] }

export function openapiRouter(opts: OpenAPIOptions = {}): express.Router {
  const table = opts.table ?? resources;
  // Rebuilt on first use after each change of the table (custom resources), so kubectl's cache, keyed
  // by each document's hash, sees a changed group-version as a new document.
  let built: { docs: Map<string, { body: string; hash: string }>; index: string } | undefined;
  if (!opts.table) onTableChange(() => { built = undefined; });
  const current = () => {
    if (built) return built;
    const docs = new Map<string, { body: string; hash: string }>();
    for (const r of table) {
      const key = r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`;
      if (docs.has(key)) continue;
      const body = JSON.stringify(groupVersionDocument(table.filter((x) => apiVersionOf(x) === apiVersionOf(r))));
      docs.set(key, { body, hash: crypto.createHash('sha512').update(body).digest('hex').toUpperCase() });
    }
    const index = JSON.stringify({ paths: Object.fromEntries([...docs].map(([k, d]) => [k, { serverRelativeURL: `/openapi/v3/${k}?hash=${d.hash}` }])) });
    built = { docs, index };
    return built;
  };

  const router = express.Router();
  router.get('/openapi/v3', (_req: Request, res: Response) => {
    res.setHeader('Content-Type', 'application/json');
    res.send(current().index);
  });
  router.get('/openapi/v3/*path', (req: Request, res: Response) => {
    const key = (req.params as { path: string[] }).path.join('/');
    const doc = current().docs.get(key);
    if (!doc) {
      const e = errors.notFoundPath();
      res.status(e.code).json(e.status);
      return;
    }
    // Documents are addressed by hash: a request naming the current one may be cached forever.
    if (req.query.hash === doc.hash) res.setHeader('Cache-Control', 'public, immutable');
    else res.setHeader('Cache-Control', 'no-cache, private');
    res.setHeader('Etag', `"${doc.hash}"`);
    res.setHeader('Content-Type', 'application/json');
    res.send(doc.body);
  });
  return router;
}

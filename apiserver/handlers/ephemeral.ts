// Create-only kinds whose POST answers with a computed object and stores
// nothing (kube's rest.Creater-only storages: the access reviews,
// TokenReview, SelfSubjectReview). The body is decoded and validated as any
// create is; the kind's handler fills in the answer from the request's user.

import type { Request, Response } from 'express';
import { errors } from '../../api/errors.js';
import type { KubeObject } from '../../api/types.js';
import { pruneUnknownFields, validateObject } from '../../api/validation.js';
import { userOf } from '../auth/context.js';
import type { UserInfo } from '../auth/types.js';
import { decodeFor, sendJSON } from './rest.js';
import { query, type RequestInfo } from './request.js';

/** Computes the answer to one POST of an ephemeral kind; throw a StatusError to refuse. */
export type EphemeralHandler = (obj: KubeObject, req: { user: UserInfo; namespace?: string }) => Promise<KubeObject>;

/** Serves a request for a resource marked `ephemeral`; handlers are keyed by plural. */
export async function serveEphemeral(handlers: ReadonlyMap<string, EphemeralHandler> | undefined, req: Request, res: Response, info: RequestInfo): Promise<void> {
  const r = info.resource;
  if (info.verb !== 'create' || info.name || info.subresource) throw errors.methodNotSupported(r.kind, req.method);
  const handler = handlers?.get(r.plural);
  if (!handler) throw errors.notFoundPath();
  if (r.namespaced && !info.namespace) throw errors.notFoundPath();
  const obj = await decodeFor(req, r);
  obj.metadata ??= {};
  if (r.namespaced) {
    if (obj.metadata.namespace && obj.metadata.namespace !== info.namespace) {
      throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    obj.metadata.namespace = info.namespace;
  }
  const warnings: string[] = [];
  const unknown = pruneUnknownFields(r, obj).map((p) => p.replace(/^\./, ''));
  if (unknown.length) {
    if (query(req, 'fieldValidation') === 'Strict') throw errors.badRequest(`strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
    if (query(req, 'fieldValidation') !== 'Ignore') warnings.push(...unknown.map((f) => `unknown field "${f}"`));
  }
  const causes = validateObject(r, obj);
  if (causes.length) throw errors.invalid(r.kind, obj.metadata.name ?? '', causes, r.group);
  const out = await handler(obj, { user: userOf(req), namespace: info.namespace });
  // Never stored, so never stamped: kube answers with the metadata as sent (creationTimestamp null).
  out.metadata = { ...out.metadata, creationTimestamp: out.metadata?.creationTimestamp ?? (null as unknown as undefined) };
  if (warnings.length) res.setHeader('Warning', warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', '));
  sendJSON(res, 201, out);
}

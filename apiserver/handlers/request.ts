// Request info (k8s.io/apiserver/pkg/endpoints/request.RequestInfo): which
// resource, namespace, name, subresource and verb a path and method address.

import type { Request } from 'express';
import { findByPlural, resources, type ResourceInfo } from '../../api/resources.js';
import { errors } from '../../api/errors.js';
import { queryBool } from '../../api/params.js';

export interface RequestInfo {
  resource: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection' | 'connect';
}

export function query(req: Request, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  if (Array.isArray(v)) return String(v[0]);
  return v === undefined ? undefined : String(v);
}

/** A path segment's escapes; a malformed one is the client's error (Go's net/http: 400 "invalid URL escape"). */
function decodeSegment(seg: string): string {
  if (!seg.includes('%')) return seg;
  try {
    return decodeURIComponent(seg);
  } catch {
    const bad = /%(?![0-9a-fA-F]{2})[^/]{0,2}/.exec(seg)?.[0] ?? '%';
    throw errors.badRequest(`invalid URL escape ${JSON.stringify(bad)}`);
  }
}

/** Undefined when the path names no resource this server serves. */
export function parseRequest(req: Request): RequestInfo | undefined {
  const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(.+?)\/?$/.exec(req.path);
  if (!m) return undefined;
  const group = m[2] ?? '';
  const version = m[1] ?? m[3];
  const segs = m[4].split('/').map(decodeSegment);
  let namespace: string | undefined;
  let rest = segs;
  if (segs[0] === 'namespaces' && segs.length >= 3) {
    const nsScoped = resources.find((r) => r.group === group && r.version === version && r.plural === segs[2] && r.namespaced);
    if (nsScoped) {
      namespace = segs[1];
      rest = segs.slice(2);
    }
  }
  // Only a proxy has a path past its subresource (pods/<name>/proxy/<path>).
  if (rest.length > 3 && rest[2] !== 'proxy') return undefined;
  const [plural, name, subresource] = rest;
  const resource = findByPlural(group, version, plural);
  if (!resource) return undefined;
  if (!resource.namespaced && namespace) return undefined;
  if (subresource && !resource.subresources.includes(subresource)) return undefined;
  const watch = queryBool(query(req, 'watch'));
  let verb: RequestInfo['verb'];
  switch (req.method) {
    case 'GET': case 'HEAD': verb = name ? (watch ? 'watch' : 'get') : watch ? 'watch' : 'list'; break;
    case 'POST': verb = 'create'; break;
    case 'PUT': verb = 'update'; break;
    case 'PATCH': verb = 'patch'; break;
    case 'DELETE': verb = name ? 'delete' : 'deletecollection'; break;
    default: verb = 'connect';
  }
  if (subresource && ['exec', 'attach', 'portforward', 'proxy'].includes(subresource)) verb = 'connect';
  return { resource, namespace, name, subresource, verb };
}

// What a request asks to do, for authorization: kube's RequestInfoFactory
// (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go). It reads the path
// alone, not the resource table, so a request for a resource this server does
// not serve is still authorized as what it names before it is answered 404.

import { queryBool } from '../../api/params.js';

export interface AuthzRequestInfo {
  resourceRequest: boolean;
  path: string;
  verb: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  /** The request's ?fieldSelector and ?labelSelector (kube's Attributes.GetFieldSelector/GetLabelSelector). */
  fieldSelector?: string;
  labelSelector?: string;
}

const namespaceSubresources = new Set(['status', 'finalize']);
// Subresources that are reached by a WebSocket or SPDY GET but do work: kube authorizes them as create
// (AuthorizePodWebsocketUpgradeCreatePermission, on by default since 1.30).
const connectCreates = new Set(['exec', 'attach', 'portforward']);

function httpVerb(method: string): string {
  return method.toLowerCase();
}

/** `query` is the raw query string without '?'; `method` the HTTP method. */
export function requestInfo(method: string, path: string, query: string): AuthzRequestInfo {
  const nonResource = (): AuthzRequestInfo => ({ resourceRequest: false, path, verb: httpVerb(method), apiGroup: '', apiVersion: '', namespace: '', resource: '', subresource: '', name: '' });
  const parts = path.replace(/^\/+|\/+$/g, '').split('/');
  let rest: string[];
  let apiGroup = '';
  let apiVersion: string;
  if (parts[0] === 'api' && parts.length >= 3) {
    apiVersion = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    apiGroup = parts[1];
    apiVersion = parts[2];
    rest = parts.slice(3);
  } else {
    return nonResource();
  }
  let segs = rest;
  // Every request is parsed here: decode only paths that carry escapes.
  if (path.includes('%')) {
    try {
      segs = rest.map(decodeURIComponent);
    } catch {
      return nonResource();
    }
  }
  const info: AuthzRequestInfo = { resourceRequest: true, path, verb: '', apiGroup, apiVersion, namespace: '', resource: '', subresource: '', name: '' };
  let watchPrefix = false;
  if (segs[0] === 'watch') {
    watchPrefix = true;
    segs = segs.slice(1);
  }
  if (segs[0] === 'namespaces' && segs.length > 1) {
    info.namespace = segs[1];
    if (segs.length > 2 && !namespaceSubresources.has(segs[2])) segs = segs.slice(2);
  }
  info.resource = segs[0] ?? '';
  info.name = segs[1] ?? '';
  info.subresource = segs[2] ?? '';
  if (segs.length > 3 && info.subresource !== 'proxy') return nonResource();
  // As the handler decodes it (apimachinery's lenient bool: `watch`, `watch=yes`, `watch=t` all watch), so a list
  // permission never opens a watch the handler then serves.
  const watch = watchPrefix || queryBool(query.includes('watch') ? new URLSearchParams(query).get('watch') : null);
  switch (method) {
    case 'GET': case 'HEAD': info.verb = watch ? 'watch' : info.name ? 'get' : 'list'; break;
    case 'POST': info.verb = 'create'; break;
    case 'PUT': info.verb = 'update'; break;
    case 'PATCH': info.verb = 'patch'; break;
    case 'DELETE': info.verb = info.name ? 'delete' : 'deletecollection'; break;
    default: info.verb = httpVerb(method);
  }
  if (connectCreates.has(info.subresource) && info.resource === 'pods') info.verb = 'create';
  if (query.includes('Selector=')) {
    const q = new URLSearchParams(query);
    const fs = q.get('fieldSelector');
    const ls = q.get('labelSelector');
    if (fs) info.fieldSelector = fs;
    if (ls) info.labelSelector = ls;
    // A list with a metadata.name field selector is authorized as a get of that name (kube does the same).
    const m = fs && (info.verb === 'list' || info.verb === 'watch') && !info.name ? /^metadata\.name==?([^,]+)$/.exec(fs) : null;
    if (m) info.name = m[1];
  }
  return info;
}

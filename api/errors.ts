// The one catalogue of API errors. Every failure the API server returns is a
// metav1.Status built here, with the code and reason kube-apiserver uses
// (k8s.io/apimachinery/pkg/api/errors); clients turn Status bodies back into
// StatusError and test reasons with the is* helpers.

import type { Status, StatusCause } from './types.js';

export class StatusError extends Error {
  constructor(readonly status: Status) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
    this.name = 'StatusError';
  }
  get code(): number {
    return this.status.code;
  }
  get reason(): string {
    return this.status.reason ?? '';
  }
}

interface Qualified { group?: string; kind?: string; name?: string; }

function failure(code: number, reason: string, message: string, details?: Status['details']): StatusError {
  const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details) status.details = details;
  return new StatusError(status);
}

/** "pods" or "deployments.apps", as kube-apiserver qualifies resources in messages. */
export function qualifiedResource(resource: string, group?: string): string {
  return group ? `${resource}.${group}` : resource;
}

const httpReasons: Record<number, string> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 406: 'NotAcceptable',
  409: 'Conflict', 410: 'Gone', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType', 422: 'Invalid', 429: 'TooManyRequests',
  500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
};

export const errors = {
  badRequest: (message: string) => failure(400, 'BadRequest', message),
  unauthorized: (message = 'Unauthorized') => failure(401, 'Unauthorized', message),
  forbidden: (message: string) => failure(403, 'Forbidden', message),
  /** apierrors.NewForbidden: "<resource> \"<name>\" is forbidden: <why>", or "forbidden: <why>" outside any resource. */
  forbiddenResource: (resource: string, group: string, name: string, why: string) => {
    const what = resource ? qualifiedResource(resource, group) : '';
    const message = !what ? `forbidden: ${why}` : name ? `${what} "${name}" is forbidden: ${why}` : `${what} is forbidden: ${why}`;
    return failure(403, 'Forbidden', message, { name: name || undefined, group: group || undefined, kind: resource || undefined });
  },
  notFound: (resource: string, name: string, group = '') =>
    failure(404, 'NotFound', `${qualifiedResource(resource, group)} "${name}" not found`, { name, group: group || undefined, kind: resource }),
  /** A path that names no resource Skiff serves. */
  notFoundPath: (message = 'the server could not find the requested resource') =>
    failure(404, 'NotFound', message, {}),
  methodNotSupported: (resource: string, verb: string) =>
    failure(405, 'MethodNotAllowed', `${verb} is not supported on resources of kind "${resource}"`),
  notAcceptable: (message: string) => failure(406, 'NotAcceptable', message),
  alreadyExists: (resource: string, name: string, group = '') =>
    failure(409, 'AlreadyExists', `${qualifiedResource(resource, group)} "${name}" already exists`, { name, group: group || undefined, kind: resource }),
  conflict: (resource: string, name: string, why: string, group = '') =>
    failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(resource, group)} "${name}": ${why}`, { name, group: group || undefined, kind: resource }),
  /** Server-side apply conflicts carry one cause per contested field. */
  applyConflict: (message: string, causes: StatusCause[]) => failure(409, 'Conflict', message, { causes }),
  gone: (message: string) => failure(410, 'Gone', message),
  /** Watch and list from a compacted resourceVersion: "410 Expired". */
  expired: (message: string) => failure(410, 'Expired', message),
  requestEntityTooLarge: (message = 'Request entity too large: limit is 3145728') => failure(413, 'RequestEntityTooLarge', message),
  unsupportedMediaType: (contentType: string) =>
    failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got ${contentType || 'none'})`),
  /** 422 with one cause per invalid field, message formatted as kube-apiserver does. */
  invalid: (kind: string, name: string, causes: StatusCause[], group = '') => {
    const list = causes.map((c) => `${c.field}: ${c.message}`);
    const msg = `${kind}${group ? '.' + group : ''} "${name}" is invalid: ${list.length === 1 ? list[0] : '[' + list.join(', ') + ']'}`;
    return failure(422, 'Invalid', msg, { name, group: group || undefined, kind, causes });
  },
  tooManyRequests: (message: string, retryAfterSeconds = 1) => failure(429, 'TooManyRequests', message, { retryAfterSeconds }),
  internal: (message: string) => failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }),
  serviceUnavailable: (message: string) => failure(503, 'ServiceUnavailable', message),
  timeout: (message: string) => failure(504, 'Timeout', message),
  /** storage.NewTooLargeResourceVersionError: a watch from a revision the server has not reached within its wait. */
  tooLargeResourceVersion: (minimum: number, current: number) => failure(504, 'Timeout', `Timeout: Too large resource version: ${minimum}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  }),
  /** A non-Status error response turned into a Status by its HTTP code, as client-go's NewGenericServerResponse does. */
  fromHTTP: (code: number, message: string) => failure(code, httpReasons[code] ?? 'Unknown', message || `the server responded with the status code ${code} but did not return more information`),
};

/** A StatusCause for field validation, reason as upstream field.ErrorType names it. */
export function fieldCause(field: string, reason: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueDuplicate' | 'FieldValueNotSupported' | 'FieldValueForbidden' | 'FieldValueTooLong' | 'FieldValueTooMany' | 'FieldValueTypeInvalid' | 'FieldValueNotFound', message: string): StatusCause {
  return { reason, message, field };
}

export function isStatusError(e: unknown): e is StatusError {
  return e instanceof StatusError;
}
const reasonIs = (reason: string) => (e: unknown) => isStatusError(e) && e.reason === reason;
export const isNotFound = reasonIs('NotFound');
export const isAlreadyExists = reasonIs('AlreadyExists');
export const isConflict = reasonIs('Conflict');
export const isInvalid = reasonIs('Invalid');
export const isExpired = (e: unknown) => isStatusError(e) && e.code === 410;

export function successStatus(details?: Status['details']): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 };
  if (details) s.details = details;
  return s;
}

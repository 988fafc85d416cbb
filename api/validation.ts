// Validation of every object the API server stores: the kind's JSON Schema
// (api/schemas, checked with ajv) plus the rules a schema cannot say (DNS-1123
// names, label syntax, unique container names, selector matching template
// labels, immutable fields on update). Failures are StatusCauses whose field
// is the path Kubernetes reports ("spec.template.spec.containers[0].name").

import type { KubeObject, StatusCause } from './types.js';
import type { ResourceInfo } from './resources.js';

export interface ValidateOptions {
  /** The stored object on update, for immutability rules. */
  old?: KubeObject;
  /** The subresource being written ('status', 'scale', ...), if any. */
  subresource?: string;
}

/** All problems with obj; empty when valid. */
export function validateObject(resource: ResourceInfo, obj: KubeObject, opts: ValidateOptions = {}): StatusCause[] {
  throw new Error('TODO: implemented by the api/ helper');
}

/**
 * Remove fields the kind's schema does not know, returning their paths
 * (".spec.foo"). The server drops them (fieldValidation Ignore/Warn) or turns
 * them into a 400 BadRequest (Strict) with the message kube-apiserver uses:
 * 'strict decoding error: unknown field "spec.foo"'.
 */
export function pruneUnknownFields(resource: ResourceInfo, obj: KubeObject): string[] {
  throw new Error('TODO: implemented by the api/ helper');
}

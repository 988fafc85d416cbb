// Patch application for PATCH requests, by content type:
// application/json-patch+json (RFC 6902), application/merge-patch+json
// (RFC 7386), application/strategic-merge-patch+json (Kubernetes' strategic
// merge patch with merge keys and directives) and application/apply-patch+yaml
// (server-side apply with managedFields).

import type { KubeObject } from '../../api/types.js';
import type { ResourceInfo } from '../../api/resources.js';

export const patchContentTypes = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
] as const;
export type PatchContentType = (typeof patchContentTypes)[number];

export interface PatchContext {
  resource: ResourceInfo;
  fieldManager?: string;
  /** Server-side apply: take ownership of conflicting fields. */
  force?: boolean;
  subresource?: string;
}

/**
 * The patched object. `current` is undefined only for apply patches to a
 * missing object (server-side apply creates). `patch` is the raw body text.
 * Throws StatusError: 400 for malformed patches, 422 for patches that cannot
 * apply (a json-patch test that fails), 409 for apply conflicts.
 */
export function applyPatch(contentType: PatchContentType, current: KubeObject | undefined, patch: string, ctx: PatchContext): KubeObject {
  throw new Error('TODO: implemented by the patch helper');
}

/**
 * Record a non-apply write (create, update, patch) in metadata.managedFields
 * as an "Update" operation by the manager, as kube-apiserver does.
 */
export function recordUpdate(resource: ResourceInfo, oldObj: KubeObject | undefined, newObj: KubeObject, manager: string, subresource?: string): void {
  throw new Error('TODO: implemented by the patch helper');
}

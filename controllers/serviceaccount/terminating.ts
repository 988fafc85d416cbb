// apierrors.HasStatusCause(err, NamespaceTerminatingCause): a create refused
// because its namespace is being deleted. Skiff's store words that refusal as
// kube does but carries no cause, so the message is what identifies it.

import { isStatusError } from '../../api/errors.js';

export function isNamespaceTerminating(e: unknown): boolean {
  return isStatusError(e) && e.code === 403 && /unable to create new content in namespace .* because it is being terminated/.test(e.message);
}

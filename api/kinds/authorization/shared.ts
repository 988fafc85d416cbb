// What the authorization.k8s.io review kinds share (pkg/apis/authorization/validation).
// No default export: the registry skips this module.

import type { KubeObject, StatusCause } from '../../types.js';
import { fieldCause } from '../../errors.js';
import { field } from '../../schemas/rules.js';

/** ValidateSubjectAccessReviewSpec and its Self form (which names no user). */
export function validateAccessReviewSpec(obj: KubeObject, self: boolean): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = obj.spec ?? {};
  if (spec.resourceAttributes && spec.nonResourceAttributes) {
    out.push(fieldCause('spec.nonResourceAttributes', 'FieldValueInvalid', 'Invalid value: "null": cannot be specified in combination with resourceAttributes'));
  }
  if (!spec.resourceAttributes && !spec.nonResourceAttributes) {
    out.push(fieldCause('spec.resourceAttributes', 'FieldValueInvalid', 'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified'));
  }
  if (!self && !spec.user && !spec.groups?.length) out.push(field.invalid('spec.user', spec.user ?? '', 'at least one of user or group must be specified'));
  return out;
}

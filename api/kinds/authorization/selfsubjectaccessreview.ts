// authorization.k8s.io/v1 SelfSubjectAccessReview: create-only, nothing stored; the user is the caller, so the spec names none.

import { defineKind, entry } from '../../kind.js';
import { validateAccessReviewSpec } from './shared.js';

export default defineKind({
  resource: entry({ group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectAccessReview', plural: 'selfsubjectaccessreviews', singular: 'selfsubjectaccessreview', namespaced: false, verbs: ['create'], ephemeral: true }),
  validate: (obj) => validateAccessReviewSpec(obj, true),
});

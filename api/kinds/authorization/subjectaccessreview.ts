// authorization.k8s.io/v1 SubjectAccessReview: create-only, nothing stored (apiserver/handlers/ephemeral.ts answers it).

import { defineKind, entry } from '../../kind.js';
import { validateAccessReviewSpec } from './shared.js';

export default defineKind({
  resource: entry({ group: 'authorization.k8s.io', version: 'v1', kind: 'SubjectAccessReview', plural: 'subjectaccessreviews', singular: 'subjectaccessreview', namespaced: false, verbs: ['create'], ephemeral: true }),
  validate: (obj) => validateAccessReviewSpec(obj, false),
});

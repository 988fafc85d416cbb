// authorization.k8s.io/v1 LocalSubjectAccessReview: create-only, nothing stored (apiserver/handlers/ephemeral.ts answers it).

import { defineKind, entry } from '../../kind.js';
import { validateAccessReviewSpec } from './shared.js';

export default defineKind({
  resource: entry({ group: 'authorization.k8s.io', version: 'v1', kind: 'LocalSubjectAccessReview', plural: 'localsubjectaccessreviews', singular: 'localsubjectaccessreview', namespaced: true, verbs: ['create'], ephemeral: true }),
  validate: (obj) => validateAccessReviewSpec(obj, false),
});

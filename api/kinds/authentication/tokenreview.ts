// authentication.k8s.io/v1 TokenReview: create-only, nothing stored (apiserver/handlers/ephemeral.ts answers it).

import { defineKind, entry } from '../../kind.js';

export default defineKind({
  resource: entry({ group: 'authentication.k8s.io', version: 'v1', kind: 'TokenReview', plural: 'tokenreviews', singular: 'tokenreview', namespaced: false, verbs: ['create'], ephemeral: true }),
});

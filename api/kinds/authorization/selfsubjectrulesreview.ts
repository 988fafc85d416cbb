// authorization.k8s.io/v1 SelfSubjectRulesReview: create-only, nothing stored (apiserver/handlers/ephemeral.ts answers it).

import { defineKind, entry } from '../../kind.js';

export default defineKind({
  resource: entry({ group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectRulesReview', plural: 'selfsubjectrulesreviews', singular: 'selfsubjectrulesreview', namespaced: false, verbs: ['create'], ephemeral: true }),
});

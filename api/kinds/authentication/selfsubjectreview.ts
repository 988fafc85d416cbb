// authentication.k8s.io/v1 SelfSubjectReview: create-only, nothing stored; answers who the caller is (kubectl auth whoami).

import { defineKind, entry } from '../../kind.js';

export default defineKind({
  resource: entry({ group: 'authentication.k8s.io', version: 'v1', kind: 'SelfSubjectReview', plural: 'selfsubjectreviews', singular: 'selfsubjectreview', namespaced: false, verbs: ['create'], ephemeral: true }),
});

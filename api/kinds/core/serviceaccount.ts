// core/v1 ServiceAccount (pkg/registry/core/serviceaccount, printServiceAccount).

import { defineKind, entry } from '../../kind.js';
import { age, ageCol, nameCol } from '../../printing.js';

export default defineKind({
  resource: entry({ group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', singular: 'serviceaccount', shortNames: ['sa'], namespaced: true,
    subresources: ['token'] }),

  // serviceaccount's cleanSecretReferences: a ServiceAccount names its secrets, nothing more.
  strategy: {
    prepareForCreate: (sa) => {
      if (Array.isArray(sa.secrets)) sa.secrets = sa.secrets.map((r: { name?: string } | null) => ({ name: r?.name }));
    },
  },

  printer: {
    columns: [nameCol,
      ['Secrets', 'string', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a "kubernetes.io/enforce-mountable-secrets" annotation set to "true". The "kubernetes.io/enforce-mountable-secrets" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret'],
      ageCol],
    cells: (sa, since) => [sa.metadata.name, (sa.secrets ?? []).length, age(sa, since)],
  },
});

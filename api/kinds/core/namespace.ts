// core/v1 Namespace (pkg/registry/core/namespace: the Terminating phase and the kubernetes finalizer; printNamespace).

import { defineKind, entry, fieldString as str } from '../../kind.js';
import { objectAt, setIfUnset } from '../../defaults.js';
import { isDNS1123Label } from '../../schemas/rules.js';
import { age, ageCol, nameCol } from '../../printing.js';

export default defineKind({
  resource: entry({ group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', singular: 'namespace', shortNames: ['ns'], namespaced: false,
    subresources: ['status', 'finalize'], hasStatus: true, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] }),
  zeroValue: () => ({ metadata: {}, spec: {}, status: {} }),

  // ValidateNamespace: a namespace's name is a DNS-1123 label.
  nameRule: isDNS1123Label,

  defaults(o) {
    const status = objectAt(o, 'status');
    if (status) setIfUnset(status, 'phase', 'Active');
  },

  strategy: {
    returnDeletedObject: true,
    prepareForCreate: (ns) => {
      ns.status = { phase: 'Active' };
      ns.spec = { ...(ns.spec ?? {}), finalizers: ['kubernetes'] };
    },
    // The namespace controller empties a Terminating namespace, then removes spec.finalizers.
    markForDeletion: (ns) => {
      ns.status = { ...(ns.status ?? {}), phase: 'Terminating' };
      return true;
    },
    awaitsOthers: (ns) => !!ns.spec?.finalizers?.length,
  },

  printer: {
    columns: [nameCol, ['Status', 'string', 'The status of the namespace'], ageCol],
    cells: (n, since) => [n.metadata.name, n.status?.phase ?? '', age(n, since)],
  },

  selectableFields: (o) => ({ 'status.phase': str(o.status?.phase) }),
});

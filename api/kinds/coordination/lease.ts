// coordination.k8s.io/v1 Lease (pkg/registry/coordination/lease, ValidateLeaseSpec, printLease).

import { defineKind, entry } from '../../kind.js';
import { objectAt } from '../../defaults.js';
import { field } from '../../schemas/rules.js';
import { age, ageCol, nameCol } from '../../printing.js';

export default defineKind({
  resource: entry({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', singular: 'lease', namespaced: true }),
  zeroValue: () => ({ metadata: {}, spec: {} }),

  // No SetDefaults_Lease; the spec only needs to exist.
  defaults: (o) => { objectAt(o, 'spec'); },

  validate(obj) {
    const out = [];
    const d = obj.spec?.leaseDurationSeconds;
    if (typeof d === 'number' && d <= 0) out.push(field.invalid('spec.leaseDurationSeconds', d, 'must be greater than 0'));
    const t = obj.spec?.leaseTransitions;
    if (typeof t === 'number' && t < 0) out.push(field.invalid('spec.leaseTransitions', t, 'must be greater than or equal to 0'));
    return out;
  },

  // leaseStrategy.AllowCreateOnUpdate: leader election writes with PUT.
  strategy: { allowCreateOnUpdate: true },

  printer: {
    columns: [nameCol, ['Holder', 'string', 'The holder of the lease'], ageCol],
    cells: (l, since) => [l.metadata.name, l.spec?.holderIdentity ?? '', age(l, since)],
  },
});

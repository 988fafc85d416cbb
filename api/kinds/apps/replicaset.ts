// apps/v1 ReplicaSet (pkg/registry/apps/replicaset, ValidateReplicaSet, SetDefaults_ReplicaSet, printReplicaSet).

import { defineKind, entry } from '../../kind.js';
import { defaultTemplate, objectAt, setIfUnset } from '../../defaults.js';
import { validateSelectorAndTemplate } from '../../schemas/rules.js';
import { normalizePodTemplate } from '../../normalize.js';
import { age, ageCol, containerCells, containerCols, nameCol } from '../../printing.js';

export default defineKind({
  resource: entry({ group: 'apps', version: 'v1', kind: 'ReplicaSet', plural: 'replicasets', singular: 'replicaset', shortNames: ['rs'], namespaced: true,
    subresources: ['status', 'scale'], hasStatus: true, categories: ['all'] }),
  zeroValue: () => ({ metadata: {}, spec: { selector: null, template: { metadata: {}, spec: { containers: null } } }, status: {} }),

  defaults(o) {
    const spec = objectAt(o, 'spec');
    if (!spec) return;
    setIfUnset(spec, 'replicas', 1);
    defaultTemplate(spec);
  },

  // A status or scale write keeps the stored spec, so the selector's immutability is the main resource's rule.
  validate: (obj, { old, subresource }) => validateSelectorAndTemplate(obj, subresource ? undefined : old),

  // ReplicaSetStatus.replicas is not omitempty: an empty status still says 0.
  strategy: { tracksGeneration: true, prepareForCreate: (rs) => { rs.status = { replicas: 0 }; } },

  normalize: (rs) => normalizePodTemplate(rs.spec?.template),

  printer: {
    columns: [nameCol,
      ['Desired', 'integer', 'Replicas is the number of desired replicas.'],
      ['Current', 'integer', 'Replicas is the most recently observed number of replicas.'],
      ['Ready', 'integer', 'The number of ready replicas for this replica set.'],
      ageCol, ...containerCols],
    cells: (r, since) => [r.metadata.name, r.spec?.replicas ?? 0, r.status?.replicas ?? 0, r.status?.readyReplicas ?? 0, age(r, since), ...containerCells(r)],
  },

  selectableFields: (o) => ({ 'status.replicas': String(o.status?.replicas ?? 0) }),
});

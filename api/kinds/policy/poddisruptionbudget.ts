// policy/v1 PodDisruptionBudget (pkg/registry/policy/poddisruptionbudget,
// pkg/apis/policy/validation): how many pods of a set voluntary disruptions
// (evictions, `kubectl drain`) may take down at once. The disruption
// controller keeps status; the eviction subresource reads and spends it.

import { defineKind, entry } from '../../kind.js';
import type { StatusCause } from '../../types.js';
import { ageCol, nameCol } from '../../printing.js';
import { selectorFromLabelSelector } from '../../labels.js';
import { field, validateIntOrPercent, validateLabels } from '../../schemas/rules.js';

export const unhealthyPodEvictionPolicies = ['AlwaysAllow', 'IfHealthyBudget'];

const present = (v: unknown) => v !== undefined && v !== null;

export default defineKind({
  resource: entry({ group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', singular: 'poddisruptionbudget',
    shortNames: ['pdb'], namespaced: true, subresources: ['status'], hasStatus: true }),

  // ValidatePodDisruptionBudget(Spec) and ValidatePodDisruptionBudgetStatusUpdate.
  validate(pdb, { subresource }) {
    const out: StatusCause[] = [];
    const spec = pdb.spec ?? {};
    if (present(spec.minAvailable) && present(spec.maxUnavailable)) out.push(field.invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set'));
    out.push(...validateIntOrPercent('spec.minAvailable', spec.minAvailable ?? undefined));
    out.push(...validateIntOrPercent('spec.maxUnavailable', spec.maxUnavailable ?? undefined));
    if (spec.selector) {
      out.push(...validateLabels(spec.selector.matchLabels, 'spec.selector.matchLabels'));
      try {
        selectorFromLabelSelector(spec.selector);
      } catch (e) {
        out.push(field.invalid('spec.selector', spec.selector, (e as Error).message));
      }
    }
    if (present(spec.unhealthyPodEvictionPolicy) && !unhealthyPodEvictionPolicies.includes(spec.unhealthyPodEvictionPolicy)) {
      out.push(field.notSupported('spec.unhealthyPodEvictionPolicy', spec.unhealthyPodEvictionPolicy, unhealthyPodEvictionPolicies));
    }
    if (subresource === 'status') {
      for (const k of ['disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods']) {
        const v = pdb.status?.[k];
        if (typeof v === 'number' && v < 0) out.push(field.invalid(`status.${k}`, v, 'must be greater than or equal to 0'));
      }
    }
    return out;
  },

  // podDisruptionBudgetStrategy: generation follows the spec; a new budget allows nothing until the controller says so.
  strategy: {
    tracksGeneration: true,
    prepareForCreate: (pdb) => { pdb.status = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 }; },
  },

  // printPodDisruptionBudget.
  printer: {
    columns: [nameCol,
      ['Min Available', 'string', 'The minimum number of pods that must be available.'],
      ['Max Unavailable', 'string', 'The maximum number of pods that may be unavailable.'],
      ['Allowed Disruptions', 'integer', 'Calculated number of pods that may be disrupted at this time.'],
      ageCol],
    cells: (pdb, since) => [pdb.metadata.name,
      present(pdb.spec?.minAvailable) ? String(pdb.spec.minAvailable) : 'N/A',
      present(pdb.spec?.maxUnavailable) ? String(pdb.spec.maxUnavailable) : 'N/A',
      pdb.status?.disruptionsAllowed ?? 0, since(pdb.metadata.creationTimestamp)],
  },
});

// scheduling.k8s.io/v1 PriorityClass: a name for a pod priority
// (pkg/registry/scheduling/priorityclass, pkg/apis/scheduling/validation,
// SetDefaults_PriorityClass, printPriorityClass). The two system classes are
// created by the API server at start (systemPriorityClasses); pods get their
// priority from the Priority admission plugin (apiserver/admission/priority.ts).

import { isDeepStrictEqual } from 'node:util';
import type { KubeObject, StatusCause } from '../../types.js';
import { defineKind, entry } from '../../kind.js';
import { ageCol, nameCol } from '../../printing.js';
import { field } from '../../schemas/rules.js';

/** scheduling.HighestUserDefinablePriority and SystemCriticalPriority. */
export const highestUserDefinablePriority = 1_000_000_000;
export const systemCriticalPriority = 2 * highestUserDefinablePriority;
export const systemPriorityClassPrefix = 'system-';

/** scheduling.SystemPriorityClasses(): what kube-apiserver's post-start hook creates. */
export const systemPriorityClasses: KubeObject[] = [
  { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'system-node-critical' }, value: systemCriticalPriority + 1000,
    description: 'Used for system critical pods that must not be moved from their current node.' },
  { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'system-cluster-critical' }, value: systemCriticalPriority,
    description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.' },
];

/** scheduling.IsKnownSystemPriorityClass: undefined when it is one, else why not. */
function knownSystemClassError(name: string, value: unknown, globalDefault: unknown): string | undefined {
  const spc = systemPriorityClasses.find((c) => c.metadata.name === name);
  if (!spc) return `${name} is not a known system priority class`;
  if (value !== spc.value) return `value of ${name} PriorityClass must be ${spc.value}`;
  if ((globalDefault ?? false) !== false) return `globalDefault of ${name} PriorityClass must be false`;
  return undefined;
}

export const preemptionPolicies = ['Never', 'PreemptLowerPriority'];

function validatePriorityClass(pc: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const name = pc.metadata?.name ?? '';
  if (name.startsWith(systemPriorityClassPrefix)) {
    const why = knownSystemClassError(name, pc.value, pc.globalDefault);
    if (why) out.push(field.forbidden('metadata.name', `priority class names with '${systemPriorityClassPrefix}' prefix are reserved for system use only. error: ${why}`));
  } else if (typeof pc.value === 'number' && pc.value > highestUserDefinablePriority) {
    out.push(field.forbidden('value', `maximum allowed value of a user defined priority is ${highestUserDefinablePriority}`));
  }
  return out;
}

export default defineKind({
  resource: entry({ group: 'scheduling.k8s.io', version: 'v1', kind: 'PriorityClass', plural: 'priorityclasses', singular: 'priorityclass', shortNames: ['pc'], namespaced: false }),

  // SetDefaults_PriorityClass.
  defaults(pc) {
    if (pc.preemptionPolicy === undefined || pc.preemptionPolicy === null) pc.preemptionPolicy = 'PreemptLowerPriority';
  },

  validate(pc, { old }) {
    const out = validatePriorityClass(pc);
    if (old) {
      // ValidatePriorityClassUpdate.
      if (pc.value !== old.value) out.push(field.forbidden('value', 'may not be changed in an update.'));
      if (!isDeepStrictEqual(pc.preemptionPolicy, old.preemptionPolicy)) out.push(field.invalid('preemptionPolicy', pc.preemptionPolicy, 'field is immutable'));
    }
    return out;
  },

  // printPriorityClass.
  printer: {
    columns: [nameCol,
      ['Value', 'integer', "value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec."],
      ['Global-Default', 'boolean', 'globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`. However, if more than one PriorityClasses exists with their `globalDefault` field set to true, the smallest value of such global default PriorityClasses will be used as the default priority.'],
      ageCol,
      // kube's column is PreemptionPolicy (kubectl shows PREEMPTIONPOLICY).
      ['PreemptionPolicy', 'string', 'preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.'],
    ],
    cells: (pc, since) => [pc.metadata.name, pc.value ?? 0, pc.globalDefault === true, since(pc.metadata.creationTimestamp), pc.preemptionPolicy ?? ''],
  },
});

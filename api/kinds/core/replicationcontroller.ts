// core/v1 ReplicationController: the ReplicaSet's predecessor with an
// equality-based selector (a plain label map), still served and reconciled
// by kube (pkg/registry/core/replicationcontroller, pkg/apis/core/validation
// ValidateReplicationController, SetDefaults_ReplicationController).

import { defineKind, entry, fieldString } from '../../kind.js';
import { defaultPodSpec } from '../../defaults.js';
import { ageCol, containerCols, formatLabels, nameCol } from '../../printing.js';
import { field, validateAnnotations, validateLabels, validatePodSpec } from '../../schemas/rules.js';
import type { KubeObject, StatusCause } from '../../types.js';
import { selectorFromSet } from '../../labels.js';

const isObject = (x: unknown): x is Record<string, any> => typeof x === 'object' && x !== null && !Array.isArray(x);

export default defineKind({
  resource: entry({ group: '', version: 'v1', kind: 'ReplicationController', plural: 'replicationcontrollers', singular: 'replicationcontroller', shortNames: ['rc'],
    namespaced: true, subresources: ['status', 'scale'], hasStatus: true, categories: ['all'] }),

  // The selector and the object's labels come from the template's labels when unset; one replica by default.
  defaults(rc) {
    if (!isObject(rc.spec)) {
      if (rc.spec !== undefined && rc.spec !== null) return;
      rc.spec = {};
    }
    const spec = rc.spec;
    const labels = isObject(spec.template) && isObject(spec.template.metadata) && isObject(spec.template.metadata.labels) ? spec.template.metadata.labels : undefined;
    if (labels) {
      if (!isObject(spec.selector) || !Object.keys(spec.selector).length) spec.selector = { ...labels };
      if (isObject(rc.metadata) && (!isObject(rc.metadata.labels) || !Object.keys(rc.metadata.labels).length)) rc.metadata.labels = { ...labels };
    }
    if (spec.replicas === undefined || spec.replicas === null) spec.replicas = 1;
    if (isObject(spec.template)) defaultPodSpec(spec.template.spec, { admission: false });
  },

  validate(rc, { subresource }) {
    // Status writes keep the stored spec: its rules were checked when it was written.
    if (subresource) return [];
    return validateRCSpec(rc);
  },

  // /scale reads and writes spec.replicas and status.replicas; the selector is a plain map, not the
  // metav1.LabelSelector the generic Scale reads from spec.selector: Scale says it as SelectorFromSet does.
  scale: {
    specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas',
    selector: (rc) => (isObject(rc.spec?.selector) ? selectorFromSet(rc.spec.selector).toString() : ''),
  },

  strategy: {
    tracksGeneration: true,
    // ReplicationControllerStatus.replicas is not omitempty: a fresh status still says 0.
    prepareForCreate: (rc) => { rc.status = { replicas: 0 }; },
  },

  // printReplicationController.
  printer: {
    columns: [nameCol,
      ['Desired', 'integer', 'Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller'],
      ['Current', 'integer', 'Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller'],
      ['Ready', 'integer', 'The number of ready replicas for this replication controller.'],
      ageCol,
      ...containerCols],
    cells: (rc, since) => {
      const cs: { name: string; image?: string }[] = rc.spec?.template?.spec?.containers ?? [];
      return [rc.metadata.name, rc.spec?.replicas ?? 0, rc.status?.replicas ?? 0, rc.status?.readyReplicas ?? 0, since(rc.metadata.creationTimestamp),
        cs.map((c) => c.name).join(','), cs.map((c) => c.image ?? '').join(','), formatLabels(rc.spec?.selector)];
    },
  },

  // ControllerToSelectableFields.
  selectableFields: (rc) => ({ 'status.replicas': fieldString(rc.status?.replicas ?? 0) }),
});

/** ValidateReplicationControllerSpec with ValidatePodTemplateSpecForRC. */
function validateRCSpec(rc: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = rc.spec ?? {};
  if (typeof spec.minReadySeconds === 'number' && spec.minReadySeconds < 0) out.push(field.invalid('spec.minReadySeconds', spec.minReadySeconds, 'must be greater than or equal to 0'));
  const selector: Record<string, string> = isObject(spec.selector) ? spec.selector : {};
  if (!Object.keys(selector).length) out.push(field.required('spec.selector'));
  else out.push(...validateLabels(selector, 'spec.selector'));
  if (typeof spec.replicas === 'number' && spec.replicas < 0) out.push(field.invalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
  const t = spec.template;
  if (!isObject(t)) {
    out.push(field.required('spec.template'));
    return out;
  }
  const labels: Record<string, string> = t.metadata?.labels ?? {};
  if (Object.keys(selector).length && !selectorFromSet(selector).matches(labels)) {
    out.push(field.invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
  }
  out.push(...validateLabels(t.metadata?.labels, 'spec.template.metadata.labels'));
  out.push(...validateAnnotations(t.metadata?.annotations, 'spec.template.metadata.annotations'));
  out.push(...validatePodSpec(t.spec, 'spec.template.spec'));
  const rp = t.spec?.restartPolicy;
  if (rp !== 'Always') out.push(field.notSupported('spec.template.spec.restartPolicy', rp ?? '', ['Always']));
  if (t.spec?.activeDeadlineSeconds !== undefined && t.spec?.activeDeadlineSeconds !== null) {
    out.push(field.forbidden('spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in ReplicationController is not Supported'));
  }
  return out;
}

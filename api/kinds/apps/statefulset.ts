// apps/v1 StatefulSet: pods with stable names, hostnames and volumes
// (pkg/registry/apps/statefulset, pkg/apis/apps/validation,
// SetDefaults_StatefulSet, printStatefulSet).

import { isDeepStrictEqual } from 'node:util';
import { defineKind, entry } from '../../kind.js';
import type { StatusCause } from '../../types.js';
import { defaultPodSpec } from '../../defaults.js';
import { age, ageCol, containerCells, containerCols, nameCol } from '../../printing.js';
import { field, isDNS1123Label, validateAnnotations, validateLabels } from '../../schemas/rules.js';
import { selectorFromLabelSelector } from '../../labels.js';
import { intOrPercentValue, isObj, nonNegative, notMoreThan100Percent, objectAt, positiveIntOrPercent, setIfUnset } from './workload.js';

const plain = (v: unknown) => JSON.parse(JSON.stringify(v ?? null));

function retentionPolicy(v: unknown, path: string): StatusCause[] {
  return v === 'Retain' || v === 'Delete' ? [] : [field.notSupported(path, v ?? '', ['Retain', 'Delete'])];
}

/** ValidateStatefulSetSpec. */
function validateSpec(spec: Record<string, any>): StatusCause[] {
  const out: StatusCause[] = [];
  const pmp = spec.podManagementPolicy;
  if (!pmp) out.push(field.required('spec.podManagementPolicy'));
  else if (pmp !== 'OrderedReady' && pmp !== 'Parallel') out.push(field.invalid('spec.podManagementPolicy', pmp, "must be 'OrderedReady' or 'Parallel'"));

  const st = isObj(spec.updateStrategy) ? spec.updateStrategy : {};
  if (!st.type) out.push(field.required('spec.updateStrategy'));
  else if (st.type === 'OnDelete') {
    if (st.rollingUpdate) out.push(field.invalid('spec.updateStrategy.rollingUpdate', st.rollingUpdate, "only allowed for updateStrategy 'RollingUpdate'"));
  } else if (st.type === 'RollingUpdate') {
    const ru = st.rollingUpdate;
    if (isObj(ru)) {
      const p = 'spec.updateStrategy.rollingUpdate';
      out.push(...nonNegative(ru.partition, `${p}.partition`));
      if (ru.maxUnavailable !== undefined && ru.maxUnavailable !== null) {
        out.push(...positiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`));
        if (intOrPercentValue(ru.maxUnavailable) === 0) out.push(field.invalid(`${p}.maxUnavailable`, ru.maxUnavailable, 'cannot be 0'));
        out.push(...notMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`));
      }
    }
  } else out.push(field.invalid('spec.updateStrategy', st, "must be 'RollingUpdate' or 'OnDelete'"));

  const rp = spec.persistentVolumeClaimRetentionPolicy;
  if (isObj(rp)) {
    out.push(...retentionPolicy(rp.whenDeleted, 'spec.persistentVolumeClaimRetentionPolicy.whenDeleted'));
    out.push(...retentionPolicy(rp.whenScaled, 'spec.persistentVolumeClaimRetentionPolicy.whenScaled'));
  }
  out.push(...nonNegative(spec.replicas, 'spec.replicas'), ...nonNegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  if (isObj(spec.ordinals)) out.push(...nonNegative(spec.ordinals.start, 'spec.ordinals.start'));

  const sel = spec.selector;
  let parsed;
  if (!isObj(sel)) out.push(field.required('spec.selector'));
  else {
    out.push(...validateLabels(sel.matchLabels, 'spec.selector.matchLabels'));
    if (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length) out.push(field.invalid('spec.selector', sel, 'empty selector is invalid for statefulset'));
    try {
      parsed = selectorFromLabelSelector(sel);
    } catch (e) {
      out.push(field.invalid('spec.selector', sel, (e as Error).message));
    }
  }
  // ValidatePodTemplateSpecForStatefulSet: labels and annotations only; kube leaves the pod spec
  // unchecked here because volumeMounts may name volumeClaimTemplates.
  const template = isObj(spec.template) ? spec.template : undefined;
  if (!template) out.push(field.required('spec.template'));
  else {
    const labels = template.metadata?.labels ?? {};
    if (parsed && !parsed.empty() && !parsed.matches(labels)) out.push(field.invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
    out.push(...validateLabels(template.metadata?.labels, 'spec.template.labels'));
    out.push(...validateAnnotations(template.metadata?.annotations, 'spec.template.annotations'));
  }
  const restart = template?.spec?.restartPolicy;
  if (restart !== 'Always') out.push(field.notSupported('spec.template.spec.restartPolicy', restart ?? '', ['Always']));
  if (template?.spec?.activeDeadlineSeconds !== undefined && template?.spec?.activeDeadlineSeconds !== null) {
    out.push(field.forbidden('spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in StatefulSet is not Supported'));
  }
  return out;
}

/** The spec fields ValidateStatefulSetUpdate lets change. */
const mutable = ['replicas', 'template', 'updateStrategy', 'minReadySeconds', 'ordinals', 'persistentVolumeClaimRetentionPolicy'];

export default defineKind({
  resource: entry({ group: 'apps', version: 'v1', kind: 'StatefulSet', plural: 'statefulsets', singular: 'statefulset', shortNames: ['sts'], namespaced: true,
    subresources: ['status', 'scale'], hasStatus: true, categories: ['all'] }),

  // ValidateStatefulSetName: a DNS label, as it names pods and hostnames.
  nameRule: isDNS1123Label,

  // SetDefaults_StatefulSet (StatefulSetAutoDeletePVC on, as in 1.32), and the PVC defaults of each claim template.
  defaults(sts) {
    const spec = objectAt(sts, 'spec');
    if (!spec) return;
    setIfUnset(spec, 'podManagementPolicy', 'OrderedReady');
    const st = objectAt(spec, 'updateStrategy');
    if (st) {
      setIfUnset(st, 'type', 'RollingUpdate');
      if (st.type === 'RollingUpdate') {
        const ru = objectAt(st, 'rollingUpdate');
        if (ru) setIfUnset(ru, 'partition', 0);
      }
    }
    const rp = objectAt(spec, 'persistentVolumeClaimRetentionPolicy');
    if (rp) {
      setIfUnset(rp, 'whenDeleted', 'Retain');
      setIfUnset(rp, 'whenScaled', 'Retain');
    }
    setIfUnset(spec, 'replicas', 1);
    setIfUnset(spec, 'revisionHistoryLimit', 10);
    if (isObj(spec.template)) defaultPodSpec(spec.template.spec, { admission: false });
    for (const pvc of Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : []) {
      if (!isObj(pvc)) continue;
      const ps = objectAt(pvc, 'spec');
      if (ps) setIfUnset(ps, 'volumeMode', 'Filesystem');
      const status = objectAt(pvc, 'status');
      if (status) setIfUnset(status, 'phase', 'Pending');
    }
  },

  validate(sts, { old, subresource }) {
    if (subresource === 'status') {
      const s = sts.status ?? {};
      const out = ['replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas', 'observedGeneration', 'collisionCount'].flatMap((k) => nonNegative(s[k], `status.${k}`));
      for (const k of ['readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas']) {
        if ((s[k] ?? 0) > (s.replicas ?? 0)) out.push(field.invalid(`status.${k}`, s[k], 'cannot be greater than status.replicas'));
      }
      if ((s.availableReplicas ?? 0) > (s.readyReplicas ?? 0)) out.push(field.invalid('status.availableReplicas', s.availableReplicas, 'cannot be greater than status.readyReplicas'));
      return out;
    }
    if (subresource) return [];
    const out = validateSpec(isObj(sts.spec) ? sts.spec : {});
    if (old) {
      const strip = (spec: Record<string, any>) => Object.fromEntries(Object.entries(plain(spec) ?? {}).filter(([k]) => !mutable.includes(k)));
      if (!isDeepStrictEqual(strip(sts.spec), strip(old.spec))) {
        out.push(field.forbidden('spec', "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
      }
    }
    return out;
  },

  strategy: {
    tracksGeneration: true,
    prepareForCreate(sts) {
      sts.status = { replicas: 0, availableReplicas: 0 };
    },
  },

  // printStatefulSet.
  printer: {
    columns: [nameCol,
      ['Ready', 'string', 'Number of the pod with ready state'],
      ageCol, ...containerCols.slice(0, 2)],
    cells: (sts, since) => [sts.metadata.name, `${sts.status?.readyReplicas ?? 0}/${sts.spec?.replicas ?? 0}`, age(sts, since), ...containerCells(sts).slice(0, 2)],
  },

});

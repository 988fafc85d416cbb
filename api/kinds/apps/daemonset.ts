// apps/v1 DaemonSet: one pod per eligible node (pkg/registry/apps/daemonset,
// pkg/apis/apps/validation, SetDefaults_DaemonSet, printDaemonSet).

import { isDeepStrictEqual } from 'node:util';
import { defineKind, entry } from '../../kind.js';
import type { KubeObject, StatusCause } from '../../types.js';
import { defaultPodSpec } from '../../defaults.js';
import { age, containerCells, containerCols, formatLabels, nameCol, ageCol } from '../../printing.js';
import { field, validateAnnotations, validateLabels, validatePodSpec } from '../../schemas/rules.js';
import { selectorFromLabelSelector } from '../../labels.js';
import { intOrPercentValue, isObj, nonNegative, notMoreThan100Percent, objectAt, positiveIntOrPercent, setIfUnset } from './workload.js';

/**
 * apps/v1 keeps the internal spec.templateGeneration in this annotation
 * (the v1 conversion); the controller labels pods with it as
 * pod-template-generation.
 */
export const templateGenerationAnnotation = 'deprecated.daemonset.template.generation';

const plain = (v: unknown) => JSON.parse(JSON.stringify(v ?? null));

/** ValidateDaemonSetSpec's selector and template part, with kube's daemonset wording. */
function validateSpec(spec: Record<string, any>): StatusCause[] {
  const out: StatusCause[] = [];
  const sel = spec.selector;
  const template = isObj(spec.template) ? spec.template : {};
  if (!isObj(sel)) out.push(field.required('spec.selector'));
  else {
    out.push(...validateLabels(sel.matchLabels, 'spec.selector.matchLabels'));
    let parsed;
    try {
      parsed = selectorFromLabelSelector(sel);
    } catch (e) {
      out.push(field.invalid('spec.selector', sel, (e as Error).message));
    }
    if (parsed && !parsed.matches(template.metadata?.labels ?? {})) {
      out.push(field.invalid('spec.template.metadata.labels', template.metadata?.labels ?? {}, '`selector` does not match template `labels`'));
    }
    if (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length) out.push(field.invalid('spec.selector', sel, 'empty selector is invalid for daemonset'));
  }
  out.push(...validateLabels(template.metadata?.labels, 'spec.template.metadata.labels'));
  out.push(...validateAnnotations(template.metadata?.annotations, 'spec.template.metadata.annotations'));
  out.push(...validatePodSpec(template.spec, 'spec.template.spec'));
  const rp = template.spec?.restartPolicy;
  if (rp !== 'Always') out.push(field.notSupported('spec.template.spec.restartPolicy', rp ?? '', ['Always']));
  if (template.spec?.activeDeadlineSeconds !== undefined && template.spec?.activeDeadlineSeconds !== null) {
    out.push(field.forbidden('spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in DaemonSet is not Supported'));
  }
  out.push(...nonNegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  out.push(...validateUpdateStrategy(spec.updateStrategy));
  out.push(...nonNegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  return out;
}

/** ValidateDaemonSetUpdateStrategy and ValidateRollingUpdateDaemonSet: exactly one of maxUnavailable and maxSurge non-zero. */
function validateUpdateStrategy(st: Record<string, any> | undefined): StatusCause[] {
  const path = 'spec.updateStrategy';
  const type = st?.type;
  if (type === 'OnDelete') return [];
  if (type !== 'RollingUpdate') return [field.notSupported(path, st ?? {}, ['RollingUpdate', 'OnDelete'])];
  const ru = st!.rollingUpdate;
  if (!isObj(ru)) return [field.required(`${path}.rollingUpdate`)];
  const p = `${path}.rollingUpdate`;
  const out = [
    ...positiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`),
    ...positiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`),
    ...notMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`),
    ...notMoreThan100Percent(ru.maxSurge, `${p}.maxSurge`),
  ];
  const hasUnavailable = intOrPercentValue(ru.maxUnavailable) !== 0;
  const hasSurge = intOrPercentValue(ru.maxSurge) !== 0;
  if (hasUnavailable && hasSurge) out.push(field.invalid(`${p}.maxSurge`, ru.maxSurge, 'may not be set when maxUnavailable is non-zero'));
  if (!hasUnavailable && !hasSurge) out.push(field.required(`${p}.maxUnavailable`, 'cannot be 0 when maxSurge is 0'));
  return out;
}

function templateGeneration(ds: KubeObject): number {
  const n = Number(ds.metadata.annotations?.[templateGenerationAnnotation]);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

function setTemplateGeneration(ds: KubeObject, n: number): void {
  ds.metadata.annotations = { ...ds.metadata.annotations, [templateGenerationAnnotation]: String(n) };
}

export default defineKind({
  resource: entry({ group: 'apps', version: 'v1', kind: 'DaemonSet', plural: 'daemonsets', singular: 'daemonset', shortNames: ['ds'], namespaced: true,
    subresources: ['status'], hasStatus: true, categories: ['all'] }),

  // SetDefaults_DaemonSet.
  defaults(ds) {
    const spec = objectAt(ds, 'spec');
    if (!spec) return;
    const st = objectAt(spec, 'updateStrategy');
    if (st) {
      setIfUnset(st, 'type', 'RollingUpdate');
      if (st.type === 'RollingUpdate') {
        const ru = objectAt(st, 'rollingUpdate');
        if (ru) {
          setIfUnset(ru, 'maxUnavailable', 1);
          setIfUnset(ru, 'maxSurge', 0);
        }
      }
    }
    setIfUnset(spec, 'revisionHistoryLimit', 10);
    if (isObj(spec.template)) defaultPodSpec(spec.template.spec, { admission: false });
  },

  validate(ds, { old, subresource }) {
    if (subresource === 'status') {
      const s = ds.status ?? {};
      return ['currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady', 'observedGeneration', 'updatedNumberScheduled', 'numberAvailable', 'numberUnavailable', 'collisionCount']
        .flatMap((k) => nonNegative(s[k], `status.${k}`));
    }
    const out = validateSpec(isObj(ds.spec) ? ds.spec : {});
    // apps/v1's strategy keeps the selector as created (ValidateUpdate, requestGroupVersion apps/v1).
    if (old && !isDeepStrictEqual(plain(ds.spec?.selector), plain(old.spec?.selector))) out.push(field.invalid('spec.selector', ds.spec?.selector, 'field is immutable'));
    return out;
  },

  strategy: {
    tracksGeneration: true,
    // PrepareForCreate: status cleared, templateGeneration starts at 1.
    prepareForCreate(ds) {
      ds.status = { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 };
      setTemplateGeneration(ds, 1);
    },
    // PrepareForUpdate: a template change moves templateGeneration, which never moves otherwise.
    prepareForUpdate(ds, old, subresource) {
      if (subresource) return;
      const prev = templateGeneration(old);
      const changed = !isDeepStrictEqual(plain(ds.spec?.template), plain(old.spec?.template));
      setTemplateGeneration(ds, changed ? prev + 1 : Math.max(prev, 1));
    },
  },

  // printDaemonSet.
  printer: {
    columns: [nameCol,
      ['Desired', 'integer', 'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).'],
      ['Current', 'integer', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.'],
      ['Ready', 'integer', 'numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.'],
      ['Up-to-date', 'integer', 'The total number of nodes that are running updated daemon pod'],
      ['Available', 'integer', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)'],
      ['Node Selector', 'string', 'NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node\'s labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/'],
      ageCol, ...containerCols],
    cells: (ds, since) => {
      const s = ds.status ?? {};
      return [ds.metadata.name, s.desiredNumberScheduled ?? 0, s.currentNumberScheduled ?? 0, s.numberReady ?? 0, s.updatedNumberScheduled ?? 0, s.numberAvailable ?? 0,
        formatLabels(ds.spec?.template?.spec?.nodeSelector), age(ds, since), ...containerCells(ds)];
    },
  },
});

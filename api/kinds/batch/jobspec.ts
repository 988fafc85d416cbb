// What Job and CronJob share (pkg/apis/batch/validation, the JobSpec part of
// SetDefaults_Job): a CronJob's jobTemplate is checked as a Job's spec, so one
// implementation serves both. No default export: a helper of the group.

import { isDeepStrictEqual } from 'node:util';
import type { KubeObject, LabelSelector, StatusCause } from '../../types.js';
import { fieldCause } from '../../errors.js';
import { selectorFromLabelSelector } from '../../labels.js';
import { field, formatValue, validateAnnotations, validateLabels, validatePodSpec } from '../../schemas/rules.js';

/** The labels kube's Job strategy puts on a Job's pods and into its selector (batch.ControllerUidLabel, JobNameLabel). */
export const controllerUidLabel = 'batch.kubernetes.io/controller-uid';
export const jobNameLabel = 'batch.kubernetes.io/job-name';
/** The pre-1.27 spellings, still written so old selectors and tools keep working. */
export const legacyControllerUidLabel = 'controller-uid';
export const legacyJobNameLabel = 'job-name';

export const maxInt32 = 2147483647;
/** kube's maxParallelismForIndexedJob and completions cap for Indexed jobs with a per-index backoff. */
const maxCompletionsIndexed = 100000;

const isSet = (v: unknown): boolean => v !== undefined && v !== null;
const nonNegative = (out: StatusCause[], path: string, v: unknown) => {
  if (typeof v === 'number' && v < 0) out.push(field.invalid(path, v, 'must be greater than or equal to 0'));
};

/** SetDefaults_Job's spec part (a CronJob's jobTemplate is not defaulted so, as in kube). */
export function defaultJobSpec(spec: Record<string, any> | undefined): void {
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) return;
  // Both unset: a non-parallel job; completions alone unset: a work-queue job finished by any success.
  if (!isSet(spec.completions) && !isSet(spec.parallelism)) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  if (!isSet(spec.parallelism)) spec.parallelism = 1;
  if (!isSet(spec.backoffLimit)) spec.backoffLimit = isSet(spec.backoffLimitPerIndex) ? maxInt32 : 6;
  if (!isSet(spec.completionMode)) spec.completionMode = 'NonIndexed';
  if (!isSet(spec.suspend)) spec.suspend = false;
  const rules = spec.podFailurePolicy?.rules;
  if (Array.isArray(rules)) {
    for (const r of rules) for (const p of Array.isArray(r?.onPodConditions) ? r.onPodConditions : []) if (p && typeof p === 'object' && !p.status) p.status = 'True';
  }
  if (!isSet(spec.podReplacementPolicy)) spec.podReplacementPolicy = spec.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed';
  if (!isSet(spec.manualSelector)) spec.manualSelector = false;
}

/** generateSelector (pkg/registry/batch/job/strategy.go): unique labels from the Job's uid, added to the template and made the selector. */
export function generateSelector(job: KubeObject): void {
  const spec = job.spec;
  if (!spec || typeof spec !== 'object' || spec.manualSelector === true) return;
  const uid = job.metadata.uid ?? '';
  const name = job.metadata.name ?? '';
  // Fields of the wrong type are left as they are for validation to refuse (422), as Go's decoding would.
  const isMap = (v: unknown): v is Record<string, any> => v !== null && typeof v === 'object' && !Array.isArray(v);
  spec.template ??= {};
  if (!isMap(spec.template)) return;
  spec.template.metadata ??= {};
  if (!isMap(spec.template.metadata)) return;
  spec.template.metadata.labels ??= {};
  const labels: unknown = spec.template.metadata.labels;
  if (!isMap(labels)) return;
  // The user's own value is kept if set; validation then refuses a selector that does not match.
  labels[legacyControllerUidLabel] ??= uid;
  labels[legacyJobNameLabel] ??= name;
  labels[controllerUidLabel] ??= uid;
  labels[jobNameLabel] ??= name;
  if (!spec.selector) spec.selector = { matchLabels: { [controllerUidLabel]: uid } };
  else if (isMap(spec.selector)) {
    spec.selector.matchLabels ??= {};
    if (isMap(spec.selector.matchLabels) && !spec.selector.matchLabels[controllerUidLabel]) spec.selector.matchLabels[controllerUidLabel] = uid;
  }
}

function validatePodFailurePolicy(spec: Record<string, any>, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const pfp = spec.podFailurePolicy;
  if (!pfp) return out;
  const rp = spec.template?.spec?.restartPolicy;
  if (rp !== 'Never') out.push(field.invalid(`${path}.template.spec.restartPolicy`, rp ?? '', 'only "Never" is supported when podFailurePolicy is specified'));
  const rules: any[] = Array.isArray(pfp.rules) ? pfp.rules : [];
  if (rules.length > 20) out.push(field.invalid(`${path}.podFailurePolicy.rules`, rules.length, 'must have at most 20 items'));
  const actions = ['Count', 'FailIndex', 'FailJob', 'Ignore'];
  rules.forEach((r, i) => {
    const rp = `${path}.podFailurePolicy.rules[${i}]`;
    if (!actions.includes(r?.action)) out.push(field.notSupported(`${rp}.action`, r?.action ?? '', actions));
    if (r?.action === 'FailIndex' && !isSet(spec.backoffLimitPerIndex)) out.push(field.invalid(`${rp}.action`, r.action, 'requires the backoffLimitPerIndex to be set'));
    const codes = r?.onExitCodes;
    const conds = r?.onPodConditions;
    if ((codes && conds?.length) || (!codes && !conds?.length)) {
      // kube's field.OmitValueType: the message names no value.
      out.push(fieldCause(rp, 'FieldValueInvalid', 'Invalid value: specifying one of OnExitCodes and OnPodConditions is required'));
    }
    if (codes) {
      const ops = ['In', 'NotIn'];
      if (!ops.includes(codes.operator)) out.push(field.notSupported(`${rp}.onExitCodes.operator`, codes.operator ?? '', ops));
      const values: unknown[] = Array.isArray(codes.values) ? codes.values : [];
      if (!values.length) out.push(field.invalid(`${rp}.onExitCodes.values`, values, 'at least one value is required'));
      values.forEach((v, j) => {
        if (codes.operator === 'In' && v === 0) out.push(field.invalid(`${rp}.onExitCodes.values[${j}]`, v, 'must not be 0 for the In operator'));
        if (j > 0 && typeof v === 'number' && typeof values[j - 1] === 'number' && v <= (values[j - 1] as number)) {
          out.push(field.invalid(`${rp}.onExitCodes.values[${j}]`, v, v === values[j - 1] ? 'must not be duplicated' : 'must be ordered'));
        }
      });
    }
    (Array.isArray(conds) ? conds : []).forEach((c: any, j: number) => {
      const sts = ['True', 'False', 'Unknown'];
      if (!sts.includes(c?.status)) out.push(field.notSupported(`${rp}.onPodConditions[${j}].status`, c?.status ?? '', sts));
    });
  });
  return out;
}

/**
 * validateJobSpec: counts, completion mode, the pod template (restartPolicy
 * OnFailure or Never), pod failure policy. withSelector is false for a
 * CronJob's template, which has no selector yet.
 */
export function validateJobSpec(spec: Record<string, any> | undefined, path: string, opts: { withSelector: boolean }): StatusCause[] {
  const out: StatusCause[] = [];
  if (!spec || typeof spec !== 'object') return [field.required(path)];
  nonNegative(out, `${path}.parallelism`, spec.parallelism);
  nonNegative(out, `${path}.completions`, spec.completions);
  nonNegative(out, `${path}.activeDeadlineSeconds`, spec.activeDeadlineSeconds);
  nonNegative(out, `${path}.backoffLimit`, spec.backoffLimit);
  nonNegative(out, `${path}.ttlSecondsAfterFinished`, spec.ttlSecondsAfterFinished);
  if (isSet(spec.backoffLimitPerIndex)) {
    nonNegative(out, `${path}.backoffLimitPerIndex`, spec.backoffLimitPerIndex);
    if (spec.completionMode !== 'Indexed') out.push(field.forbidden(`${path}.backoffLimitPerIndex`, 'backoffLimitPerIndex can only be set when completionMode is Indexed'));
  }
  const modes = ['NonIndexed', 'Indexed'];
  if (isSet(spec.completionMode) && !modes.includes(spec.completionMode)) out.push(field.notSupported(`${path}.completionMode`, spec.completionMode, modes));
  if (spec.completionMode === 'Indexed') {
    if (!isSet(spec.completions)) out.push(field.required(`${path}.completions`, 'when completion mode is Indexed'));
    else if (spec.completions > maxCompletionsIndexed && isSet(spec.backoffLimitPerIndex)) out.push(field.invalid(`${path}.completions`, spec.completions, `must be less than or equal to ${maxCompletionsIndexed} when backoffLimitPerIndex is set`));
    if (typeof spec.parallelism === 'number' && spec.parallelism > maxCompletionsIndexed) out.push(field.invalid(`${path}.parallelism`, spec.parallelism, `must be less than or equal to ${maxCompletionsIndexed} when completion mode is Indexed`));
  }
  const replacement = ['Failed', 'TerminatingOrFailed'];
  if (isSet(spec.podReplacementPolicy)) {
    if (!replacement.includes(spec.podReplacementPolicy)) out.push(field.notSupported(`${path}.podReplacementPolicy`, spec.podReplacementPolicy, replacement));
    else if (spec.podReplacementPolicy !== 'Failed' && spec.podFailurePolicy) out.push(field.notSupported(`${path}.podReplacementPolicy`, spec.podReplacementPolicy, ['Failed']));
  }
  if (opts.withSelector) {
    const sel: LabelSelector | undefined = spec.selector;
    if (!sel) out.push(field.required(`${path}.selector`));
    else {
      out.push(...validateLabels(sel.matchLabels, `${path}.selector.matchLabels`));
      try {
        const parsed = selectorFromLabelSelector(sel);
        const labels = spec.template?.metadata?.labels ?? {};
        if (!parsed.matches(labels)) out.push(field.invalid(`${path}.template.metadata.labels`, labels, '`selector` does not match template `labels`'));
      } catch (e) {
        out.push(field.invalid(`${path}.selector`, sel, (e as Error).message));
      }
    }
  }
  const t = spec.template;
  if (!t) out.push(field.required(`${path}.template`));
  else {
    out.push(...validateLabels(t.metadata?.labels, `${path}.template.metadata.labels`));
    out.push(...validateAnnotations(t.metadata?.annotations, `${path}.template.metadata.annotations`));
    out.push(...validatePodSpec(t.spec, `${path}.template.spec`));
    // The template was defaulted like any pod's: an omitted restartPolicy is Always here, and refused, as kube does.
    const rp = t.spec?.restartPolicy ?? 'Always';
    if (rp !== 'OnFailure' && rp !== 'Never') out.push(field.notSupported(`${path}.template.spec.restartPolicy`, rp, ['OnFailure', 'Never']));
  }
  out.push(...validatePodFailurePolicy(spec, path));
  return out;
}

/** What a suspended Job that has not started may still change in its template (kube's JobMutableSchedulingDirectives). */
function withoutSchedulingDirectives(t: any): any {
  const c = structuredClone(t ?? {});
  if (c.spec) {
    delete c.spec.nodeSelector;
    delete c.spec.tolerations;
    delete c.spec.affinity;
    delete c.spec.schedulingGates;
  }
  if (c.metadata) {
    delete c.metadata.labels;
    delete c.metadata.annotations;
  }
  return c;
}

const clean = (v: unknown) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

/** ValidateJobSpecUpdate: selector, completion mode and (for NonIndexed) completions are immutable; the template too, but for a suspended job's scheduling directives. */
export function validateJobSpecUpdate(spec: Record<string, any>, old: Record<string, any>, oldStatus: Record<string, any> | undefined, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (!spec || !old) return out;
  if (!isDeepStrictEqual(clean(spec.selector), clean(old.selector))) out.push(field.invalid(`${path}.selector`, spec.selector, 'field is immutable'));
  if (spec.completionMode !== old.completionMode) out.push(field.invalid(`${path}.completionMode`, spec.completionMode ?? '', 'field is immutable'));
  if (spec.completions !== old.completions) {
    // Elastic Indexed Jobs: completions may move with parallelism.
    const elastic = spec.completionMode === 'Indexed' && spec.completions === spec.parallelism && !isSet(spec.backoffLimitPerIndex);
    if (!elastic) out.push(field.invalid(`${path}.completions`, spec.completions ?? null, 'field is immutable'));
  }
  if (!isDeepStrictEqual(clean(spec.podFailurePolicy), clean(old.podFailurePolicy))) out.push(field.invalid(`${path}.podFailurePolicy`, spec.podFailurePolicy ?? null, 'field is immutable'));
  if (!isDeepStrictEqual(clean(spec.template), clean(old.template))) {
    const mayChangeScheduling = old.suspend === true && !oldStatus?.startTime;
    if (!mayChangeScheduling || !isDeepStrictEqual(clean(withoutSchedulingDirectives(spec.template)), clean(withoutSchedulingDirectives(old.template)))) {
      out.push(field.invalid(`${path}.template`, '', 'field is immutable'));
    }
  }
  return out;
}

/** For printers: a value as kube's printBoolPtr shows it. */
export const boolPtr = (v: unknown) => (v === true ? 'True' : v === false ? 'False' : '<unset>');
export { formatValue };

// batch/v1 Job: runs pods to completion (pkg/registry/batch/job/strategy.go,
// pkg/apis/batch/validation, SetDefaults_Job, printJob). The selector and the
// pods' batch.kubernetes.io/controller-uid and job-name labels are generated
// from the Job's uid at create, so two Jobs never claim each other's pods.

import { defineKind, entry } from '../../kind.js';
import { defaultPodSpec } from '../../defaults.js';
import { ageCol, containerCells, containerCols, humanDuration, nameCol } from '../../printing.js';
import { field } from '../../schemas/rules.js';
import type { StatusCause } from '../../types.js';
import { controllerUidLabel, defaultJobSpec, generateSelector, legacyControllerUidLabel, validateJobSpec, validateJobSpecUpdate } from './jobspec.js';

const hasCondition = (status: any, type: string) => (Array.isArray(status?.conditions) ? status.conditions : []).some((c: any) => c?.type === type && c?.status === 'True');

/** printJob's STATUS column as kubectl 1.32 shows it: finished first, then terminating, suspended, the interim targets, else Running. */
export function jobStatusText(job: { metadata: { deletionTimestamp?: string }; status?: any }): string {
  if (hasCondition(job.status, 'Complete')) return 'Complete';
  if (hasCondition(job.status, 'Failed')) return 'Failed';
  if (job.metadata.deletionTimestamp) return 'Terminating';
  if (hasCondition(job.status, 'Suspended')) return 'Suspended';
  if (hasCondition(job.status, 'FailureTarget')) return 'FailureTarget';
  if (hasCondition(job.status, 'SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  return 'Running';
}

/** ValidateGeneratedSelector: a generated selector must still be the one generated from this Job's uid. */
function validateGeneratedSelector(job: any): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = job.spec ?? {};
  if (spec.manualSelector === true || !spec.template?.metadata?.labels) return out;
  const uid = job.metadata?.uid ?? '';
  if (!uid) out.push(field.required('metadata.uid'));
  const labels = spec.template.metadata.labels;
  for (const key of [legacyControllerUidLabel, controllerUidLabel]) {
    const p = `spec.template.metadata.labels[${key}]`;
    if (labels[key] === undefined) out.push(field.required(p));
    else if (labels[key] !== uid) out.push(field.invalid(p, labels[key], `must be '${uid}'`));
  }
  if (spec.selector && spec.selector.matchLabels?.[controllerUidLabel] !== uid) out.push(field.invalid('spec.selector', spec.selector, '`selector` not auto-generated'));
  return out;
}

export default defineKind({
  resource: entry({
    group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', singular: 'job', namespaced: true,
    subresources: ['status'], hasStatus: true, categories: ['all'],
  }),

  defaults(job) {
    const spec = job.spec;
    if (!spec || typeof spec !== 'object' || Array.isArray(spec)) return;
    defaultJobSpec(spec);
    if (spec.template && typeof spec.template === 'object') defaultPodSpec(spec.template.spec, { admission: false });
    const tl = spec.template?.metadata?.labels;
    if (tl && typeof tl === 'object' && !Object.keys(job.metadata.labels ?? {}).length) job.metadata.labels = { ...tl };
  },

  strategy: {
    tracksGeneration: true,
    prepareForCreate(job) {
      job.status = {};
    },
    afterDefaults(job, old) {
      if (old) return;
      const hadLabels = !!Object.keys(job.metadata.labels ?? {}).length;
      generateSelector(job);
      // kube defaults a Job's labels from its template again when it reads the stored object back: with none of its
      // own, the Job shows the generated labels.
      const tl: unknown = job.spec?.template?.metadata?.labels;
      if (!hadLabels && tl && typeof tl === 'object' && !Array.isArray(tl)) job.metadata.labels = { ...tl };
    },
  },

  validate(job, { old, subresource }) {
    if (subresource) return validateStatus(job);
    const out = [...validateGeneratedSelector(job), ...validateJobSpec(job.spec, 'spec', { withSelector: true })];
    if (old) out.push(...validateJobSpecUpdate(job.spec, old.spec, old.status, 'spec'));
    return out;
  },

  printer: {
    columns: [nameCol,
      ['Status', 'string', 'Status of the job.'],
      ['Completions', 'string', 'The completion status of the job as <successful>/<desired>.'],
      ['Duration', 'string', 'Time required to complete the job.'],
      ageCol,
      ...containerCols],
    cells: (job, since) => {
      const spec = job.spec ?? {};
      const succeeded = job.status?.succeeded ?? 0;
      let completions: string;
      if (typeof spec.completions === 'number') completions = `${succeeded}/${spec.completions}`;
      else if ((spec.parallelism ?? 0) > 1) completions = `${succeeded}/1 of ${spec.parallelism}`;
      else completions = `${succeeded}/1`;
      const start = job.status?.startTime;
      const end = job.status?.completionTime;
      const duration = !start ? '' : end ? humanDuration(Date.parse(end) - Date.parse(start)) : since(start);
      return [job.metadata.name, jobStatusText(job), completions, duration, since(job.metadata.creationTimestamp), ...containerCells(job)];
    },
  },

  selectableFields: (job) => ({ 'status.successful': String(job.status?.succeeded ?? 0) }),
});

/** ValidateJobStatus's counters: never negative. */
function validateStatus(job: any): StatusCause[] {
  const out: StatusCause[] = [];
  for (const k of ['active', 'succeeded', 'failed', 'ready', 'terminating']) {
    const v = job.status?.[k];
    if (typeof v === 'number' && v < 0) out.push(field.invalid(`status.${k}`, v, 'must be greater than or equal to 0'));
  }
  return out;
}

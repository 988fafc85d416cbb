// batch/v1 CronJob: a Job template run on a cron schedule
// (pkg/registry/batch/cronjob, pkg/apis/batch/validation ValidateCronJob*,
// SetDefaults_CronJob, printCronJob).

import { defineKind, entry } from '../../kind.js';
import { defaultPodSpec } from '../../defaults.js';
import { formatLabelSelector } from '../../labels.js';
import { ageCol, nameCol } from '../../printing.js';
import { field, validateAnnotations, validateLabels } from '../../schemas/rules.js';
import type { StatusCause } from '../../types.js';
import type * as Cron from './schedule/cron.js';
import { boolPtr, validateJobSpec } from './jobspec.js';

// The cron parser (and luxon's time zones) is loaded by the API server only (KindDefinition.load).
let cronModule: typeof Cron | undefined;
function cron(): typeof Cron {
  if (!cronModule) throw new Error('CronJob validation used before the kind was loaded');
  return cronModule;
}

/** Job names are <cronjob>-<minutes since epoch> (11 characters more), and must stay DNS-1035 labels of 63. */
const maxNameLength = 52;
const hasTZ = (s: unknown) => typeof s === 'string' && s.includes('TZ');

function validateSpec(spec: any, oldSpec: any | undefined): StatusCause[] {
  const out: StatusCause[] = [];
  if (!spec || typeof spec !== 'object') return [field.required('spec')];
  if (!spec.schedule) out.push(field.required('spec.schedule', ''));
  else {
    // validateScheduleFormat: robfig's ParseStandard on the schedule alone (spec.timeZone is checked below), its error as the detail.
    try {
      cron().parseSchedule(spec.schedule);
    } catch (e) {
      out.push(field.invalid('spec.schedule', spec.schedule, (e as Error).message));
    }
    // kube 1.32: TZ in the schedule is refused on create and on a change; an existing one may stay.
    const allowTZ = !!oldSpec && hasTZ(oldSpec.schedule);
    if (hasTZ(spec.schedule)) {
      if (allowTZ && spec.timeZone) out.push(field.invalid('spec.schedule', spec.schedule, 'cannot use both timeZone field and TZ or CRON_TZ in schedule'));
      else if (!allowTZ) out.push(field.invalid('spec.schedule', spec.schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
    }
  }
  if (spec.timeZone !== undefined && spec.timeZone !== null) {
    const tz = spec.timeZone;
    if (tz === '') out.push(field.invalid('spec.timeZone', tz, 'timeZone must be nil or non-empty string'));
    else if (String(tz).toLowerCase() === 'local') out.push(field.invalid('spec.timeZone', tz, 'timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones'));
    else {
      const err = cron().timeZoneError(tz);
      if (err) out.push(field.invalid('spec.timeZone', tz, err));
    }
  }
  const policies = ['Allow', 'Forbid', 'Replace'];
  if (!spec.concurrencyPolicy) out.push(field.required('spec.concurrencyPolicy'));
  else if (!policies.includes(spec.concurrencyPolicy)) out.push(field.notSupported('spec.concurrencyPolicy', spec.concurrencyPolicy, policies));
  for (const k of ['startingDeadlineSeconds', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit']) {
    if (typeof spec[k] === 'number' && spec[k] < 0) out.push(field.invalid(`spec.${k}`, spec[k], 'must be greater than or equal to 0'));
  }
  const jt = spec.jobTemplate;
  if (!jt) out.push(field.required('spec.jobTemplate'));
  else {
    out.push(...validateLabels(jt.metadata?.labels, 'spec.jobTemplate.metadata.labels'));
    out.push(...validateAnnotations(jt.metadata?.annotations, 'spec.jobTemplate.metadata.annotations'));
    out.push(...validateJobSpec(jt.spec, 'spec.jobTemplate.spec', { withSelector: false }));
  }
  return out;
}

export default defineKind({
  async load() { cronModule ??= await import('./schedule/cron.js'); },
  resource: entry({
    group: 'batch', version: 'v1', kind: 'CronJob', plural: 'cronjobs', singular: 'cronjob', namespaced: true,
    shortNames: ['cj'], subresources: ['status'], hasStatus: true, categories: ['all'],
  }),

  defaults(cj) {
    const spec = cj.spec;
    if (!spec || typeof spec !== 'object' || Array.isArray(spec)) return;
    spec.concurrencyPolicy ??= 'Allow';
    spec.suspend ??= false;
    spec.successfulJobsHistoryLimit ??= 3;
    spec.failedJobsHistoryLimit ??= 1;
    const t = spec.jobTemplate?.spec?.template;
    if (t && typeof t === 'object') defaultPodSpec(t.spec, { admission: false });
  },

  strategy: {
    tracksGeneration: true,
    prepareForCreate(cj) {
      cj.status = {};
    },
  },

  validate(cj, { old, subresource }) {
    if (subresource) return [];
    const out: StatusCause[] = [];
    const name = cj.metadata.name ?? '';
    if (!old && name.length > maxNameLength) out.push(field.invalid('metadata.name', name, `must be no more than ${maxNameLength} characters`));
    out.push(...validateSpec(cj.spec, old?.spec));
    return out;
  },

  printer: {
    columns: [nameCol,
      ['Schedule', 'string', 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.'],
      ['Timezone', 'string', 'The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones'],
      ['Suspend', 'boolean', 'This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.'],
      ['Active', 'integer', 'A list of pointers to currently running jobs.'],
      ['Last Schedule', 'string', 'Information when was the last time the job was successfully scheduled.'],
      ageCol,
      ['Containers', 'string', 'Names of each container in the template.', 1],
      ['Images', 'string', 'Images referenced by each container in the template.', 1],
      ['Selector', 'string', 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.', 1]],
    cells: (cj, since) => {
      const spec = cj.spec ?? {};
      const cs: { name: string; image?: string }[] = spec.jobTemplate?.spec?.template?.spec?.containers ?? [];
      const last = cj.status?.lastScheduleTime;
      const sel = spec.jobTemplate?.spec?.selector;
      return [cj.metadata.name, spec.schedule ?? '', spec.timeZone ?? '<none>', boolPtr(spec.suspend), (cj.status?.active ?? []).length,
        last ? since(last) : '<none>', since(cj.metadata.creationTimestamp),
        cs.map((c) => c.name).join(','), cs.map((c) => c.image ?? '').join(','), sel ? formatLabelSelector(sel) : '<none>'];
    },
  },
});

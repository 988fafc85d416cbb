// The CronJob controller (pkg/controller/cronjob/cronjob_controllerv2.go):
// for each CronJob, the most recent schedule time that has not run yet gets a
// Job named <cronjob>-<minutes since epoch>, within startingDeadlineSeconds
// and as concurrencyPolicy allows; status.active, lastScheduleTime and
// lastSuccessfulTime follow the Jobs; finished Jobs beyond the history limits
// are deleted. Each CronJob is requeued for its next schedule time, so the
// controller needs no periodic resync.

import { isAlreadyExists, isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { controllerOf, deepCopy, objectKey, splitKey } from '../../api/types.js';
import { parseSchedule, type Schedule } from '../../api/kinds/batch/schedule/cron.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController, type EventRecorder } from '../controller.js';
import { controllerRefFor } from '../ownership.js';
import { isJobFinished } from '../job/job.js';
import { metaTime } from '../../api/time.js';

type CronJob = KubeObject;
type Job = KubeObject;

export const scheduledTimestampAnnotation = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** kube's nextScheduleDelta: wake a little after the schedule time, never before it. */
const NEXT_SCHEDULE_DELTA_MS = 100;
const ownerKind = { apiVersion: 'batch/v1', kind: 'CronJob' };

/** getJobName: the scheduled time in minutes since the epoch keeps names unique per run and lets a restart find its Job. */
export const jobNameFor = (cj: CronJob, scheduled: Date) => `${cj.metadata.name}-${Math.floor(scheduled.getTime() / 60000)}`;

export interface MostRecent { scheduled?: Date; missed: number }

/**
 * mostRecentScheduleTime: the latest schedule time after the last one run (or
 * creation) and not after now, and how many were missed. With
 * startingDeadlineSeconds, times older than the deadline are not considered.
 * Like kube, it does not walk millions of minutes: past two schedule times it
 * estimates the count from the interval and then finds the latest time near now.
 */
export function mostRecentScheduleTime(cj: CronJob, now: Date, sched: Schedule): MostRecent {
  let earliest = Date.parse(cj.status?.lastScheduleTime ?? cj.metadata.creationTimestamp ?? '') || now.getTime();
  const sds = cj.spec?.startingDeadlineSeconds;
  if (typeof sds === 'number') earliest = Math.max(earliest, now.getTime() - sds * 1000);
  if (earliest > now.getTime()) return { missed: 0 };
  const t1 = sched.next(new Date(earliest));
  if (t1 > now) return { missed: 0 };
  const t2 = sched.next(t1);
  if (t2 > now) return { scheduled: t1, missed: 1 };
  const period = Math.max(1000, t2.getTime() - t1.getTime());
  const missed = Math.floor((now.getTime() - t1.getTime()) / period) + 1;
  // The latest time not after now, found from a window before now that widens until it holds one.
  for (let window = period; ; window *= 2) {
    let t = sched.next(new Date(Math.max(earliest, now.getTime() - window)));
    if (t > now) continue;
    for (let n = sched.next(t); n <= now; n = sched.next(n)) t = n;
    return { scheduled: t, missed };
  }
}

export interface CronJobControllerOptions {
  client: Client;
  informers: InformerFactory;
  recorder: EventRecorder;
  now?: () => Date;
}

export class CronJobController extends QueueController {
  private readonly client: Client;
  private readonly recorder: EventRecorder;
  private readonly cronJobs: Informer<CronJob>;
  private readonly jobs: Informer<Job>;
  private readonly now: () => Date;

  constructor(o: CronJobControllerOptions) {
    super('cronjob', logger('cronjob-controller'));
    this.client = o.client;
    this.recorder = o.recorder;
    this.now = o.now ?? (() => new Date());
    this.cronJobs = o.informers.informerFor<CronJob>(R.cronjobs);
    this.jobs = o.informers.informerFor<Job>(R.jobs);
    this.cronJobs.addEventHandler({
      onAdd: (cj) => this.queue.add(objectKey(cj)),
      onUpdate: (_, cj) => this.queue.add(objectKey(cj)),
      onDelete: (cj) => this.queue.forget(objectKey(cj)),
    });
    const ownerOf = (j: Job) => {
      const ref = controllerOf(j);
      if (ref?.kind === ownerKind.kind) this.queue.add(`${j.metadata.namespace}/${ref.name}`);
    };
    this.jobs.addEventHandler({ onAdd: ownerOf, onUpdate: (_, j) => ownerOf(j), onDelete: ownerOf });
  }

  async sync(key: string): Promise<void> {
    const cached = this.cronJobs.lister.get(key);
    if (!cached) return;
    const cj = deepCopy(cached);
    const { namespace } = splitKey(key);
    const jobs = this.jobs.lister.list({ namespace }).filter((j) => controllerOf(j)?.uid === cj.metadata.uid);
    const before = JSON.stringify(cj.status ?? {});
    const requeueAfter = await this.syncCronJob(cj, jobs);
    if (JSON.stringify(cj.status ?? {}) !== before) {
      await this.client.resource<CronJob>(R.cronjobs, namespace).updateStatus(cj);
    }
    await this.cleanupFinishedJobs(cj, jobs);
    if (requeueAfter !== undefined) this.queue.addAfter(key, requeueAfter);
  }

  /** Returns when to look again, or undefined for "when something changes". */
  private async syncCronJob(cj: CronJob, jobs: Job[]): Promise<number | undefined> {
    const status = (cj.status ??= {});
    const now = this.now();
    const active: { name: string; uid: string }[] = status.active ?? [];
    const byUid = new Map(jobs.map((j) => [j.metadata.uid!, j]));
    // Jobs we own but do not list as active yet (a restart between create and status write).
    for (const j of jobs) {
      if (!isJobFinished(j) && !active.some((a) => a.uid === j.metadata.uid)) active.push(jobRef(j));
    }
    const stillActive: typeof active = [];
    for (const ref of active) {
      const j = byUid.get(ref.uid);
      if (!j) {
        // Gone from the cache: trust the cache only if the API server agrees.
        const fresh = await this.client.resource<Job>(R.jobs, cj.metadata.namespace).get(ref.name).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
        if (fresh && fresh.metadata.uid === ref.uid && !isJobFinished(fresh)) stillActive.push(ref);
        continue;
      }
      const done = isJobFinished(j);
      if (!done) {
        stillActive.push(ref);
        continue;
      }
      this.recorder.event(cj, 'Normal', 'SawCompletedJob', `Saw completed job: ${j.metadata.name}, condition: ${done.type}`);
      if (done.type === 'Complete' && j.status?.completionTime) {
        if (!status.lastSuccessfulTime || Date.parse(j.status.completionTime) > Date.parse(status.lastSuccessfulTime)) status.lastSuccessfulTime = j.status.completionTime;
      }
    }
    if (stillActive.length) status.active = stillActive;
    else delete status.active;

    if (cj.metadata.deletionTimestamp) return undefined;
    let sched: Schedule;
    try {
      sched = parseSchedule(cj.spec.schedule, cj.spec.timeZone);
    } catch (e) {
      const msg = (e as Error).message;
      if (msg.startsWith('unknown time zone')) this.recorder.event(cj, 'Warning', 'UnknownTimeZone', `invalid timeZone: "${cj.spec.timeZone}": ${msg}`);
      else this.recorder.event(cj, 'Warning', 'UnparseableSchedule', `unparseable schedule: "${cj.spec.schedule}" : ${msg}`);
      return undefined;
    }
    if (cj.spec.suspend) return undefined;
    const untilNext = () => Math.max(0, sched.next(now).getTime() - now.getTime()) + NEXT_SCHEDULE_DELTA_MS;

    const { scheduled, missed } = mostRecentScheduleTime(cj, now, sched);
    if (missed > 100) {
      this.recorder.event(cj, 'Warning', 'TooManyMissedTimes', `too many missed start times: ${missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew`);
    }
    if (!scheduled) return untilNext();
    const sds = cj.spec.startingDeadlineSeconds;
    if (typeof sds === 'number' && scheduled.getTime() + sds * 1000 < now.getTime()) {
      this.recorder.event(cj, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${metaTime(scheduled)}`);
      return untilNext();
    }
    const name = jobNameFor(cj, scheduled);
    if ((status.active ?? []).some((a: { name: string }) => a.name === name)) return untilNext();
    if (jobs.some((j) => j.metadata.name === name)) return untilNext();
    const policy = cj.spec.concurrencyPolicy ?? 'Allow';
    if (policy === 'Forbid' && status.active?.length) {
      this.log.debug('not starting job: prior execution still running and concurrency policy is Forbid', { cronjob: objectKey(cj) });
      return untilNext();
    }
    if (policy === 'Replace') {
      for (const ref of status.active ?? []) {
        try {
          await this.client.resource<Job>(R.jobs, cj.metadata.namespace).delete(ref.name, { propagationPolicy: 'Background' });
          this.recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${ref.name}`);
        } catch (e) {
          if (!isNotFound(e)) {
            this.recorder.event(cj, 'Warning', 'FailedDelete', `Deleted job: ${(e as Error).message}`);
            throw e;
          }
        }
      }
      delete status.active;
    }
    let created: Job;
    try {
      created = await this.client.resource<Job>(R.jobs, cj.metadata.namespace).create(this.jobFromTemplate(cj, scheduled, name));
      this.recorder.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${created.metadata.name}`);
    } catch (e) {
      if (!isAlreadyExists(e)) {
        this.recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${(e as Error).message}`);
        throw e;
      }
      // Ours from before a restart: the Job informer will bring it into active.
      return untilNext();
    }
    status.active = [...(status.active ?? []), jobRef(created)];
    status.lastScheduleTime = metaTime(scheduled);
    return untilNext();
  }

  /** getJobFromTemplate2. */
  private jobFromTemplate(cj: CronJob, scheduled: Date, name: string): Job {
    const t = cj.spec.jobTemplate ?? {};
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        namespace: cj.metadata.namespace,
        labels: { ...t.metadata?.labels },
        annotations: { ...t.metadata?.annotations, [scheduledTimestampAnnotation]: formatInZone(scheduled, cj.spec.timeZone) },
        ownerReferences: [controllerRefFor(cj, ownerKind.apiVersion, ownerKind.kind)],
      },
      spec: deepCopy(t.spec ?? {}),
    };
  }

  /** cleanupFinishedJobs: the oldest finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit go. */
  private async cleanupFinishedJobs(cj: CronJob, jobs: Job[]): Promise<void> {
    const limits: [string, number | undefined][] = [['Complete', cj.spec?.successfulJobsHistoryLimit], ['Failed', cj.spec?.failedJobsHistoryLimit]];
    for (const [type, limit] of limits) {
      if (typeof limit !== 'number') continue;
      const finished = jobs.filter((j) => isJobFinished(j)?.type === type)
        .sort((a, b) => startOf(a) - startOf(b) || (a.metadata.name! < b.metadata.name! ? -1 : 1));
      for (const j of finished.slice(0, Math.max(0, finished.length - limit))) {
        try {
          await this.client.resource<Job>(R.jobs, cj.metadata.namespace).delete(j.metadata.name!, { propagationPolicy: 'Background' });
          this.recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${j.metadata.name}`);
        } catch (e) {
          if (!isNotFound(e)) this.recorder.event(cj, 'Warning', 'FailedDelete', `Deleted job: ${(e as Error).message}`);
        }
      }
    }
  }
}

const startOf = (j: Job) => Date.parse(j.status?.startTime ?? j.metadata.creationTimestamp ?? '') || 0;

function jobRef(j: Job) {
  return { kind: 'Job', namespace: j.metadata.namespace, name: j.metadata.name!, uid: j.metadata.uid!, apiVersion: 'batch/v1', resourceVersion: j.metadata.resourceVersion };
}

/** RFC 3339 in the CronJob's time zone (kube formats the scheduled time in its location), UTC without one. */
export function formatInZone(t: Date, tz?: string | null): string {
  if (!tz) return metaTime(t);
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
    .formatToParts(t).map((p) => [p.type, p.value]));
  const local = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
  const off = Math.round((local - Math.floor(t.getTime() / 1000) * 1000) / 60000);
  if (off === 0) return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}Z`;
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

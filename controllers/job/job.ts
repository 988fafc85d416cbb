// The Job controller (pkg/controller/job/job_controller.go, kube 1.32): runs
// a Job's pods until enough succeed (completions, or any success for a work
// queue Job) or the Job fails (backoffLimit, activeDeadlineSeconds, a
// podFailurePolicy FailJob rule). Pods carry the batch.kubernetes.io/
// job-tracking finalizer until the controller has counted them: a finished
// pod's uid first goes into status.uncountedTerminatedPods (written), then
// its finalizer is removed, then it moves into status.succeeded/failed, so a
// pod deleted or garbage collected right after finishing is never lost or
// counted twice. A finished Job first gets the interim condition
// (SuccessCriteriaMet or FailureTarget), its remaining pods are deleted, and
// only when none runs any more the final one (Complete or Failed).

import { errors, isConflict, isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { KubeObject, Pod } from '../../api/types.js';
import { controllerOf, deepCopy, objectKey, splitKey } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController, type EventRecorder } from '../controller.js';
import { ControllerExpectations } from '../expectations.js';
import { claimObjects, controllerRefFor } from '../ownership.js';
import { compareForDeletion, isPodReady, slowStartBatch } from '../podutil.js';
import { labelSelectorMatcher } from '../selector.js';
import { completionIndexAnnotation, formatIndexes, parseIndexes, podIndex } from './indexes.js';
import { matchPodFailurePolicy } from './podfailurepolicy.js';
import { metaTime } from '../../api/time.js';

export type Job = KubeObject;

export const jobTrackingFinalizer = 'batch.kubernetes.io/job-tracking';
/** kube's DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff. */
export const DEFAULT_BACKOFF_MS = 10_000;
export const MAX_BACKOFF_MS = 360_000;
/** kube's MaxUncountedPods: at most this many uids wait in uncountedTerminatedPods per sync. */
const MAX_UNCOUNTED = 500;
const MAX_PODS_CREATE_DELETE = 500;

const ownerKind = { apiVersion: 'batch/v1', kind: 'Job' };

interface Condition { type: string; status: string; reason?: string; message?: string; lastProbeTime?: string; lastTransitionTime?: string }

const condition = (job: Job, type: string): Condition | undefined => (job.status?.conditions ?? []).find((c: Condition) => c.type === type && c.status === 'True');
export const isJobFinished = (job: Job): Condition | undefined => condition(job, 'Complete') ?? condition(job, 'Failed');
const isTerminal = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
const hasFinalizer = (p: Pod) => (p.metadata.finalizers ?? []).includes(jobTrackingFinalizer);

/** The time a pod finished: its containers' last finish, else its Ready condition's change, else its creation. */
function finishTime(p: Pod): number {
  let t = 0;
  for (const s of (p.status?.containerStatuses ?? []) as { state?: { terminated?: { finishedAt?: string } } }[]) {
    const f = s.state?.terminated?.finishedAt;
    if (f) t = Math.max(t, Date.parse(f));
  }
  if (t) return t;
  const ready = (p.status?.conditions ?? []).find((c) => c.type === 'Ready');
  return Date.parse(ready?.lastTransitionTime ?? p.metadata.deletionTimestamp ?? p.metadata.creationTimestamp ?? '') || 0;
}

/** kube's backoffRecord: failures since the last success and when the last one happened. */
interface BackoffRecord { failuresAfterLastSuccess: number; lastFailureTime: number }

/** getRemainingTime: 10 s doubling per consecutive failure, capped at 6 min, from the last failure. */
export function backoffRemaining(rec: BackoffRecord | undefined, now: number, base = DEFAULT_BACKOFF_MS, max = MAX_BACKOFF_MS): number {
  if (!rec || rec.failuresAfterLastSuccess === 0) return 0;
  const delay = Math.min(base * 2 ** (rec.failuresAfterLastSuccess - 1), max);
  return Math.max(0, rec.lastFailureTime + delay - now);
}

export interface JobControllerOptions {
  client: Client;
  informers: InformerFactory;
  recorder: EventRecorder;
  now?: () => Date;
  /** Pod failure back-off (kube's 10 s and 6 min); tests shorten them. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

export class JobController extends QueueController {
  readonly expectations = new ControllerExpectations();
  private readonly client: Client;
  private readonly recorder: EventRecorder;
  private readonly jobs: Informer<Job>;
  private readonly pods: Informer<Pod>;
  private readonly now: () => Date;
  private readonly backoffBase: number;
  private readonly backoffMax: number;
  private readonly backoff = new Map<string, BackoffRecord>();

  constructor(o: JobControllerOptions) {
    super('job', logger('job-controller'));
    this.client = o.client;
    this.recorder = o.recorder;
    this.now = o.now ?? (() => new Date());
    this.backoffBase = o.backoffBaseMs ?? DEFAULT_BACKOFF_MS;
    this.backoffMax = o.backoffMaxMs ?? MAX_BACKOFF_MS;
    if (this.backoffBase <= 0 || this.backoffMax < this.backoffBase) throw new Error('job controller: backoff must be positive and its cap at least the base');
    this.jobs = o.informers.informerFor<Job>(R.jobs);
    this.pods = o.informers.informerFor<Pod>(R.pods);
    this.jobs.addEventHandler({
      onAdd: (j) => this.enqueue(j),
      onUpdate: (_, j) => this.enqueue(j),
      onDelete: (j) => {
        const key = objectKey(j);
        this.expectations.delete(key);
        this.backoff.delete(key);
        // Its pods' finalizers must still go, or they would never be removed.
        for (const p of this.pods.lister.list({ namespace: j.metadata.namespace })) if (controllerOf(p)?.uid === j.metadata.uid && hasFinalizer(p)) this.queue.add(orphanKey(p));
      },
    });
    this.pods.addEventHandler({
      onAdd: (p) => this.podChanged(undefined, p),
      onUpdate: (old, p) => this.podChanged(old, p),
      onDelete: (p) => this.podDeleted(p),
    });
  }

  private enqueue(j: Job): void {
    this.queue.add(objectKey(j));
  }

  private owner(pod: Pod): Job | undefined {
    const ref = controllerOf(pod);
    if (!ref || ref.kind !== ownerKind.kind) return undefined;
    const j = this.jobs.lister.get(`${pod.metadata.namespace}/${ref.name}`);
    return j?.metadata.uid === ref.uid ? j : undefined;
  }

  private podChanged(old: Pod | undefined, pod: Pod): void {
    if (old && old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
    const job = this.owner(pod);
    if (!job) {
      if (controllerOf(pod)?.kind === ownerKind.kind && hasFinalizer(pod)) this.queue.add(orphanKey(pod));
      return;
    }
    if (!old) this.expectations.creationObserved(objectKey(job));
    else if (pod.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) this.expectations.deletionObserved(objectKey(job), objectKey(pod));
    this.enqueue(job);
  }

  private podDeleted(pod: Pod): void {
    const job = this.owner(pod);
    if (!job) return;
    this.expectations.deletionObserved(objectKey(job), objectKey(pod));
    this.enqueue(job);
  }

  async sync(key: string): Promise<void> {
    if (key.startsWith(orphanPrefix)) return this.syncOrphanPod(key.slice(orphanPrefix.length));
    const cached = this.jobs.lister.get(key);
    if (!cached) {
      this.expectations.delete(key);
      this.backoff.delete(key);
      return;
    }
    const job = deepCopy(cached);
    const { namespace } = splitKey(key);
    const podClient = this.client.resource<Pod>(R.pods, namespace);
    const pods = await claimObjects(this.pods.lister.list({ namespace }), {
      owner: job,
      ownerRef: controllerRefFor(job, ownerKind.apiVersion, ownerKind.kind),
      matches: labelSelectorMatcher(job.spec?.selector),
      client: podClient,
      canAdopt: async () => {
        const fresh = await this.client.resource<Job>(R.jobs, namespace).get(job.metadata.name!);
        if (fresh.metadata.uid !== job.metadata.uid || fresh.metadata.deletionTimestamp) throw errors.conflict('jobs', job.metadata.name!, 'original Job is gone or being deleted, cannot adopt', 'batch');
      },
    });

    // A finished Job only lets go of its pods.
    if (isJobFinished(job)) {
      await this.removeFinalizers(podClient, pods.filter(hasFinalizer));
      return;
    }
    await new JobSync(this, job, pods, podClient, key).run();
  }

  /** A pod whose Job is gone keeps no finalizer of ours (syncOrphanPod). */
  private async syncOrphanPod(podKey: string): Promise<void> {
    const pod = this.pods.lister.get(podKey);
    if (!pod || !hasFinalizer(pod) || this.owner(pod)) return;
    await this.removeFinalizers(this.client.resource<Pod>(R.pods, pod.metadata.namespace), [pod]);
  }

  async removeFinalizers(podClient: ReturnType<Client['resource']>, pods: Pod[]): Promise<Set<string>> {
    const removed = new Set<string>();
    const results = await Promise.allSettled(pods.map(async (p) => {
      const finalizers = (p.metadata.finalizers ?? []).filter((f) => f !== jobTrackingFinalizer);
      try {
        await podClient.patch(p.metadata.name!, 'merge', { metadata: { finalizers: finalizers.length ? finalizers : null, uid: p.metadata.uid } });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      removed.add(p.metadata.uid!);
    }));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return removed;
  }

  // What JobSync needs of the controller.
  get deps() {
    return { client: this.client, recorder: this.recorder, now: this.now, expectations: this.expectations, queue: this.queue, backoff: this.backoff, backoffBase: this.backoffBase, backoffMax: this.backoffMax, log: this.log };
  }
}

const orphanPrefix = 'orphan-pod:';
const orphanKey = (p: Pod) => `${orphanPrefix}${objectKey(p)}`;

/** One level-based pass over one Job: count, decide, act, write status. */
class JobSync {
  private readonly d: JobController['deps'];
  private readonly now: Date;
  private readonly indexed: boolean;
  private readonly completions: number | undefined;
  private readonly status: any;

  constructor(private readonly c: JobController, private job: Job, private readonly pods: Pod[], private readonly podClient: ReturnType<Client['resource']>, private readonly key: string) {
    this.d = c.deps;
    this.now = this.d.now();
    this.indexed = job.spec?.completionMode === 'Indexed';
    this.completions = typeof job.spec?.completions === 'number' ? job.spec.completions : undefined;
    this.status = deepCopy(job.status ?? {});
  }

  private setCondition(type: string, status: 'True' | 'False', reason: string, message: string): boolean {
    const conds: Condition[] = (this.status.conditions ??= []);
    const t = metaTime(this.now);
    const c = conds.find((x) => x.type === type);
    if (c) {
      if (c.status === status && c.reason === reason && c.message === message) return false;
      if (c.status !== status) c.lastTransitionTime = t;
      Object.assign(c, { status, reason, message, lastProbeTime: t });
      return true;
    }
    conds.push({ type, status, lastProbeTime: t, lastTransitionTime: t, reason, message });
    return true;
  }

  private has(type: string): Condition | undefined {
    return (this.status.conditions ?? []).find((c: Condition) => c.type === type && c.status === 'True');
  }

  async run(): Promise<void> {
    const job = this.job;
    const spec = job.spec ?? {};
    const st = this.status;
    const nowMs = this.now.getTime();
    const uncounted = { succeeded: [...(st.uncountedTerminatedPods?.succeeded ?? [])] as string[], failed: [...(st.uncountedTerminatedPods?.failed ?? [])] as string[] };
    const isUncounted = (uid: string) => uncounted.succeeded.includes(uid) || uncounted.failed.includes(uid);
    const completed = this.indexed ? parseIndexes(st.completedIndexes, this.completions ?? 0) : new Set<number>();
    const interim = () => this.has('FailureTarget') ?? this.has('SuccessCriteriaMet');
    const onlyReplaceFailed = spec.podReplacementPolicy === 'Failed';

    // isPodFailed: the Failed phase, or (without a pod failure policy) a pod deleted before it succeeded.
    const considerFailed = (p: Pod) => {
      if (p.status?.phase === 'Failed') return true;
      if (onlyReplaceFailed || spec.podFailurePolicy) return false;
      // A pod the controller itself stopped for suspension is not a failure.
      if (spec.suspend) return false;
      return !!p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded';
    };

    // 1. Count what finished since the last sync (trackJobStatusAndRemoveFinalizers).
    let failJobMessage: string | undefined;
    const toRelease: Pod[] = [];
    let newSucceeded = 0;
    let newFailed = 0;
    let lastNewFailure = 0;
    for (const p of this.pods) {
      if (!hasFinalizer(p)) continue;
      const uid = p.metadata.uid!;
      if (isUncounted(uid)) {
        toRelease.push(p);
        continue;
      }
      if (uncounted.succeeded.length + uncounted.failed.length >= MAX_UNCOUNTED) break;
      const ix = podIndex(p);
      const validIndex = !this.indexed || (ix !== undefined && ix < (this.completions ?? 0));
      if (p.status?.phase === 'Succeeded') {
        if (validIndex && !(this.indexed && completed.has(ix!))) {
          uncounted.succeeded.push(uid);
          newSucceeded++;
          if (this.indexed) completed.add(ix!);
        }
        toRelease.push(p);
      } else if (considerFailed(p) || (interim() && !this.indexed && p.metadata.deletionTimestamp)) {
        if (!validIndex) {
          toRelease.push(p);
          continue;
        }
        const m = p.status?.phase === 'Failed' ? matchPodFailurePolicy(spec.podFailurePolicy?.rules, p) : undefined;
        toRelease.push(p);
        if (m?.action === 'Ignore') continue;
        if (m?.action === 'FailJob') failJobMessage ??= m.message;
        uncounted.failed.push(uid);
        newFailed++;
        lastNewFailure = Math.max(lastNewFailure, finishTime(p));
      }
    }

    // kube's backoff record: a success resets it, failures add to it.
    if (newSucceeded || newFailed) {
      const rec = this.d.backoff.get(this.key) ?? { failuresAfterLastSuccess: 0, lastFailureTime: 0 };
      if (newSucceeded) rec.failuresAfterLastSuccess = 0;
      if (newFailed) {
        rec.failuresAfterLastSuccess += newFailed;
        rec.lastFailureTime = Math.max(rec.lastFailureTime, lastNewFailure || nowMs);
      }
      this.d.backoff.set(this.key, rec);
    }

    const succeededTotal = this.indexed ? completed.size : (st.succeeded ?? 0) + uncounted.succeeded.length;
    const failedTotal = (st.failed ?? 0) + uncounted.failed.length;
    let active = this.pods.filter((p) => !isTerminal(p) && !p.metadata.deletionTimestamp);
    let terminating = this.pods.filter((p) => !isTerminal(p) && p.metadata.deletionTimestamp).length;

    // 2. Decide whether the Job has met its end (the interim conditions).
    const events: [type: 'Normal' | 'Warning', reason: string, message: string][] = [];
    if (!interim()) {
      const backoffLimit = spec.backoffLimit ?? 6;
      const ads = spec.activeDeadlineSeconds;
      if (failJobMessage) this.setCondition('FailureTarget', 'True', 'PodFailurePolicy', failJobMessage);
      else if (failedTotal > backoffLimit || pastBackoffLimitOnFailure(job, active)) this.setCondition('FailureTarget', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
      else if (typeof ads === 'number' && st.startTime && !spec.suspend && nowMs - Date.parse(st.startTime) >= ads * 1000) this.setCondition('FailureTarget', 'True', 'DeadlineExceeded', 'Job was active longer than specified deadline');
      else {
        const done = this.completions === undefined ? succeededTotal > 0 && active.length === 0 : succeededTotal >= this.completions;
        if (done) this.setCondition('SuccessCriteriaMet', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods');
      }
    }
    const target = interim();

    // 3. Act: stop what runs when finished or suspended, else run what is missing.
    const satisfied = this.d.expectations.satisfied(this.key);
    let manageError: unknown;
    if (target) {
      if (active.length) {
        terminating += await this.deletePods(active);
        active = [];
      }
    } else if (spec.suspend) {
      if (active.length) {
        terminating += await this.deletePods(active);
        active = [];
      }
      if (this.setCondition('Suspended', 'True', 'JobSuspended', 'Job suspended')) events.push(['Normal', 'Suspended', 'Job suspended']);
    } else {
      if (this.has('Suspended')) {
        this.setCondition('Suspended', 'False', 'JobResumed', 'Job resumed');
        events.push(['Normal', 'Resumed', 'Job resumed']);
        // The deadline counts from the resume.
        st.startTime = metaTime(this.now);
      }
      st.startTime ??= metaTime(this.now);
      if (satisfied) {
        try {
          const r = await this.manage(active, terminating, succeededTotal, completed);
          active = r.active;
          terminating += r.deleted;
        } catch (e) {
          manageError = e;
        }
      }
      if (typeof spec.activeDeadlineSeconds === 'number') {
        this.d.queue.addAfter(this.key, Math.max(0, Date.parse(st.startTime) + spec.activeDeadlineSeconds * 1000 - nowMs) + 1);
      }
    }

    // 4. Write status: counts, the uids about to be released, conditions.
    st.active = active.length;
    st.ready = active.filter(isPodReady).length;
    st.terminating = terminating;
    if (this.indexed) st.completedIndexes = formatIndexes(completed);
    st.uncountedTerminatedPods = uncountedStatus(uncounted.succeeded, uncounted.failed);
    await this.writeStatus();

    // 5. Release the counted pods, then move them from uncounted to the counters.
    const released = await this.c.removeFinalizers(this.podClient, toRelease);
    const gone = (uid: string) => released.has(uid) || !this.pods.some((p) => p.metadata.uid === uid && hasFinalizer(p));
    const flushS = uncounted.succeeded.filter(gone);
    const flushF = uncounted.failed.filter(gone);
    st.succeeded = this.indexed ? completed.size : (st.succeeded ?? 0) + flushS.length;
    st.failed = (st.failed ?? 0) + flushF.length;
    st.uncountedTerminatedPods = uncountedStatus(uncounted.succeeded.filter((u) => !flushS.includes(u)), uncounted.failed.filter((u) => !flushF.includes(u)));

    // 6. The final condition once nothing runs and nothing is left uncounted.
    const left = (st.uncountedTerminatedPods.succeeded?.length ?? 0) + (st.uncountedTerminatedPods.failed?.length ?? 0);
    if (target && st.active === 0 && terminating === 0 && left === 0) {
      if (target.type === 'SuccessCriteriaMet') {
        this.setCondition('Complete', 'True', target.reason!, target.message!);
        st.completionTime = metaTime(this.now);
        events.push(['Normal', 'Completed', 'Job completed']);
      } else {
        this.setCondition('Failed', 'True', target.reason!, target.message!);
        events.push(['Warning', target.reason!, target.message!]);
      }
    }
    await this.writeStatus();
    for (const [t, r, m] of events) this.d.recorder.event(this.job, t, r, m);
    if (manageError) throw manageError;
  }

  private async writeStatus(): Promise<void> {
    if (JSON.stringify(normalize(this.status)) === JSON.stringify(normalize(this.job.status ?? {}))) return;
    try {
      this.job = await this.d.client.resource<Job>(R.jobs, this.job.metadata.namespace).updateStatus({ ...this.job, status: deepCopy(this.status) });
    } catch (e) {
      if (isConflict(e)) this.d.log.debug('job status conflict, requeued', { job: this.key });
      throw e;
    }
  }

  /** manageJob: create or delete pods toward the wanted number of active ones. Returns the active pods after and how many it deleted. */
  private async manage(active: Pod[], terminating: number, succeeded: number, completed: Set<number>): Promise<{ active: Pod[]; deleted: number }> {
    const spec = this.job.spec;
    const parallelism = spec.parallelism ?? 1;
    let want: number;
    if (this.completions === undefined) want = succeeded > 0 ? 0 : parallelism;
    else want = Math.max(0, Math.min(parallelism, this.completions - succeeded));
    let deleted = 0;

    if (this.indexed) {
      // Duplicates of an index and indexes out of range go first.
      const seen = new Set<number>();
      const extra: Pod[] = [];
      for (const p of [...active].sort((a, b) => -compareForDeletion(a, b))) {
        const ix = podIndex(p);
        if (ix === undefined || ix >= (this.completions ?? 0) || completed.has(ix) || seen.has(ix)) extra.push(p);
        else seen.add(ix);
      }
      if (extra.length) {
        deleted += await this.deletePods(extra);
        active = active.filter((p) => !extra.includes(p));
      }
    }
    const surplus = active.length - want;
    if (surplus > 0) {
      const victims = [...active].sort(compareForDeletion).slice(0, Math.min(surplus, MAX_PODS_CREATE_DELETE));
      deleted += await this.deletePods(victims);
      return { active: active.filter((p) => !victims.includes(p)), deleted };
    }
    // With podReplacementPolicy Failed, a pod still terminating holds its place.
    const holding = spec.podReplacementPolicy === 'Failed' ? terminating : 0;
    let missing = Math.min(want - active.length - holding, MAX_PODS_CREATE_DELETE);
    if (missing <= 0) return { active, deleted };
    const wait = backoffRemaining(this.d.backoff.get(this.key), this.now.getTime(), this.d.backoffBase, this.d.backoffMax);
    if (wait > 0) {
      this.d.queue.addAfter(this.key, wait);
      return { active, deleted };
    }
    const indexes: (number | undefined)[] = [];
    if (this.indexed) {
      const running = new Set(active.map(podIndex));
      for (let i = 0; i < (this.completions ?? 0) && indexes.length < missing; i++) if (!completed.has(i) && !running.has(i)) indexes.push(i);
      missing = indexes.length;
    } else for (let i = 0; i < missing; i++) indexes.push(undefined);
    if (!missing) return { active, deleted };

    this.d.expectations.expectCreations(this.key, missing);
    const created: Pod[] = [];
    let next = 0;
    const { successes, error } = await slowStartBatch(missing, 1, async () => {
      const ix = indexes[next++];
      try {
        const pod = await this.podClient.create(this.podFromTemplate(ix) as any) as Pod;
        created.push(pod);
        this.d.recorder.event(this.job, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
      } catch (err) {
        this.d.recorder.event(this.job, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`);
        throw err;
      }
    });
    for (let i = successes; i < missing; i++) this.d.expectations.creationObserved(this.key);
    if (error) throw error;
    return { active: [...active, ...created], deleted };
  }

  private podFromTemplate(index: number | undefined): Pod {
    const job = this.job;
    const t = job.spec.template ?? {};
    const spec = deepCopy(t.spec ?? {});
    const labels: Record<string, string> = { ...t.metadata?.labels };
    const annotations: Record<string, string> = { ...t.metadata?.annotations };
    let generateName = `${job.metadata.name}-`;
    if (index !== undefined) {
      annotations[completionIndexAnnotation] = String(index);
      labels[completionIndexAnnotation] = String(index);
      generateName = `${job.metadata.name}-${index}-`;
      // A stable hostname per index, as kube sets it when the template names none.
      if (!spec.hostname) spec.hostname = `${job.metadata.name}-${index}`.slice(0, 63).replace(/[-.]+$/, '');
      const env = { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${completionIndexAnnotation}']` } } };
      for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
        if (!(c.env ?? []).some((e: { name: string }) => e.name === env.name)) c.env = [...(c.env ?? []), deepCopy(env)];
      }
    }
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName,
        namespace: job.metadata.namespace,
        labels,
        ...(Object.keys(annotations).length ? { annotations } : {}),
        ownerReferences: [controllerRefFor(job, ownerKind.apiVersion, ownerKind.kind)],
        finalizers: [jobTrackingFinalizer],
      },
      spec,
    };
  }

  /** Deletes the pods; returns how many are now terminating. */
  private async deletePods(pods: Pod[]): Promise<number> {
    this.d.expectations.expectDeletions(this.key, pods.map(objectKey));
    let n = 0;
    const results = await Promise.allSettled(pods.map(async (p) => {
      try {
        await this.podClient.delete(p.metadata.name!);
        n++;
        this.d.recorder.event(this.job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
      } catch (err) {
        this.d.expectations.deletionObserved(this.key, objectKey(p));
        if (isNotFound(err)) return;
        this.d.recorder.event(this.job, 'Warning', 'FailedDelete', `Error deleting: ${(err as Error).message}`);
        throw err;
      }
    }));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return n;
  }
}

/** pastBackoffLimitOnFailure: with restartPolicy OnFailure the kubelet restarts containers in place, so restarts are the failures. */
export function pastBackoffLimitOnFailure(job: Job, active: Pod[]): boolean {
  if (job.spec?.template?.spec?.restartPolicy !== 'OnFailure') return false;
  let restarts = 0;
  for (const p of active) {
    if (p.status?.phase !== 'Running' && p.status?.phase !== 'Pending') continue;
    for (const s of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])] as { restartCount?: number }[]) restarts += s.restartCount ?? 0;
  }
  const limit = job.spec?.backoffLimit ?? 6;
  return limit === 0 ? restarts > 0 : restarts >= limit;
}

/** As kube serializes it: empty lists are omitted, the object stays. */
const uncountedStatus = (succeeded: string[], failed: string[]) => ({ ...(succeeded.length ? { succeeded } : {}), ...(failed.length ? { failed } : {}) });


/** Status as compared for "changed": empty uncounted lists are no change. */
function normalize(st: any): any {
  const c = deepCopy(st);
  const u = c.uncountedTerminatedPods;
  if (u && !u.succeeded?.length && !u.failed?.length) delete c.uncountedTerminatedPods;
  for (const k of ['active', 'ready', 'terminating', 'succeeded', 'failed']) if (!c[k]) delete c[k];
  if (!c.completedIndexes) delete c.completedIndexes;
  return c;
}

import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../../api/defaults.js';
import { kindOf } from '../../api/kind.js';
import { R } from '../../api/resources.js';
import type { KubeObject, Pod } from '../../api/types.js';
import { objectKey } from '../../api/types.js';
import { FakeInformerFactory, FakeRecorder, RecordingClient } from '../testing/fake.js';
import { backoffRemaining, JobController, jobTrackingFinalizer } from './job.js';
import { formatIndexes, parseIndexes } from './indexes.js';

function makeJob(name: string, spec: Record<string, unknown> = {}, restartPolicy = 'Never'): KubeObject {
  const job: KubeObject = {
    apiVersion: 'batch/v1', kind: 'Job',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { ...spec, template: { spec: { restartPolicy, containers: [{ name: 'c', image: 'busybox' }] } } },
  };
  applyDefaults(R.jobs, job);
  kindOf(R.jobs).strategy!.afterDefaults!(job, undefined);
  return job;
}

/** A controller over fake informers; `reflect` plays the watch: the store's objects go to the informers with events. */
function setup(job: KubeObject) {
  const informers = new FakeInformerFactory();
  const client = new RecordingClient();
  const recorder = new FakeRecorder();
  let now = new Date('2026-01-01T00:00:00Z');
  const c = new JobController({ client, informers, recorder, now: () => now });
  const jobs = informers.informerFor<KubeObject>(R.jobs);
  const pods = informers.informerFor<Pod>(R.pods);
  client.seed('jobs', job);
  let rv = 10;
  const reflect = () => {
    for (const [plural, inf] of [['jobs', jobs], ['pods', pods]] as const) {
      const live = new Map<string, KubeObject>();
      for (const [k, o] of client.store) if (k.startsWith(`${plural}/`)) live.set(objectKey(o), o);
      for (const [k, o] of live) {
        const cur = inf.get(k);
        if (!cur) {
          o.metadata.resourceVersion = String(++rv);
          (inf as any).emitAdd(structuredClone(o));
        } else if (JSON.stringify({ ...cur, metadata: { ...cur.metadata, resourceVersion: '' } }) !== JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: '' } })) {
          o.metadata.resourceVersion = String(++rv);
          (inf as any).emitUpdate(structuredClone(o));
        }
      }
      for (const k of [...inf.items.keys()]) if (!live.has(k)) (inf as any).emitDelete(inf.get(k));
    }
  };
  reflect();
  const sync = async () => {
    reflect();
    await c.sync('default/' + job.metadata.name);
    reflect();
  };
  const podsInStore = () => [...client.store].filter(([k]) => k.startsWith('pods/')).map(([, o]) => o as Pod);
  const setPhase = (p: Pod, phase: 'Succeeded' | 'Failed' | 'Running', extra: Partial<NonNullable<Pod['status']>> = {}) => {
    const s = client.store.get(`pods/default/${p.metadata.name}`)!;
    s.status = { ...s.status, phase, ...extra };
    reflect();
  };
  const stored = () => client.store.get(`jobs/default/${job.metadata.name}`)!;
  return { c, client, recorder, sync, podsInStore, setPhase, stored, advance: (ms: number) => (now = new Date(now.getTime() + ms)) };
}

const cond = (job: KubeObject, type: string) => (job.status?.conditions ?? []).find((c: any) => c.type === type);

describe('Job controller', () => {
  it('runs completions 3 with parallelism 2 to Complete, counting through uncountedTerminatedPods and the finalizer', async () => {
    const t = setup(makeJob('pi', { completions: 3, parallelism: 2 }));
    await t.sync();
    let pods = t.podsInStore();
    expect(pods).toHaveLength(2);
    for (const p of pods) {
      expect(p.metadata.finalizers).toEqual([jobTrackingFinalizer]);
      expect(p.metadata.generateName).toBe('pi-');
      expect(p.metadata.labels).toMatchObject({ 'batch.kubernetes.io/job-name': 'pi', 'batch.kubernetes.io/controller-uid': 'uid-pi' });
      expect(p.metadata.ownerReferences).toEqual([{ apiVersion: 'batch/v1', kind: 'Job', name: 'pi', uid: 'uid-pi', controller: true, blockOwnerDeletion: true }]);
    }
    expect(t.stored().status).toMatchObject({ active: 2, startTime: '2026-01-01T00:00:00Z' });

    t.setPhase(pods[0], 'Succeeded');
    await t.sync();
    // The uid was recorded as uncounted before its finalizer went, then counted.
    const statuses = t.client.of('updateStatus', 'jobs').map((a) => a.object!.status);
    expect(statuses.some((s) => s.uncountedTerminatedPods?.succeeded?.includes(pods[0].metadata.uid))).toBe(true);
    expect(t.podsInStore().find((p) => p.metadata.name === pods[0].metadata.name)!.metadata.finalizers).toBeUndefined();
    expect(t.stored().status).toMatchObject({ succeeded: 1, active: 2 });
    expect(t.podsInStore()).toHaveLength(3);

    pods = t.podsInStore().filter((p) => p.status?.phase !== 'Succeeded');
    for (const p of pods) t.setPhase(p, 'Succeeded');
    await t.sync();
    const st = t.stored().status;
    expect(st.succeeded).toBe(3);
    expect(cond(t.stored(), 'SuccessCriteriaMet')).toMatchObject({ status: 'True', reason: 'CompletionsReached' });
    expect(cond(t.stored(), 'Complete')).toMatchObject({ status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' });
    expect(st.completionTime).toBe('2026-01-01T00:00:00Z');
    expect(t.recorder.events).toContain('Normal Completed Job completed');
  });

  it('backs off 10 s, then 20 s, after failures, and fails with BackoffLimitExceeded past backoffLimit', async () => {
    const t = setup(makeJob('f', { backoffLimit: 1 }));
    await t.sync();
    const [p1] = t.podsInStore();
    t.setPhase(p1, 'Failed', { containerStatuses: [{ name: 'c', state: { terminated: { exitCode: 1, finishedAt: '2026-01-01T00:00:00Z' } } }] as any });
    await t.sync();
    expect(t.stored().status.failed).toBe(1);
    // No replacement inside the back-off.
    expect(t.podsInStore().filter((p) => p.status?.phase !== 'Failed')).toHaveLength(0);
    t.advance(10_001);
    await t.sync();
    const [p2] = t.podsInStore().filter((p) => p.status?.phase !== 'Failed');
    expect(p2).toBeDefined();
    t.setPhase(p2, 'Failed');
    await t.sync();
    const st = t.stored().status;
    expect(st.failed).toBe(2);
    expect(cond(t.stored(), 'FailureTarget')).toMatchObject({ reason: 'BackoffLimitExceeded' });
    expect(cond(t.stored(), 'Failed')).toMatchObject({ status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
    expect(st.completionTime).toBeUndefined();
    expect(t.recorder.events).toContain('Warning BackoffLimitExceeded Job has reached the specified backoff limit');
  });

  it('computes the back-off as kube: 10 s doubling, capped at 6 min', () => {
    expect(backoffRemaining({ failuresAfterLastSuccess: 0, lastFailureTime: 0 }, 0)).toBe(0);
    expect(backoffRemaining({ failuresAfterLastSuccess: 1, lastFailureTime: 0 }, 0)).toBe(10_000);
    expect(backoffRemaining({ failuresAfterLastSuccess: 3, lastFailureTime: 0 }, 5_000)).toBe(35_000);
    expect(backoffRemaining({ failuresAfterLastSuccess: 10, lastFailureTime: 0 }, 0)).toBe(360_000);
  });

  it('fails with DeadlineExceeded after activeDeadlineSeconds and deletes the running pods', async () => {
    const t = setup(makeJob('d', { activeDeadlineSeconds: 30 }));
    await t.sync();
    expect(t.podsInStore()).toHaveLength(1);
    t.advance(31_000);
    await t.sync();
    expect(t.client.of('delete', 'pods')).toHaveLength(1);
    expect(cond(t.stored(), 'FailureTarget')).toMatchObject({ reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' });
    // Failed only once the deleted pod is gone.
    expect(cond(t.stored(), 'Failed')).toBeUndefined();
    await t.sync();
    expect(cond(t.stored(), 'Failed')).toMatchObject({ reason: 'DeadlineExceeded' });
  });

  it('runs an Indexed job: one pod per index with the annotation, label, hostname and JOB_COMPLETION_INDEX', async () => {
    const t = setup(makeJob('ix', { completions: 3, parallelism: 3, completionMode: 'Indexed' }));
    await t.sync();
    const pods = t.podsInStore();
    expect(pods.map((p) => p.metadata.annotations!['batch.kubernetes.io/job-completion-index']).sort()).toEqual(['0', '1', '2']);
    const p1 = pods.find((p) => p.metadata.annotations!['batch.kubernetes.io/job-completion-index'] === '1')!;
    expect(p1.metadata.generateName).toBe('ix-1-');
    expect(p1.metadata.labels!['batch.kubernetes.io/job-completion-index']).toBe('1');
    expect(p1.spec.hostname).toBe('ix-1');
    expect(p1.spec.containers[0].env).toEqual([{ name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } }]);
    t.setPhase(p1, 'Succeeded');
    await t.sync();
    expect(t.stored().status).toMatchObject({ completedIndexes: '1', succeeded: 1 });
    // A failed index gets a fresh pod for the same index.
    const p0 = pods.find((p) => p.metadata.annotations!['batch.kubernetes.io/job-completion-index'] === '0')!;
    t.setPhase(p0, 'Failed');
    await t.sync();
    t.advance(10_001);
    await t.sync();
    const again = t.podsInStore().filter((p) => p.metadata.annotations!['batch.kubernetes.io/job-completion-index'] === '0' && !p.status?.phase);
    expect(again).toHaveLength(1);
  });

  it('follows podFailurePolicy: Ignore does not count, FailJob fails the Job with reason PodFailurePolicy', async () => {
    const t = setup(makeJob('pfp', {
      backoffLimit: 6,
      podFailurePolicy: { rules: [
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] },
        { action: 'FailJob', onExitCodes: { containerName: 'c', operator: 'In', values: [42] } },
      ] },
    }));
    await t.sync();
    const [p1] = t.podsInStore();
    t.setPhase(p1, 'Failed', { conditions: [{ type: 'DisruptionTarget', status: 'True' }] } as any);
    await t.sync();
    expect(t.stored().status.failed ?? 0).toBe(0);
    expect(t.podsInStore().find((p) => p.metadata.name === p1.metadata.name)!.metadata.finalizers).toBeUndefined();
    const [p2] = t.podsInStore().filter((p) => !p.status?.phase);
    t.setPhase(p2, 'Failed', { containerStatuses: [{ name: 'c', state: { terminated: { exitCode: 42 } } }] } as any);
    await t.sync();
    expect(cond(t.stored(), 'Failed')).toMatchObject({ reason: 'PodFailurePolicy', message: `Container c for pod default/${p2.metadata.name} failed with exit code 42 matching FailJob rule at index 1` });
  });

  it('suspends (deletes active pods, Suspended condition) and resumes', async () => {
    const job = makeJob('s', { parallelism: 2, completions: 4 });
    const t = setup(job);
    await t.sync();
    expect(t.podsInStore()).toHaveLength(2);
    const j = t.stored();
    j.spec.suspend = true;
    await t.sync();
    expect(t.podsInStore()).toHaveLength(0);
    expect(cond(t.stored(), 'Suspended')).toMatchObject({ status: 'True', reason: 'JobSuspended', message: 'Job suspended' });
    expect(t.stored().status.failed ?? 0).toBe(0);
    t.stored().spec.suspend = false;
    t.advance(5_000);
    await t.sync();
    expect((t.stored().status.conditions as any[]).find((c) => c.type === 'Suspended')).toMatchObject({ status: 'False', reason: 'JobResumed' });
    expect(t.stored().status.startTime).toBe('2026-01-01T00:00:05Z');
    expect(t.podsInStore()).toHaveLength(2);
  });

  it('counts container restarts of OnFailure pods against backoffLimit', async () => {
    const t = setup(makeJob('of', { backoffLimit: 2 }, 'OnFailure'));
    await t.sync();
    const [p] = t.podsInStore();
    t.setPhase(p, 'Running', { containerStatuses: [{ name: 'c', restartCount: 2 }] } as any);
    await t.sync();
    expect(cond(t.stored(), 'FailureTarget')).toMatchObject({ reason: 'BackoffLimitExceeded' });
  });

  it('removes the tracking finalizer from the pods of a deleted Job', async () => {
    const t = setup(makeJob('gone'));
    await t.sync();
    const [p] = t.podsInStore();
    t.client.store.delete('jobs/default/gone');
    // reflect through a sync of the (now missing) job.
    await t.sync();
    await t.c.sync(`orphan-pod:default/${p.metadata.name}`);
    expect(t.podsInStore()[0].metadata.finalizers).toBeUndefined();
  });
});

describe('completedIndexes', () => {
  it('folds runs and parses them back, ignoring indexes past completions', () => {
    expect(formatIndexes([7, 1, 3, 4, 5])).toBe('1,3-5,7');
    expect([...parseIndexes('1,3-5,7', 5)]).toEqual([1, 3, 4]);
  });
});

import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../../api/defaults.js';
import { R } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { parseSchedule } from '../../api/kinds/batch/schedule/cron.js';
import { FakeInformerFactory, FakeRecorder, RecordingClient } from '../testing/fake.js';
import { CronJobController, formatInZone, mostRecentScheduleTime } from './cronjob.js';
import { TTLAfterFinishedController } from '../ttlafterfinished/ttlafterfinished.js';

function makeCronJob(spec: Record<string, unknown> = {}): KubeObject {
  const cj: KubeObject = {
    apiVersion: 'batch/v1', kind: 'CronJob',
    metadata: { name: 'hello', namespace: 'default', uid: 'uid-hello', creationTimestamp: '2026-01-01T00:00:30Z' },
    spec: {
      schedule: '*/1 * * * *',
      jobTemplate: { metadata: { labels: { team: 'a' } }, spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'busybox' }] } } } },
      ...spec,
    },
    status: {},
  };
  applyDefaults(R.cronjobs, cj);
  return cj;
}

function ownedJob(name: string, finished?: 'Complete' | 'Failed', time = '2026-01-01T00:01:00Z'): KubeObject {
  return {
    apiVersion: 'batch/v1', kind: 'Job',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: time, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'hello', uid: 'uid-hello', controller: true }] },
    spec: {},
    status: { startTime: time, ...(finished ? { conditions: [{ type: finished, status: 'True', lastTransitionTime: time }], ...(finished === 'Complete' ? { completionTime: time } : {}) } : {}) },
  };
}

function setup(cj: KubeObject, jobs: KubeObject[] = [], at = '2026-01-01T00:01:10Z') {
  const informers = new FakeInformerFactory();
  const client = new RecordingClient();
  const recorder = new FakeRecorder();
  let now = new Date(at);
  const c = new CronJobController({ client, informers, recorder, now: () => now });
  informers.informerFor<KubeObject>(R.cronjobs).set(cj);
  informers.informerFor<KubeObject>(R.jobs).set(...jobs);
  client.seed('cronjobs', cj);
  client.seed('jobs', ...jobs);
  const stored = () => client.store.get('cronjobs/default/hello')!;
  return { c, client, recorder, stored, setNow: (t: string) => (now = new Date(t)) };
}

describe('CronJob controller', () => {
  it('creates the Job of the most recent schedule time, named by minutes since the epoch, and records it', async () => {
    const t = setup(makeCronJob());
    await t.c.sync('default/hello');
    const [create] = t.client.of('create', 'jobs');
    const minute = Date.parse('2026-01-01T00:01:00Z') / 60000;
    expect(create.object!.metadata).toMatchObject({
      name: `hello-${minute}`,
      labels: { team: 'a' },
      annotations: { 'batch.kubernetes.io/cronjob-scheduled-timestamp': '2026-01-01T00:01:00Z' },
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'hello', uid: 'uid-hello', controller: true, blockOwnerDeletion: true }],
    });
    expect(create.object!.spec.template.spec.restartPolicy).toBe('OnFailure');
    const st = t.stored().status;
    expect(st.lastScheduleTime).toBe('2026-01-01T00:01:00Z');
    expect(st.active).toEqual([expect.objectContaining({ kind: 'Job', name: `hello-${minute}`, namespace: 'default' })]);
    expect(t.recorder.events).toContain(`Normal SuccessfulCreate Created job hello-${minute}`);
  });

  it('creates nothing before the first schedule time after creation', async () => {
    const t = setup(makeCronJob(), [], '2026-01-01T00:00:50Z');
    await t.c.sync('default/hello');
    expect(t.client.of('create', 'jobs')).toHaveLength(0);
  });

  it('Forbid skips a run while one is active; Replace deletes the active one first', async () => {
    const running = ownedJob('hello-1');
    const forbid = makeCronJob({ concurrencyPolicy: 'Forbid' });
    forbid.status = { active: [{ kind: 'Job', name: 'hello-1', namespace: 'default', uid: 'uid-hello-1' }] };
    const t = setup(forbid, [running]);
    await t.c.sync('default/hello');
    expect(t.client.of('create', 'jobs')).toHaveLength(0);

    const replace = makeCronJob({ concurrencyPolicy: 'Replace' });
    replace.status = { active: [{ kind: 'Job', name: 'hello-1', namespace: 'default', uid: 'uid-hello-1' }] };
    const r = setup(replace, [running]);
    await r.c.sync('default/hello');
    expect(r.client.of('delete', 'jobs').map((a) => a.name)).toEqual(['hello-1']);
    expect(r.client.of('create', 'jobs')).toHaveLength(1);
    expect(r.stored().status.active.map((a: any) => a.name)).toEqual([`hello-${Date.parse('2026-01-01T00:01:00Z') / 60000}`]);
  });

  it('misses a start past startingDeadlineSeconds', async () => {
    const t = setup(makeCronJob({ startingDeadlineSeconds: 5 }));
    await t.c.sync('default/hello');
    expect(t.client.of('create', 'jobs')).toHaveLength(0);
  });

  it('warns of too many missed start times and runs only the most recent', async () => {
    const t = setup(makeCronJob(), [], '2026-01-01T03:00:10Z');
    await t.c.sync('default/hello');
    expect(t.recorder.events.some((e) => e.startsWith('Warning TooManyMissedTimes too many missed start times: 180.'))).toBe(true);
    expect(t.client.of('create', 'jobs').map((a) => a.name)).toEqual([`hello-${Date.parse('2026-01-01T03:00:00Z') / 60000}`]);
  });

  it('suspended: creates nothing', async () => {
    const t = setup(makeCronJob({ suspend: true }));
    await t.c.sync('default/hello');
    expect(t.client.of('create', 'jobs')).toHaveLength(0);
  });

  it('drops finished Jobs from active, records lastSuccessfulTime, and keeps the history limits', async () => {
    const cj = makeCronJob({ successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 0 });
    cj.status = { active: [{ kind: 'Job', name: 'hello-3', namespace: 'default', uid: 'uid-hello-3' }], lastScheduleTime: '2026-01-01T00:01:00Z' };
    const jobs = [ownedJob('hello-1', 'Complete', '2026-01-01T00:00:40Z'), ownedJob('hello-2', 'Failed', '2026-01-01T00:00:50Z'), ownedJob('hello-3', 'Complete', '2026-01-01T00:01:05Z')];
    const t = setup(cj, jobs);
    await t.c.sync('default/hello');
    const st = t.stored().status;
    expect(st.active).toBeUndefined();
    expect(st.lastSuccessfulTime).toBe('2026-01-01T00:01:05Z');
    expect(t.client.of('delete', 'jobs').map((a) => a.name).sort()).toEqual(['hello-1', 'hello-2']);
    expect(t.recorder.events).toContain('Normal SawCompletedJob Saw completed job: hello-3, condition: Complete');
  });

  it('finds the most recent time in a time zone and formats the annotation in it', () => {
    const cj = makeCronJob({ schedule: '0 9 * * *', timeZone: 'Asia/Tokyo' });
    const sched = parseSchedule(cj.spec.schedule, cj.spec.timeZone);
    const r = mostRecentScheduleTime(cj, new Date('2026-01-02T01:00:00Z'), sched);
    expect(r.scheduled!.toISOString()).toBe('2026-01-02T00:00:00.000Z');
    expect(formatInZone(r.scheduled!, 'Asia/Tokyo')).toBe('2026-01-02T09:00:00+09:00');
  });
});

describe('TTL-after-finished controller', () => {
  it('deletes a finished Job ttlSecondsAfterFinished after it finished', async () => {
    const informers = new FakeInformerFactory();
    const client = new RecordingClient();
    let now = new Date('2026-01-01T00:01:05Z');
    const c = new TTLAfterFinishedController({ client, informers, now: () => now });
    const job = ownedJob('done', 'Complete', '2026-01-01T00:01:00Z');
    job.spec.ttlSecondsAfterFinished = 10;
    informers.informerFor<KubeObject>(R.jobs).set(job);
    client.seed('jobs', job);
    await c.sync('default/done');
    expect(client.of('delete', 'jobs')).toHaveLength(0);
    now = new Date('2026-01-01T00:01:10Z');
    await c.sync('default/done');
    expect(client.of('delete', 'jobs')).toHaveLength(1);
    expect(client.store.has('jobs/default/done')).toBe(false);
  });
});

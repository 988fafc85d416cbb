// Jobs and CronJobs with the real kubectl against a Skiff cluster running
// real containers: a parallel Job completes, a failing one stops at its
// backoffLimit, an Indexed Job's pods see their index, a CronJob runs by
// hand (kubectl create job --from) and by its schedule (one real minute).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skiffUp, type TestCluster } from '../util/cluster.js';
import { waitFor } from '../util/ports.js';

const job = (name: string, spec: string, command: string, restartPolicy = 'Never') => `apiVersion: batch/v1
kind: Job
metadata:
  name: ${name}
spec:
${spec}
  template:
    spec:
      restartPolicy: ${restartPolicy}
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox:latest
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", ${JSON.stringify(command)}]
`;

const cronJob = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "*/1 * * * *"
  successfulJobsHistoryLimit: 1
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          terminationGracePeriodSeconds: 1
          containers:
          - name: main
            image: busybox:latest
            imagePullPolicy: IfNotPresent
            command: ["sh", "-c", "echo tick"]
`;

describe('Jobs and CronJobs against a Skiff cluster', () => {
  let c: TestCluster;
  const k = (args: string[], opts?: Parameters<TestCluster['kubectl']['ok']>[1]) => c.kubectl.ok(args, opts);

  beforeAll(async () => {
    c = await skiffUp({ nodes: 1 });
  }, 240_000);
  afterAll(async () => {
    await c?.down();
  });

  it('a Job with completions 3 and parallelism 2 completes; kubectl wait and get show it as kube', async () => {
    await k(['apply', '-f', '-'], { input: job('pi', '  completions: 3\n  parallelism: 2', 'echo 3.14159') });
    await k(['wait', '--for=condition=complete', 'job/pi', '--timeout=150s'], { timeoutMs: 160_000 });
    const j = await c.kubectl.json(['get', 'job', 'pi']);
    expect(j.status).toMatchObject({ succeeded: 3, ready: 0 });
    expect(j.status.active ?? 0).toBe(0);
    expect(j.status.conditions.map((x: { type: string }) => x.type)).toEqual(['SuccessCriteriaMet', 'Complete']);
    expect(j.metadata.labels['batch.kubernetes.io/job-name']).toBe('pi');
    expect(await k(['get', 'job', 'pi', '--no-headers'])).toMatch(/^pi\s+Complete\s+3\/3\s+\S+\s+\S+\s*$/);
    const pods = await c.kubectl.json(['get', 'pods', '-l', 'batch.kubernetes.io/job-name=pi']);
    expect(pods.items).toHaveLength(3);
    // Counted pods keep no job-tracking finalizer.
    for (const p of pods.items) expect(p.metadata.finalizers ?? []).not.toContain('batch.kubernetes.io/job-tracking');
    expect(await k(['logs', pods.items[0].metadata.name])).toBe('3.14159\n');
    // The field selector kube serves for Jobs.
    expect(await k(['get', 'jobs', '--field-selector=status.successful=3', '-o', 'name'])).toBe('job.batch/pi\n');
  }, 200_000);

  it('a failing Job stops at backoffLimit with the Failed condition BackoffLimitExceeded', async () => {
    await k(['apply', '-f', '-'], { input: job('fail', '  backoffLimit: 1', 'exit 3') });
    // One failure, the 10 s back-off, the second failure.
    await k(['wait', '--for=condition=failed', 'job/fail', '--timeout=150s'], { timeoutMs: 160_000 });
    const j = await c.kubectl.json(['get', 'job', 'fail']);
    expect(j.status.failed).toBe(2);
    const failed = j.status.conditions.find((x: { type: string }) => x.type === 'Failed');
    expect(failed).toMatchObject({ status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
    expect(await k(['get', 'job', 'fail', '--no-headers'])).toMatch(/^fail\s+Failed\s+0\/1\s/);
    const events = await k(['get', 'events', '--field-selector=involvedObject.name=fail', '-o', 'custom-columns=R:.reason', '--no-headers']);
    expect(events).toContain('BackoffLimitExceeded');
  }, 200_000);

  it('an Indexed Job\'s pods see JOB_COMPLETION_INDEX and their own hostname', async () => {
    await k(['apply', '-f', '-'], { input: job('ix', '  completions: 3\n  parallelism: 3\n  completionMode: Indexed', 'echo $JOB_COMPLETION_INDEX $(hostname)') });
    await k(['wait', '--for=condition=complete', 'job/ix', '--timeout=150s'], { timeoutMs: 160_000 });
    const j = await c.kubectl.json(['get', 'job', 'ix']);
    expect(j.status.completedIndexes).toBe('0-2');
    const pods = await c.kubectl.json(['get', 'pods', '-l', 'batch.kubernetes.io/job-name=ix']);
    const lines = await Promise.all(pods.items.map((p: { metadata: { name: string } }) => k(['logs', p.metadata.name])));
    expect(lines.map((l) => l.trim()).sort()).toEqual(['0 ix-0', '1 ix-1', '2 ix-2']);
  }, 200_000);

  it('refuses what kube refuses, suspends and resumes, describes, and removes a finished Job after its TTL', async () => {
    const always = await c.kubectl.run(['apply', '-f', '-'], { input: job('bad', '', 'true', 'Always') });
    expect(always.code).not.toBe(0);
    expect(always.stderr).toContain('spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"');
    const badCron = await c.kubectl.run(['apply', '-f', '-'], { input: cronJob.replace('"*/1 * * * *"', '"x"') });
    expect(badCron.stderr).toContain('spec.schedule: Invalid value: "x": expected exactly 5 fields, found 1: [x]');

    await k(['apply', '-f', '-'], { input: job('later', '  suspend: true\n  ttlSecondsAfterFinished: 20', 'echo later') });
    await k(['wait', '--for=condition=suspended', 'job/later', '--timeout=60s'], { timeoutMs: 70_000 });
    expect(await k(['get', 'job', 'later', '--no-headers'])).toMatch(/^later\s+Suspended\s+0\/1\s/);
    expect(await k(['get', 'pods', '-l', 'batch.kubernetes.io/job-name=later', '-o', 'name'])).toBe('');
    await k(['patch', 'job', 'later', '--type=merge', '-p', '{"spec":{"suspend":false}}']);
    await k(['wait', '--for=condition=complete', 'job/later', '--timeout=120s'], { timeoutMs: 130_000 });
    const described = await k(['describe', 'job', 'later']);
    expect(described).toMatch(/Pods Statuses:\s+0 Active \(0 Ready\) \/ 1 Succeeded \/ 0 Failed/);
    expect(described).toContain('Resumed');
    expect(await k(['get', 'job', 'later', '-o', 'wide', '--no-headers'])).toMatch(/^later\s+Complete\s+1\/1\s+\S+\s+\S+\s+main\s+busybox:latest\s+batch\.kubernetes\.io\/controller-uid=/);
    // ttl-after-finished-controller: gone 20 s after it finished (long enough for the checks above on a busy machine).
    await waitFor('the finished Job to be cleaned up', async () => (await c.kubectl.run(['get', 'job', 'later'])).stderr.includes('NotFound'), 60_000, 1000);
  }, 200_000);

  it('deleting a running Job removes its pods, job-tracking finalizer and all', async () => {
    await k(['apply', '-f', '-'], { input: job('sleepy', '  parallelism: 2\n  completions: 2', 'sleep 3600') });
    await waitFor('two running pods', async () => {
      const pods = await c.kubectl.json(['get', 'pods', '-l', 'batch.kubernetes.io/job-name=sleepy']);
      return pods.items.length === 2 && pods.items.every((p: any) => p.status.phase === 'Running' && p.metadata.finalizers?.includes('batch.kubernetes.io/job-tracking'));
    }, 90_000, 1000);
    expect((await c.kubectl.json(['get', 'job', 'sleepy'])).status).toMatchObject({ active: 2 });
    await k(['delete', 'job', 'sleepy', '--wait=false']);
    await waitFor('the pods to be gone', async () => (await k(['get', 'pods', '-l', 'batch.kubernetes.io/job-name=sleepy', '-o', 'name'])) === '', 90_000, 1000);
  }, 200_000);

  it('a CronJob runs by hand with kubectl create job --from, and by its */1 schedule', async () => {
    await k(['apply', '-f', '-'], { input: cronJob });
    expect(await k(['get', 'cj', 'tick', '--no-headers'])).toMatch(/^tick\s+\*\/1 \* \* \* \*\s+<none>\s+False\s+0\s+<none>\s+\S+\s*$/);
    expect(await k(['create', 'job', '--from=cronjob/tick', 'tick-manual'])).toBe('job.batch/tick-manual created\n');
    const manual = await c.kubectl.json(['get', 'job', 'tick-manual']);
    expect(manual.metadata.annotations['cronjob.kubernetes.io/instantiate']).toBe('manual');
    expect(manual.metadata.ownerReferences[0]).toMatchObject({ kind: 'CronJob', name: 'tick' });
    await k(['wait', '--for=condition=complete', 'job/tick-manual', '--timeout=120s'], { timeoutMs: 130_000 });

    // The one real minute of this suite: the controller runs the next schedule time.
    let scheduled: any;
    await waitFor('a scheduled Job of the CronJob', async () => {
      const jobs = await c.kubectl.json(['get', 'jobs']);
      scheduled = jobs.items.find((x: any) => /^tick-\d+$/.test(x.metadata.name));
      return !!scheduled;
    }, 150_000, 2000);
    const minutes = Number(scheduled.metadata.name.slice('tick-'.length));
    expect(scheduled.metadata.annotations['batch.kubernetes.io/cronjob-scheduled-timestamp']).toBe(new Date(minutes * 60_000).toISOString().replace(/\.\d+Z$/, 'Z'));
    await waitFor('the CronJob to record its schedule', async () => !!(await c.kubectl.json(['get', 'cj', 'tick'])).status?.lastScheduleTime, 30_000, 1000);
    await k(['wait', '--for=condition=complete', `job/${scheduled.metadata.name}`, '--timeout=120s'], { timeoutMs: 130_000 });
    await waitFor('lastSuccessfulTime', async () => !!(await c.kubectl.json(['get', 'cj', 'tick'])).status?.lastSuccessfulTime, 30_000, 1000);
  }, 400_000);
});

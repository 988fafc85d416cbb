import { beforeAll, describe, expect, it } from 'vitest';
import { applyDefaults } from '../../defaults.js';
import { kindOf } from '../../kind.js';
import { R, loadKinds } from '../../resources.js';
import { validateObject } from '../../validation.js';
import type { KubeObject } from '../../types.js';
import { parseSchedule } from './schedule/cron.js';

const job = (): KubeObject => ({
  apiVersion: 'batch/v1', kind: 'Job',
  metadata: { name: 'pi', namespace: 'default', uid: 'u-1' },
  spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
});

/** What the store does on create: defaults, then the strategy's afterDefaults. */
function created(o: KubeObject, r = R.jobs): KubeObject {
  kindOf(r).strategy?.prepareForCreate?.(o);
  applyDefaults(r, o);
  kindOf(r).strategy?.afterDefaults?.(o, undefined);
  return o;
}

const messages = (cs: { field?: string; message?: string }[]) => cs.map((c) => `${c.field}: ${c.message}`);

describe('Job kind', () => {
  it('defaults as SetDefaults_Job and generates the selector and labels from the uid', () => {
    const j = created(job());
    expect(j.spec).toMatchObject({ completions: 1, parallelism: 1, backoffLimit: 6, completionMode: 'NonIndexed', suspend: false, podReplacementPolicy: 'TerminatingOrFailed', manualSelector: false });
    expect(j.spec.selector).toEqual({ matchLabels: { 'batch.kubernetes.io/controller-uid': 'u-1' } });
    expect(j.spec.template.metadata.labels).toEqual({ 'batch.kubernetes.io/controller-uid': 'u-1', 'batch.kubernetes.io/job-name': 'pi', 'controller-uid': 'u-1', 'job-name': 'pi' });
    expect(j.metadata.labels).toEqual(j.spec.template.metadata.labels);
    expect(validateObject(R.jobs, j)).toEqual([]);
  });

  it('leaves template labels or a selector of the wrong type to validation (422), not to a TypeError (500)', () => {
    for (const [at, bad] of [['labels', 'delete'], ['labels', ['x']], ['selector', 'x'], ['matchLabels', 7]] as const) {
      const j = job();
      if (at === 'labels') j.spec.template.metadata = { labels: bad };
      else if (at === 'selector') j.spec.selector = bad;
      else j.spec.selector = { matchLabels: bad };
      expect(() => created(j), `${at}: ${JSON.stringify(bad)}`).not.toThrow();
      expect(validateObject(R.jobs, j).length, `${at}: ${JSON.stringify(bad)}`).toBeGreaterThan(0);
    }
  });

  it('leaves completions unset for a work queue job (parallelism alone), and backoffLimit max int32 with a per-index limit', () => {
    const j = job();
    j.spec.parallelism = 3;
    created(j);
    expect(j.spec.completions).toBeUndefined();
    const k = job();
    Object.assign(k.spec, { completionMode: 'Indexed', completions: 2, backoffLimitPerIndex: 1 });
    created(k);
    expect(k.spec.backoffLimit).toBe(2147483647);
  });

  it('refuses restartPolicy Always (also when omitted) with kube message', () => {
    const j = job();
    delete j.spec.template.spec.restartPolicy;
    created(j);
    expect(messages(validateObject(R.jobs, j))).toContain('spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"');
  });

  it('requires completions in Indexed mode and keeps completions and the template immutable', () => {
    const j = job();
    j.spec.completionMode = 'Indexed';
    j.spec.parallelism = 2;
    created(j);
    expect(messages(validateObject(R.jobs, j))).toContain('spec.completions: Required value: when completion mode is Indexed');
    const old = created(job());
    const next = structuredClone(old);
    next.spec.completions = 5;
    next.spec.template.spec.containers[0].image = 'other';
    const fields = validateObject(R.jobs, next, { old }).map((c) => c.field);
    expect(fields).toEqual(expect.arrayContaining(['spec.completions', 'spec.template']));
  });

  it('lets a suspended job that never started change its scheduling directives only', () => {
    const old = job();
    old.spec.suspend = true;
    created(old);
    const next = structuredClone(old);
    next.spec.template.spec.nodeSelector = { zone: 'a' };
    expect(validateObject(R.jobs, next, { old })).toEqual([]);
    next.spec.template.spec.containers[0].image = 'other';
    expect(validateObject(R.jobs, next, { old }).map((c) => c.field)).toContain('spec.template');
  });

  it('refuses a selector that was not generated from its uid', () => {
    const j = created(job());
    j.spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': 'other' } };
    expect(validateObject(R.jobs, j).map((c) => c.field)).toContain('spec.selector');
  });

  it('prints STATUS and COMPLETIONS as kubectl 1.32', () => {
    const j = created(job());
    const since = () => '5s';
    const cells = (o: KubeObject) => kindOf(R.jobs).printer!.cells(o, since);
    expect(cells(j).slice(0, 4)).toEqual(['pi', 'Running', '0/1', '']);
    j.status = { succeeded: 1, startTime: '2026-01-01T00:00:00Z', completionTime: '2026-01-01T00:01:05Z', conditions: [{ type: 'Complete', status: 'True' }] };
    expect(cells(j).slice(0, 4)).toEqual(['pi', 'Complete', '1/1', '65s']);
    j.status = { conditions: [{ type: 'Suspended', status: 'True' }] };
    expect(cells(j)[1]).toBe('Suspended');
    delete j.spec.completions;
    j.spec.parallelism = 3;
    expect(cells(j)[2]).toBe('0/1 of 3');
    expect(kindOf(R.jobs).selectableFields!(j)).toEqual({ 'status.successful': '0' });
  });
});

const cronJob = (): KubeObject => ({
  apiVersion: 'batch/v1', kind: 'CronJob',
  metadata: { name: 'hello', namespace: 'default' },
  spec: { schedule: '*/1 * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'busybox' }] } } } } },
});

describe('CronJob kind', () => {
  // The cron parser comes with the kind's load hook, as the API server loads it.
  beforeAll(() => loadKinds());

  it('defaults as SetDefaults_CronJob and validates', () => {
    const c = created(cronJob(), R.cronjobs);
    expect(c.spec).toMatchObject({ concurrencyPolicy: 'Allow', suspend: false, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1 });
    expect(validateObject(R.cronjobs, c)).toEqual([]);
    expect(R.cronjobs.shortNames).toEqual(['cj']);
  });

  it("refuses an unparseable schedule with robfig/cron's message, an unknown time zone and TZ in the schedule", () => {
    const c = created(cronJob(), R.cronjobs);
    c.spec.schedule = 'x';
    c.spec.timeZone = 'Mars/Olympus';
    expect(messages(validateObject(R.cronjobs, c))).toEqual(expect.arrayContaining([
      'spec.schedule: Invalid value: "x": expected exactly 5 fields, found 1: [x]',
      'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus',
    ]));
    const r = created(cronJob(), R.cronjobs);
    r.spec.schedule = '61 * * * *';
    expect(messages(validateObject(R.cronjobs, r))).toEqual(['spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61']);
    r.spec.schedule = '0 0 * * mon-fri/2';
    expect(validateObject(R.cronjobs, r)).toEqual([]);
    r.spec.schedule = '*/0 * * * *';
    expect(messages(validateObject(R.cronjobs, r))).toEqual(['spec.schedule: Invalid value: "*/0 * * * *": step of range should be a positive number: */0']);
    const d = created(cronJob(), R.cronjobs);
    d.spec.schedule = 'CRON_TZ=UTC 0 * * * *';
    expect(messages(validateObject(R.cronjobs, d))).toContain('spec.schedule: Invalid value: "CRON_TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead');
  });

  it('parses descriptors, CRON_TZ and time zones', () => {
    const t = new Date('2026-01-01T00:30:00Z');
    expect(parseSchedule('@hourly').next(t).toISOString()).toBe('2026-01-01T01:00:00.000Z');
    expect(parseSchedule('@midnight').next(t).toISOString()).toBe('2026-01-02T00:00:00.000Z');
    expect(parseSchedule('0 9 * * *', 'Asia/Tokyo').next(t).toISOString()).toBe('2026-01-02T00:00:00.000Z');
    expect(parseSchedule('CRON_TZ=Asia/Tokyo 0 9 * * *').next(t).toISOString()).toBe('2026-01-02T00:00:00.000Z');
    expect(() => parseSchedule('* * * * * *')).toThrow('expected exactly 5 fields, found 6: [* * * * * *]');
    expect(() => parseSchedule('@reboot')).toThrow('unrecognized descriptor: @reboot');
    expect(parseSchedule('@every 1h30m').next(t).toISOString()).toBe('2026-01-01T02:00:00.000Z');
  });
});

import { describe, expect, it, vi } from 'vitest';
import { logger } from '../lib/log.js';
import { FakeClient } from './fake.js';
import { EventRecorder } from './events.js';
import { R } from '../api/resources.js';
import { errors } from '../api/errors.js';
import type { KubeObject } from '../api/types.js';

const rs: KubeObject = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web', namespace: 'prod', uid: 'u1', resourceVersion: '7' } };

describe('EventRecorder', () => {
  it('creates an Event shaped like client-go’s, then aggregates repeats into count', async () => {
    const c = new FakeClient();
    const rec = new EventRecorder(c, { component: 'replicaset-controller', host: 'h1' });
    rec.event(rs, 'Normal', 'SuccessfulCreate', 'Created pod: %s', 'web-abc');
    await rec.flush();
    const [ev] = (await c.resource(R.events, 'prod').list()).items;
    expect(ev.metadata.name).toMatch(/^web\.[0-9a-f]{15,}$/);
    expect(ev).toMatchObject({
      involvedObject: { kind: 'ReplicaSet', apiVersion: 'apps/v1', namespace: 'prod', name: 'web', uid: 'u1', resourceVersion: '7' },
      reason: 'SuccessfulCreate', message: 'Created pod: web-abc', type: 'Normal', count: 1,
      source: { component: 'replicaset-controller', host: 'h1' }, reportingComponent: 'replicaset-controller',
    });
    expect(ev.firstTimestamp).toBe(ev.lastTimestamp);

    rec.event(rs, 'Normal', 'SuccessfulCreate', 'Created pod: %s', 'web-abc');
    rec.event(rs, 'Normal', 'SuccessfulCreate', 'Created pod: %s', 'web-abc');
    rec.event(rs, 'Normal', 'SuccessfulCreate', 'Created pod: %s', 'web-other');
    await rec.flush();
    const items = (await c.resource(R.events, 'prod').list()).items;
    expect(items).toHaveLength(2);
    expect(items.find((e) => e.message === 'Created pod: web-abc')?.count).toBe(3);
    const patches = c.actions.filter((a) => a.verb === 'patch');
    expect(patches).toHaveLength(2);
    // client-go's recorder sends a strategic merge patch of exactly these fields.
    expect(patches.map((a) => a.patchType)).toEqual(['strategic', 'strategic']);
    expect(Object.keys(patches[1]!.object as object).sort()).toEqual(['count', 'lastTimestamp', 'message']);
  });

  it('puts events about cluster-scoped objects in default and recreates a deleted event', async () => {
    const c = new FakeClient();
    const rec = new EventRecorder(c, { component: 'kubelet', host: 'n1' });
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', uid: 'n' } };
    rec.event(node, 'Normal', 'NodeReady', 'ready');
    await rec.flush();
    const [ev] = (await c.resource(R.events, 'default').list()).items;
    await c.resource(R.events, 'default').delete(ev.metadata.name!);
    rec.event(node, 'Normal', 'NodeReady', 'ready');
    await rec.flush();
    const items = (await c.resource(R.events, 'default').list()).items;
    expect(items).toHaveLength(1);
    expect(items[0].count).toBe(1);
  });

  it('never throws into the caller and drops beyond the queue bound', async () => {
    const c = new FakeClient();
    c.prependReactor('create', 'events', () => ({ handled: true, err: errors.internal('down') }));
    const rec = new EventRecorder(c, { component: 'x', maxQueued: 3 });
    for (let i = 0; i < 10; i++) expect(() => rec.event(rs, 'Warning', 'R', `m${i}`)).not.toThrow();
    await rec.flush();
    // The first is taken off the queue at once; three more fit.
    expect(c.actions.filter((a) => a.verb === 'create')).toHaveLength(4);
  });

  it('logs a flood of dropped events once, with the count, not once per event', async () => {
    const c = new FakeClient();
    c.prependReactor('create', 'events', () => ({ handled: true, err: errors.internal('down') }));
    // Child loggers inherit warn from the root logger; spying there sees the recorder's.
    const root = Object.getPrototypeOf(logger('test')) as ReturnType<typeof logger>;
    const warn = vi.spyOn(root, 'warn');
    try {
      const rec = new EventRecorder(c, { component: 'x', maxQueued: 3 });
      for (let i = 0; i < 500; i++) rec.event({ ...rs, metadata: { ...rs.metadata, name: `p${i}`, uid: `u${i}` } }, 'Normal', 'Scheduled', 'm');
      await rec.flush();
      // winston's warn is overloaded and spyOn types the calls from the last overload (one argument); the recorder calls warn(message, meta).
      const calls: readonly unknown[][] = warn.mock.calls;
      const drops = calls.filter((a) => String(a[0]).includes('dropping'));
      expect(drops).toHaveLength(1);
      expect(drops[0][1]).toMatchObject({ dropped: 1 });
    } finally {
      warn.mockRestore();
    }
  });

  it('filters spam per object: a burst of 25, then nothing until tokens refill', async () => {
    const c = new FakeClient();
    const rec = new EventRecorder(c, { component: 'x' });
    const other = { ...rs, metadata: { ...rs.metadata, name: 'other', uid: 'u2' } };
    for (let i = 0; i < 30; i++) rec.event(rs, 'Normal', 'R', `distinct ${i}`);
    rec.event(other, 'Normal', 'R', 'still allowed');
    await rec.flush();
    const items = (await c.resource(R.events, 'prod').list()).items;
    expect(items.filter((e) => e.involvedObject.name === 'web')).toHaveLength(25);
    expect(items.filter((e) => e.involvedObject.name === 'other')).toHaveLength(1);
  });
});

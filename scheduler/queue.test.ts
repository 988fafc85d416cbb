import { describe, expect, it } from 'vitest';
import { SchedulingQueue } from './queue.js';
import { makePod } from './testing.js';

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('SchedulingQueue', () => {
  it('pops higher priority first, then in order of arrival', async () => {
    const c = clock();
    const q = new SchedulingQueue({ now: c.now });
    q.add(makePod('low-1'));
    c.advance(1);
    q.add(makePod('high', { priority: 10 }));
    c.advance(1);
    q.add(makePod('low-2'));
    const order = [];
    for (let i = 0; i < 3; i++) order.push((await q.pop())!.pod.metadata.name);
    expect(order).toEqual(['high', 'low-1', 'low-2']);
  });

  it('hands a pod added later to a waiting pop', async () => {
    const q = new SchedulingQueue();
    const p = q.pop();
    q.add(makePod('a'));
    expect((await p)!.key).toBe('default/a');
  });

  it('parks unschedulable pods until a node event, then backs them off 1 s doubling to 10 s', async () => {
    const c = clock();
    const q = new SchedulingQueue({ now: c.now });
    q.add(makePod('a'));
    let info = (await q.pop())!;
    q.addUnschedulable(info, q.cycle());
    expect(q.pending()).toEqual({ active: 0, backoff: 0, unschedulable: 1 });

    q.moveAllToActiveOrBackoffQueue('NodeAdd');
    expect(q.pending()).toEqual({ active: 0, backoff: 1, unschedulable: 0 });
    c.advance(999);
    q.flushBackoffCompleted();
    expect(q.pending().active).toBe(0);
    c.advance(1);
    q.flushBackoffCompleted();
    expect(q.pending()).toEqual({ active: 1, backoff: 0, unschedulable: 0 });

    info = (await q.pop())!;
    expect(info.attempts).toBe(2);
    expect(q.backoffDurationMs(info)).toBe(2000);
    info.attempts = 10;
    expect(q.backoffDurationMs(info)).toBe(10_000);
  });

  it('moves a pod that failed during a move request to backoff, not unschedulable', async () => {
    const q = new SchedulingQueue();
    q.add(makePod('a'));
    const info = (await q.pop())!;
    const cycle = q.cycle();
    q.moveAllToActiveOrBackoffQueue('NodeAdd');
    q.addUnschedulable(info, cycle);
    expect(q.pending()).toEqual({ active: 0, backoff: 1, unschedulable: 0 });
  });

  it('retries unschedulable pods after the leftover interval without any event', async () => {
    const c = clock();
    const q = new SchedulingQueue({ now: c.now, maxUnschedulableMs: 60_000 });
    q.add(makePod('a'));
    q.addUnschedulable((await q.pop())!, q.cycle());
    c.advance(59_000);
    q.flushUnschedulableLeftover();
    expect(q.pending().unschedulable).toBe(1);
    c.advance(1_000);
    q.flushUnschedulableLeftover();
    expect(q.pending()).toEqual({ active: 1, backoff: 0, unschedulable: 0 });
  });

  it('ignores status-only updates of unschedulable pods but requeues on spec changes', async () => {
    const c = clock();
    const q = new SchedulingQueue({ now: c.now });
    const pod = makePod('a', { cpu: '8' });
    q.add(pod);
    q.addUnschedulable((await q.pop())!, q.cycle());
    q.update({ ...pod, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False' }] } });
    expect(q.pending().unschedulable).toBe(1);
    c.advance(5000);
    q.update(makePod('a', { cpu: '1' }));
    expect(q.pending()).toEqual({ active: 1, backoff: 0, unschedulable: 0 });
  });

  it('drops deleted pods from every queue, including one being scheduled', async () => {
    const q = new SchedulingQueue();
    q.add(makePod('a'));
    q.add(makePod('b'));
    const info = (await q.pop())!;
    q.delete(info.pod);
    q.addUnschedulable(info, q.cycle());
    q.delete(makePod('b'));
    expect(q.pending()).toEqual({ active: 0, backoff: 0, unschedulable: 0 });
  });

  it('resolves pending pops with undefined on close', async () => {
    const q = new SchedulingQueue();
    const p = q.pop();
    q.close();
    expect(await p).toBeUndefined();
  });
});

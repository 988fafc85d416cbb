// The disruption controller with the fake client: PDB math (int and percent,
// minAvailable and maxUnavailable against the owning controller's scale),
// in-flight evictions and their expiry, and the fail-safe status.

import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { KubeObject, Pod } from '../../api/types.js';
import { FakeInformerFactory, FakeRecorder, RecordingClient } from '../testing/fake.js';
import { pod, replicaSet } from '../testing/objects.js';
import { computeStatus, DisruptionController, scaledValue } from './disruption.js';

const now = new Date('2026-06-01T12:00:00Z');

function pdb(spec: Record<string, unknown>, status: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web', namespace: 'default', uid: 'uid-pdb', generation: 2 },
    spec: { selector: { matchLabels: { app: 'web' } }, ...spec }, status };
}

function setup() {
  const informers = new FakeInformerFactory();
  const client = new RecordingClient();
  const recorder = new FakeRecorder();
  const c = new DisruptionController({ client, informers, recorder, now: () => now });
  return { c, client, recorder, informers };
}

const readyPods = (n: number, owner?: { kind: string; name: string; uid: string }, ready = n): Pod[] =>
  Array.from({ length: n }, (_, i) => pod(`web-${i}`, { app: 'web' }, owner, { phase: 'Running', ready: i < ready, node: 'n1' }));

describe('PodDisruptionBudget math', () => {
  it('scales int-or-percent values rounding up', () => {
    expect(scaledValue(2, 10)).toBe(2);
    expect(scaledValue('50%', 5)).toBe(3);
    expect(scaledValue('10%', 1)).toBe(1);
    expect(() => scaledValue('x', 1)).toThrow();
  });

  it('minAvailable as an int counts the selected pods; percent and maxUnavailable use the controllers\' scale', () => {
    const pods = readyPods(4, undefined, 3);
    expect(computeStatus(pdb({ minAvailable: 2 }), pods, () => { throw new Error('not asked'); }, now))
      .toMatchObject({ currentHealthy: 3, desiredHealthy: 2, expectedPods: 4, disruptionsAllowed: 1 });
    expect(computeStatus(pdb({ minAvailable: '50%' }), pods, () => 6, now)).toMatchObject({ desiredHealthy: 3, expectedPods: 6, disruptionsAllowed: 0 });
    expect(computeStatus(pdb({ maxUnavailable: 1 }), pods, () => 4, now)).toMatchObject({ desiredHealthy: 3, expectedPods: 4, disruptionsAllowed: 0 });
    expect(computeStatus(pdb({ maxUnavailable: '50%' }), readyPods(4), () => 4, now)).toMatchObject({ desiredHealthy: 2, disruptionsAllowed: 2 });
    // No pods yet: nothing is allowed, whatever the arithmetic says.
    expect(computeStatus(pdb({ maxUnavailable: 3 }), [], () => 0, now)).toMatchObject({ expectedPods: 0, disruptionsAllowed: 0 });
  });

  it('does not count a pod the API server is evicting, until two minutes have passed', () => {
    const pods = readyPods(3);
    const recent = new Date(now.getTime() - 30_000).toISOString();
    const old = new Date(now.getTime() - 3 * 60_000).toISOString();
    const s = computeStatus(pdb({ minAvailable: 1 }, { disruptedPods: { 'web-0': recent, 'web-1': old, gone: recent } }), pods, () => 3, now);
    expect(s.disruptedPods).toEqual({ 'web-0': recent });
    expect(s.currentHealthy).toBe(2);
    expect(s.disruptionsAllowed).toBe(1);
    expect(s.recheckAt).toBe(Date.parse(recent) + 120_000);
  });
});

describe('DisruptionController', () => {
  it('writes status from a Deployment-owned ReplicaSet\'s pods, with the DisruptionAllowed condition and observedGeneration', async () => {
    const { c, client, informers } = setup();
    const rs = replicaSet('web-abc', 3, { app: 'web' }, { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-dep', controller: true }] });
    informers.informerFor(R.replicasets).set(rs);
    informers.informerFor(R.deployments).set({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default', uid: 'uid-dep' }, spec: { replicas: 4 } });
    informers.informerFor<Pod>(R.pods).set(...readyPods(3, { kind: 'ReplicaSet', name: 'web-abc', uid: 'uid-web-abc' }));
    const budget = pdb({ maxUnavailable: 1 });
    informers.informerFor(R.poddisruptionbudgets).set(budget);
    client.seed('poddisruptionbudgets', budget);
    await c.sync('default/web');
    const [w] = client.of('updateStatus', 'poddisruptionbudgets');
    expect(w.object!.status).toMatchObject({ currentHealthy: 3, desiredHealthy: 3, expectedPods: 4, disruptionsAllowed: 0, observedGeneration: 2 });
    expect(w.object!.status.conditions).toEqual([expect.objectContaining({ type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods' })]);
  });

  it('allows nothing (SyncFailed) when a selected pod\'s controller cannot be found', async () => {
    const { c, client, informers, recorder } = setup();
    informers.informerFor<Pod>(R.pods).set(...readyPods(2, { kind: 'ReplicaSet', name: 'missing', uid: 'uid-missing' }));
    const budget = pdb({ maxUnavailable: 1 }, { disruptionsAllowed: 1 });
    informers.informerFor(R.poddisruptionbudgets).set(budget);
    await expect(c.sync('default/web')).rejects.toThrow(/found no controllers/);
    const [w] = client.of('updateStatus', 'poddisruptionbudgets');
    expect(w.object!.status.disruptionsAllowed).toBe(0);
    expect(w.object!.status.conditions[0]).toMatchObject({ type: 'DisruptionAllowed', status: 'False', reason: 'SyncFailed' });
    expect(recorder.events[0]).toMatch(/^Warning CalculateExpectedPodCountFailed/);
  });

  it('writes nothing when the status already says it', async () => {
    const { c, client, informers } = setup();
    informers.informerFor<Pod>(R.pods).set(...readyPods(2));
    const first = pdb({ minAvailable: 1 });
    informers.informerFor(R.poddisruptionbudgets).set(first);
    await c.sync('default/web');
    const written = client.of('updateStatus')[0].object!;
    informers.informerFor(R.poddisruptionbudgets).set(written);
    await c.sync('default/web');
    expect(client.of('updateStatus')).toHaveLength(1);
    expect(written.status.disruptionsAllowed).toBe(1);
  });
});

// The disruption controller (pkg/controller/disruption, kube's
// disruption-controller): keeps each PodDisruptionBudget's status, which the
// eviction subresource spends: how many selected pods are healthy, how many
// must stay healthy, how many pods the owning controllers expect, and so how
// many disruptions are allowed now. Evictions the API server recorded in
// status.disruptedPods are not counted healthy until the pod is gone or two
// minutes have passed.

import { isConflict, isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { KubeObject, Pod } from '../../api/types.js';
import { controllerOf, deepCopy, objectKey } from '../../api/types.js';
import { setCondition, setDisruptionAllowedCondition } from '../../api/kinds/policy/pdbhelper.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController, type EventRecorder } from '../controller.js';
import { isPodReady } from '../podutil.js';
import { labelSelectorMatcher } from '../selector.js';
import { isDeepStrictEqual } from 'node:util';

/** kube's DeletionTimeout: an eviction the pod did not follow within this is forgotten. */
export const deletionTimeoutMs = 2 * 60 * 1000;

export interface DisruptionControllerOptions {
  client: Client;
  informers: InformerFactory;
  recorder: EventRecorder;
  now?: () => Date;
}

type PDB = KubeObject;

/** intstr.GetScaledValueFromIntOrPercent with roundUp. */
export function scaledValue(v: number | string, total: number): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) throw new Error(`invalid value for IntOrString: invalid value "${v}"`);
  return Math.ceil((Number(m[1]) * total) / 100);
}

/** What the status must say for these pods and controller scales (getExpectedPodCount, countHealthyPods, updatePdbStatus). */
export function computeStatus(pdb: PDB, pods: readonly Pod[], expectedScale: () => number, now: Date): {
  currentHealthy: number; desiredHealthy: number; expectedPods: number; disruptionsAllowed: number; disruptedPods: Record<string, string>; recheckAt?: number;
} {
  let expectedPods = 0;
  let desiredHealthy = 0;
  const spec = pdb.spec ?? {};
  if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) {
    expectedPods = expectedScale();
    desiredHealthy = Math.max(0, expectedPods - scaledValue(spec.maxUnavailable, expectedPods));
  } else if (spec.minAvailable !== undefined && spec.minAvailable !== null) {
    if (typeof spec.minAvailable === 'number') {
      desiredHealthy = spec.minAvailable;
      expectedPods = pods.length;
    } else {
      expectedPods = expectedScale();
      desiredHealthy = scaledValue(spec.minAvailable, expectedPods);
    }
  }
  // buildDisruptedPodMap: evictions still in flight; an old one the pod outlived is dropped.
  const recorded: Record<string, string> = pdb.status?.disruptedPods ?? {};
  const disruptedPods: Record<string, string> = {};
  let recheckAt: number | undefined;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    const at = recorded[pod.metadata.name!];
    if (!at) continue;
    const expected = Date.parse(at) + deletionTimeoutMs;
    if (expected < now.getTime()) continue;
    disruptedPods[pod.metadata.name!] = at;
    if (recheckAt === undefined || expected < recheckAt) recheckAt = expected;
  }
  let currentHealthy = 0;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp || disruptedPods[pod.metadata.name!]) continue;
    if (isPodReady(pod)) currentHealthy++;
  }
  // A budget that matches no pods yet allows nothing, so its first pods are safe before this controller sees them.
  let disruptionsAllowed = currentHealthy - desiredHealthy;
  if (expectedPods <= 0 || disruptionsAllowed <= 0) disruptionsAllowed = 0;
  return { currentHealthy, desiredHealthy, expectedPods, disruptionsAllowed, disruptedPods, recheckAt };
}

export class DisruptionController extends QueueController {
  private readonly client: Client;
  private readonly recorder: EventRecorder;
  private readonly now: () => Date;
  private readonly pdbs: Informer<PDB>;
  private readonly pods: Informer<Pod>;
  private readonly owners: Record<string, Informer<KubeObject>>;

  constructor(o: DisruptionControllerOptions) {
    super('disruption', logger('disruption-controller'));
    this.client = o.client;
    this.recorder = o.recorder;
    this.now = o.now ?? (() => new Date());
    this.pdbs = o.informers.informerFor<PDB>(R.poddisruptionbudgets);
    this.pods = o.informers.informerFor<Pod>(R.pods);
    // The finders of kube's controller: the scale of these kinds is read from their objects.
    this.owners = {
      ReplicaSet: o.informers.informerFor(R.replicasets),
      Deployment: o.informers.informerFor(R.deployments),
      StatefulSet: o.informers.informerFor(R.statefulsets),
      ReplicationController: o.informers.informerFor(R.replicationcontrollers),
    };
    this.pdbs.addEventHandler({
      onAdd: (p) => this.enqueue(p),
      onUpdate: (_, p) => this.enqueue(p),
      onDelete: (p) => this.enqueue(p),
    });
    const podChanged = (pod: Pod) => { for (const p of this.pdbsOf(pod)) this.enqueue(p); };
    this.pods.addEventHandler({
      onAdd: podChanged,
      onUpdate: (old, pod) => {
        podChanged(pod);
        if (!isDeepStrictEqual(old.metadata.labels, pod.metadata.labels)) podChanged(old);
      },
      onDelete: podChanged,
    });
    // A controller's scale is the expected count of percentage and maxUnavailable budgets.
    const ownerChanged = (o: KubeObject) => { for (const p of this.pdbs.lister.list({ namespace: o.metadata.namespace })) this.enqueue(p); };
    for (const inf of Object.values(this.owners)) inf.addEventHandler({ onUpdate: (_, o) => ownerChanged(o), onAdd: ownerChanged, onDelete: ownerChanged });
  }

  private enqueue(pdb: PDB): void {
    this.queue.add(objectKey(pdb));
  }

  private matches(pdb: PDB, pod: Pod): boolean {
    return pdb.metadata.namespace === pod.metadata.namespace && labelSelectorMatcher(pdb.spec?.selector)(pod.metadata.labels);
  }

  private pdbsOf(pod: Pod): PDB[] {
    return this.pdbs.lister.list({ namespace: pod.metadata.namespace }).filter((p) => this.matches(p, pod));
  }

  /** getExpectedScale: the sum of the replicas of every controller owning a selected pod. */
  private expectedScale(pdb: PDB, pods: readonly Pod[]): number {
    const scales = new Map<string, number>();
    const unmanaged: string[] = [];
    for (const pod of pods) {
      const ref = controllerOf(pod);
      if (!ref) {
        unmanaged.push(pod.metadata.name!);
        continue;
      }
      if (scales.has(ref.uid)) continue;
      const found = this.scaleOf(ref, pod.metadata.namespace!);
      if (!found) throw new Error(`found no controllers for pod "${pod.metadata.name}"`);
      scales.set(found.uid, found.replicas);
    }
    if (unmanaged.length) this.recorder.event(pdb, 'Warning', 'UnmanagedPods', `Pods selected by this PodDisruptionBudget (selector: ${JSON.stringify(pdb.spec?.selector)}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.`);
    let total = 0;
    for (const n of scales.values()) total += n;
    return total;
  }

  private scaleOf(ref: { kind: string; name: string; uid: string }, namespace: string): { uid: string; replicas: number } | undefined {
    const get = (kind: string, name: string) => {
      const o = this.owners[kind]?.lister.get(`${namespace}/${name}`);
      return o;
    };
    const o = get(ref.kind, ref.name);
    if (!o || o.metadata.uid !== ref.uid) return undefined;
    if (ref.kind === 'ReplicaSet') {
      // A Deployment's ReplicaSet: the Deployment's scale is what the budget is measured against.
      const dref = controllerOf(o);
      if (dref?.kind === 'Deployment') {
        const d = get('Deployment', dref.name);
        if (d && d.metadata.uid === dref.uid) return { uid: d.metadata.uid!, replicas: d.spec?.replicas ?? 1 };
        return undefined;
      }
    }
    return { uid: o.metadata.uid!, replicas: o.spec?.replicas ?? 1 };
  }

  async sync(key: string): Promise<void> {
    const pdb = this.pdbs.lister.get(key);
    if (!pdb) return;
    const pods = this.pods.lister.list({ namespace: pdb.metadata.namespace }).filter((p) => this.matches(pdb, p));
    let next: KubeObject;
    let recheckAt: number | undefined;
    try {
      const s = computeStatus(pdb, pods, () => this.expectedScale(pdb, pods), this.now());
      recheckAt = s.recheckAt;
      next = deepCopy(pdb);
      const status: Record<string, any> = {
        ...(Object.keys(s.disruptedPods).length ? { disruptedPods: s.disruptedPods } : {}),
        disruptionsAllowed: s.disruptionsAllowed, currentHealthy: s.currentHealthy, desiredHealthy: s.desiredHealthy, expectedPods: s.expectedPods,
        observedGeneration: pdb.metadata.generation,
        ...(pdb.status?.conditions ? { conditions: pdb.status.conditions } : {}),
      };
      setDisruptionAllowedCondition(status, this.now());
      next.status = status;
    } catch (e) {
      // failSafe: a budget whose status cannot be computed allows no disruption.
      this.recorder.event(pdb, 'Warning', 'CalculateExpectedPodCountFailed', `Failed to calculate the number of expected pods: ${(e as Error).message}`);
      next = deepCopy(pdb);
      next.status = { ...(pdb.status ?? {}), disruptionsAllowed: 0, observedGeneration: pdb.metadata.generation };
      setCondition(next.status, { type: 'DisruptionAllowed', status: 'False', reason: 'SyncFailed', message: (e as Error).message }, this.now());
      await this.write(pdb, next);
      throw e;
    }
    await this.write(pdb, next);
    if (recheckAt !== undefined) this.queue.addAfter(key, Math.max(0, recheckAt - this.now().getTime()) + 1000);
  }

  private async write(pdb: PDB, next: PDB): Promise<void> {
    if (isDeepStrictEqual(next.status, pdb.status)) return;
    try {
      await this.client.resource(R.poddisruptionbudgets, pdb.metadata.namespace).updateStatus(next);
    } catch (e) {
      // A stale cache or a budget gone: the informer brings the next state and a new sync.
      if (isConflict(e) || isNotFound(e)) {
        this.log.debug('pdb status write lost', { pdb: objectKey(pdb), error: (e as Error).message });
        if (isConflict(e)) this.queue.addRateLimited(objectKey(pdb));
        return;
      }
      throw e;
    }
  }

}

// The Deployment controller (pkg/controller/deployment): rolls a Deployment's
// pod template out through one ReplicaSet per template.

import { errors } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { Deployment, Pod, ReplicaSet } from '../../api/types.js';
import { controllerOf, objectKey, splitKey } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController, type EventRecorder } from '../controller.js';
import { claimObjects, controllerRefFor } from '../ownership.js';
import { isEmptySelector, labelSelectorMatcher } from '../selector.js';
import { rolloutRecreate } from './recreate.js';
import { rolloutRolling } from './rolling.js';
import { Rollout } from './rollout.js';
import { DESIRED_REPLICAS, isRollingUpdate, replicas } from './util.js';

export interface DeploymentControllerOptions {
  client: Client;
  informers: InformerFactory;
  recorder: EventRecorder;
  now?: () => Date;
}

export class DeploymentController extends QueueController {
  private readonly client: Client;
  private readonly recorder: EventRecorder;
  private readonly now: () => Date;
  private readonly dInformer: Informer<Deployment>;
  private readonly rsInformer: Informer<ReplicaSet>;
  private readonly podInformer: Informer<Pod>;

  constructor(o: DeploymentControllerOptions) {
    super('deployment', logger('deployment-controller'));
    this.client = o.client;
    this.recorder = o.recorder;
    this.now = o.now ?? (() => new Date());
    this.dInformer = o.informers.informerFor<Deployment>(R.deployments);
    this.rsInformer = o.informers.informerFor<ReplicaSet>(R.replicasets);
    this.podInformer = o.informers.informerFor<Pod>(R.pods);
    const enqueue = (d: Deployment) => this.queue.add(objectKey(d));
    this.dInformer.addEventHandler({ onAdd: enqueue, onUpdate: (_, d) => enqueue(d), onDelete: enqueue });
    this.rsInformer.addEventHandler({
      onAdd: (rs) => this.replicaSetChanged(rs),
      onUpdate: (old, rs) => {
        if (controllerOf(old)?.uid !== controllerOf(rs)?.uid) this.replicaSetChanged(old);
        this.replicaSetChanged(rs);
      },
      onDelete: (rs) => this.replicaSetChanged(rs),
    });
    // Recreate waits for old pods to be gone: their deletion is what lets it continue.
    this.podInformer.addEventHandler({ onDelete: (pod) => this.podDeleted(pod) });
  }

  private ownerOf(o: ReplicaSet): Deployment | undefined {
    const ref = controllerOf(o);
    if (!ref || ref.kind !== 'Deployment') return undefined;
    const d = this.dInformer.lister.get(`${o.metadata.namespace}/${ref.name}`);
    return d?.metadata.uid === ref.uid ? d : undefined;
  }

  private replicaSetChanged(rs: ReplicaSet): void {
    if (controllerOf(rs)) {
      const d = this.ownerOf(rs);
      if (d) this.queue.add(objectKey(d));
      return;
    }
    for (const d of this.dInformer.lister.list({ namespace: rs.metadata.namespace })) {
      if (labelSelectorMatcher(d.spec.selector)(rs.metadata.labels)) this.queue.add(objectKey(d));
    }
  }

  private podDeleted(pod: Pod): void {
    const ref = controllerOf(pod);
    if (ref?.kind !== 'ReplicaSet') return;
    const rs = this.rsInformer.lister.get(`${pod.metadata.namespace}/${ref.name}`);
    const d = rs && this.ownerOf(rs);
    if (d && !isRollingUpdate(d)) this.queue.add(objectKey(d));
  }

  async sync(key: string): Promise<void> {
    const d = this.dInformer.lister.get(key);
    if (!d) return;
    const { namespace } = splitKey(key);
    if (isEmptySelector(d.spec.selector)) {
      this.recorder.event(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      return;
    }
    const rsList = await this.claimReplicaSets(d, namespace!);
    const podsByRs = new Map<string, Pod[]>();
    for (const rs of rsList) podsByRs.set(rs.metadata.uid!, [...this.podInformer.lister.byIndex('owner', rs.metadata.uid!)]);
    const r = new Rollout(
      { client: this.client, recorder: this.recorder, now: this.now, requeueAfter: (ms) => this.queue.addAfter(key, ms) },
      d,
      rsList,
      podsByRs,
    );

    if (d.metadata.deletionTimestamp) {
      const { newRS, oldRSs } = await r.newAndOld(false);
      return r.syncStatus(newRS, [...oldRSs, ...(newRS ? [newRS] : [])]);
    }
    if (d.spec.paused || this.isScalingEvent(r)) return this.scaleOnly(r);
    return isRollingUpdate(d) ? rolloutRolling(r) : rolloutRecreate(r);
  }

  private async claimReplicaSets(d: Deployment, namespace: string): Promise<ReplicaSet[]> {
    return claimObjects(this.rsInformer.lister.list({ namespace }), {
      owner: d,
      ownerRef: controllerRefFor(d, 'apps/v1', 'Deployment'),
      matches: labelSelectorMatcher(d.spec.selector),
      client: this.client.resource<ReplicaSet>(R.replicasets, namespace),
      canAdopt: async () => {
        const fresh = await this.client.resource<Deployment>(R.deployments, namespace).get(d.metadata.name!);
        if (fresh.metadata.uid !== d.metadata.uid || fresh.metadata.deletionTimestamp) {
          throw errors.conflict('deployments', d.metadata.name!, 'original Deployment is gone or being deleted, cannot adopt', 'apps');
        }
      },
    });
  }

  /** isScalingEvent: an active ReplicaSet was sized for a different replicas count than the Deployment's now. */
  private isScalingEvent(r: Rollout): boolean {
    return r.rsList.some((rs) => replicas(rs) > 0 && rs.metadata.annotations?.[DESIRED_REPLICAS] !== undefined && rs.metadata.annotations[DESIRED_REPLICAS] !== String(replicas(r.d)));
  }

  /** sync(): scale proportionally without progressing the rollout (paused or a replicas change). */
  private async scaleOnly(r: Rollout): Promise<void> {
    const { newRS, oldRSs } = await r.newAndOld(false);
    await r.scale(newRS, oldRSs);
    const fresh = (rs: ReplicaSet) => r.rsList.find((x) => x.metadata.uid === rs.metadata.uid) ?? rs;
    const newNow = newRS && fresh(newRS);
    const oldNow = oldRSs.map(fresh);
    if (r.d.spec.paused) await r.cleanup(oldNow);
    await r.syncStatus(newNow, [...oldNow, ...(newNow ? [newNow] : [])]);
  }
}

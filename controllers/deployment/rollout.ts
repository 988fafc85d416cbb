// One sync of one Deployment (sync.go and progress.go): finding or creating
// the new ReplicaSet, scaling ReplicaSets with events, proportional scaling,
// history cleanup and status. The strategies (rolling.ts, recreate.ts) are
// built from these steps.

import { isAlreadyExists } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { Client } from '../../client/interfaces.js';
import type { Deployment, DeploymentStatus, Pod, ReplicaSet } from '../../api/types.js';
import { deepCopy } from '../../api/types.js';
import type { EventRecorder } from '../controller.js';
import { controllerRefFor } from '../ownership.js';
import { canonicalJSON } from '../canonical.js';
import * as u from './util.js';

export interface RolloutContext {
  client: Client;
  recorder: EventRecorder;
  now: () => Date;
  /** Ask for another sync later (progress deadline checks). */
  requeueAfter: (ms: number) => void;
}

export class Rollout {
  readonly d: Deployment;

  constructor(
    private ctx: RolloutContext,
    d: Deployment,
    /** ReplicaSets this Deployment controls, updated in place as this sync changes them. */
    public rsList: ReplicaSet[],
    /** Pods of those ReplicaSets by ReplicaSet uid (Recreate waits for old ones to go). */
    readonly podsByRs: Map<string, Pod[]>,
  ) {
    this.d = deepCopy(d);
  }

  private get rsClient() {
    return this.ctx.client.resource<ReplicaSet>(R.replicasets, this.d.metadata.namespace);
  }

  /** getAllReplicaSetsAndSyncRevision: the new ReplicaSet (created if asked) and the old ones. */
  async newAndOld(create: boolean): Promise<{ newRS?: ReplicaSet; oldRSs: ReplicaSet[] }> {
    const existing = u.findNewReplicaSet(this.d, this.rsList);
    const oldRSs = this.rsList.filter((rs) => rs !== existing);
    const newRS = await this.syncNewReplicaSet(existing, oldRSs, create);
    return { newRS, oldRSs };
  }

  private async syncNewReplicaSet(existing: ReplicaSet | undefined, oldRSs: ReplicaSet[], create: boolean): Promise<ReplicaSet | undefined> {
    const maxOld = Math.max(0, ...oldRSs.map(u.revision));
    const newRevision = String(maxOld + 1);
    if (existing) {
      const rs = deepCopy(existing);
      // Replica annotations stay as they are: proportional scaling reads them as the size this ReplicaSet was planned for.
      const minReadyChanged = (rs.spec.minReadySeconds ?? 0) !== (this.d.spec.minReadySeconds ?? 0);
      rs.spec.minReadySeconds = this.d.spec.minReadySeconds ?? 0;
      // SetNewReplicaSetAnnotations: a later change-cause (or any annotation) reaches the current ReplicaSet.
      const annotated = u.copyDeploymentAnnotations(this.d, rs);
      const changed = u.setNewRevision(rs, newRevision) || annotated || minReadyChanged;
      const updated = changed ? this.replace(existing, await this.rsClient.update(rs)) : existing;
      await this.setDeploymentRevision(updated.metadata.annotations![u.REVISION]);
      if (u.hasProgressDeadline(this.d) && !u.getCondition(this.d.status, 'Progressing')) {
        const status = this.statusCopy();
        u.setCondition(status, u.newCondition('Progressing', 'True', 'FoundNewReplicaSet', `Found new replica set "${updated.metadata.name}"`, this.ctx.now()));
        await this.writeStatus(status);
      }
      return updated;
    }
    if (!create) return undefined;

    const collisionCount = this.d.status?.collisionCount;
    const hash = u.computeHash(this.d.spec.template, collisionCount);
    const template = deepCopy(this.d.spec.template);
    template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [u.HASH_LABEL]: hash } };
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${this.d.metadata.name}-${hash}`,
        namespace: this.d.metadata.namespace,
        labels: { ...template.metadata.labels },
        annotations: {},
        ownerReferences: [controllerRefFor(this.d, 'apps/v1', 'Deployment')],
      },
      spec: {
        replicas: 0,
        minReadySeconds: this.d.spec.minReadySeconds ?? 0,
        selector: { ...this.d.spec.selector, matchLabels: { ...this.d.spec.selector.matchLabels, [u.HASH_LABEL]: hash } },
        template,
      },
    };
    u.copyDeploymentAnnotations(this.d, rs);
    u.setNewRevision(rs, newRevision);
    rs.spec.replicas = this.newReplicaCount([...oldRSs, rs], rs);
    this.setReplicaAnnotations(rs);

    let created: ReplicaSet;
    try {
      created = await this.rsClient.create(rs);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const clash = await this.rsClient.get(rs.metadata.name!);
      // Ours, with our template: a cache that lags behind our own earlier create.
      if (clash.metadata.ownerReferences?.some((r) => r.uid === this.d.metadata.uid) && u.equalIgnoreHash(clash.spec.template, this.d.spec.template)) {
        this.rsList.push(clash);
        return clash;
      }
      // A genuine hash collision: the next sync hashes with a higher collisionCount.
      const status = this.statusCopy();
      status.collisionCount = (collisionCount ?? 0) + 1;
      await this.writeStatus(status);
      throw err;
    }
    this.rsList.push(created);
    if (u.replicas(created) > 0) {
      this.ctx.recorder.event(this.d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata.name} from 0 to ${u.replicas(created)}`);
    }
    await this.setDeploymentRevision(newRevision);
    if (u.hasProgressDeadline(this.d)) {
      const status = this.statusCopy();
      u.setCondition(status, u.newCondition('Progressing', 'True', 'NewReplicaSetCreated', `Created new replica set "${created.metadata.name}"`, this.ctx.now()));
      await this.writeStatus(status);
    }
    return created;
  }

  /** desired-replicas and max-replicas tell proportional scaling what the Deployment asked for when this ReplicaSet was sized. */
  private setReplicaAnnotations(rs: ReplicaSet): boolean {
    const desired = String(u.replicas(this.d));
    const max = String(u.replicas(this.d) + u.maxSurge(this.d));
    const a = rs.metadata.annotations ?? {};
    if (a[u.DESIRED_REPLICAS] === desired && a[u.MAX_REPLICAS] === max) return false;
    rs.metadata.annotations = { ...a, [u.DESIRED_REPLICAS]: desired, [u.MAX_REPLICAS]: max };
    return true;
  }

  private async setDeploymentRevision(rev: string | undefined): Promise<void> {
    if (!rev || this.d.metadata.annotations?.[u.REVISION] === rev) return;
    this.d.metadata.annotations = { ...this.d.metadata.annotations, [u.REVISION]: rev };
    const updated = await this.ctx.client.resource<Deployment>(R.deployments, this.d.metadata.namespace).update(this.d);
    this.d.metadata = updated.metadata;
  }

  private replace(old: ReplicaSet, fresh: ReplicaSet): ReplicaSet {
    this.rsList = this.rsList.map((rs) => (rs === old ? fresh : rs));
    return fresh;
  }

  /** NewRSNewReplicas: how big the new ReplicaSet may be now. */
  newReplicaCount(allRSs: ReplicaSet[], newRS: ReplicaSet): number {
    if (!u.isRollingUpdate(this.d)) return u.replicas(this.d);
    const current = u.sum(allRSs, u.replicas);
    const maxTotal = u.replicas(this.d) + u.maxSurge(this.d);
    if (current >= maxTotal) return u.replicas(newRS);
    return u.replicas(newRS) + Math.min(maxTotal - current, u.replicas(this.d) - u.replicas(newRS));
  }

  /** scaleReplicaSetAndRecordEvent. Returns whether the size changed. */
  async scaleReplicaSet(rs: ReplicaSet, size: number): Promise<{ scaled: boolean; rs: ReplicaSet }> {
    const from = u.replicas(rs);
    const copy = deepCopy(rs);
    const annotationsChanged = this.setReplicaAnnotations(copy);
    if (from === size && !annotationsChanged) return { scaled: false, rs };
    copy.spec.replicas = size;
    const updated = this.replace(rs, await this.rsClient.update(copy));
    if (from !== size) {
      const op = size > from ? 'up' : 'down';
      this.ctx.recorder.event(this.d, 'Normal', 'ScalingReplicaSet', `Scaled ${op} replica set ${rs.metadata.name} from ${from} to ${size}`);
    }
    return { scaled: from !== size, rs: updated };
  }

  /**
   * scale(): a replicas change with more than one active ReplicaSet is spread
   * over them in proportion to their size, so a mid-rollout scale keeps the
   * rollout's ratio instead of growing only the new ReplicaSet.
   */
  async scale(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<void> {
    const target = u.replicas(this.d);
    const activeOrLatest = this.findActiveOrLatest(newRS, oldRSs);
    if (activeOrLatest) {
      await this.scaleReplicaSet(activeOrLatest, target);
      return;
    }
    if (newRS && u.replicas(newRS) === target && newRS.metadata.annotations?.[u.DESIRED_REPLICAS] === String(target) && (newRS.status?.availableReplicas ?? 0) === target) {
      for (const rs of u.activeReplicaSets(oldRSs)) await this.scaleReplicaSet(rs, 0);
      return;
    }
    if (!u.isRollingUpdate(this.d)) return;
    const all = u.activeReplicaSets(newRS ? [...oldRSs, newRS] : oldRSs);
    const allowed = target > 0 ? target + u.maxSurge(this.d) : 0;
    const toAdd = allowed - u.sum(all, u.replicas);
    all.sort(toAdd > 0 ? u.bySizeNewer : u.bySizeOlder);
    let added = 0;
    const sizes = all.map((rs) => {
      if (toAdd === 0) return u.replicas(rs);
      const p = this.proportion(rs, toAdd, added);
      added += p;
      return u.replicas(rs) + p;
    });
    // Rounding leftovers go to the largest ReplicaSet.
    if (toAdd !== 0 && sizes.length) sizes[0] = Math.max(0, sizes[0] + toAdd - added);
    for (let i = 0; i < all.length; i++) await this.scaleReplicaSet(all[i], sizes[i]);
  }

  private findActiveOrLatest(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): ReplicaSet | undefined {
    if (!newRS && oldRSs.length === 0) return undefined;
    const newestOld = [...oldRSs].sort((a, b) => u.byCreation(b, a));
    const active = u.activeReplicaSets(newRS ? [...newestOld, newRS] : newestOld);
    if (active.length === 0) return newRS ?? newestOld[0];
    return active.length === 1 ? active[0] : undefined;
  }

  /** GetProportion via getReplicaSetFraction, with max-replicas recording the size this ReplicaSet was planned for. */
  private proportion(rs: ReplicaSet, toAdd: number, added: number): number {
    if (u.replicas(rs) === 0 || toAdd === added) return 0;
    let fraction: number;
    if (u.replicas(this.d) === 0) fraction = -u.replicas(rs);
    else {
      const deploymentReplicas = u.replicas(this.d) + u.maxSurge(this.d);
      const annotated = Number(rs.metadata.annotations?.[u.MAX_REPLICAS]);
      const base = Number.isFinite(annotated) && annotated > 0 ? annotated : this.d.status?.replicas ?? 0;
      fraction = base > 0 ? Math.round((u.replicas(rs) * deploymentReplicas) / base) - u.replicas(rs) : 0;
    }
    const allowed = toAdd - added;
    return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
  }

  /** cleanupDeployment: delete the oldest unused ReplicaSets beyond revisionHistoryLimit. */
  async cleanup(oldRSs: ReplicaSet[]): Promise<void> {
    const limit = this.d.spec.revisionHistoryLimit ?? 10;
    const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
    const diff = cleanable.length - limit;
    if (diff <= 0) return;
    cleanable.sort((a, b) => u.revision(a) - u.revision(b) || u.byCreation(a, b));
    for (const rs of cleanable.slice(0, diff)) {
      const unused = (rs.status?.replicas ?? 0) === 0 && u.replicas(rs) === 0 && (rs.status?.observedGeneration ?? 0) >= (rs.metadata.generation ?? 0);
      if (unused) await this.rsClient.delete(rs.metadata.name!);
    }
  }

  /** calculateStatus, including the Available condition. */
  calculateStatus(newRS: ReplicaSet | undefined, allRSs: ReplicaSet[]): DeploymentStatus {
    const available = u.sum(allRSs, (rs) => rs.status?.availableReplicas);
    const status: DeploymentStatus = {
      ...this.statusCopy(),
      observedGeneration: this.d.metadata.generation,
      replicas: u.sum(allRSs, (rs) => rs.status?.replicas),
      updatedReplicas: newRS?.status?.replicas ?? 0,
      readyReplicas: u.sum(allRSs, (rs) => rs.status?.readyReplicas),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, u.sum(allRSs, u.replicas) - available),
    };
    if (available >= u.replicas(this.d) - u.maxUnavailable(this.d)) {
      u.setCondition(status, u.newCondition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', this.ctx.now()));
    } else {
      u.setCondition(status, u.newCondition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.', this.ctx.now()));
    }
    return status;
  }

  /** syncDeploymentStatus: status only, no Progressing changes (scaling, paused). */
  async syncStatus(newRS: ReplicaSet | undefined, allRSs: ReplicaSet[]): Promise<void> {
    await this.writeStatus(this.calculateStatus(newRS, allRSs));
  }

  /** syncRolloutStatus: status plus the Progressing condition and the progress deadline. */
  async syncRolloutStatus(newRS: ReplicaSet | undefined, allRSs: ReplicaSet[]): Promise<void> {
    const status = this.calculateStatus(newRS, allRSs);
    const now = this.ctx.now();
    if (!u.hasProgressDeadline(this.d)) u.removeCondition(status, 'Progressing');
    const current = u.getCondition(status, 'Progressing');
    const complete = status.replicas === status.updatedReplicas && current?.reason === 'NewReplicaSetAvailable';
    if (u.hasProgressDeadline(this.d) && !complete) {
      const name = newRS?.metadata.name;
      if (u.deploymentComplete(this.d, status)) {
        const msg = name ? `ReplicaSet "${name}" has successfully progressed.` : 'Deployment has successfully progressed.';
        u.setCondition(status, u.newCondition('Progressing', 'True', 'NewReplicaSetAvailable', msg, now));
      } else if (u.deploymentProgressing(this.d, status)) {
        const msg = name ? `ReplicaSet "${name}" is progressing.` : 'Deployment is progressing.';
        const cond = u.newCondition('Progressing', 'True', 'ReplicaSetUpdated', msg, now);
        // Progress refreshes lastUpdateTime (the deadline's start) even with the same reason.
        if (current?.status === 'True') cond.lastTransitionTime = current.lastTransitionTime;
        u.removeCondition(status, 'Progressing');
        u.setCondition(status, cond);
      } else if (u.deploymentTimedOut(this.d, status, now)) {
        const msg = name ? `ReplicaSet "${name}" has timed out progressing.` : `Deployment "${this.d.metadata.name}" has timed out progressing.`;
        u.setCondition(status, u.newCondition('Progressing', 'False', 'ProgressDeadlineExceeded', msg, now));
      }
    }
    if (!(await this.writeStatus(status))) this.requeueStuck(status);
  }

  /** requeueStuckDeployment: look again when the progress deadline would pass. */
  private requeueStuck(status: DeploymentStatus): void {
    const c = u.getCondition(status, 'Progressing');
    if (!u.hasProgressDeadline(this.d) || !c || c.status !== 'True' || c.reason === 'NewReplicaSetAvailable' || u.deploymentComplete(this.d, status)) return;
    const due = Date.parse(c.lastUpdateTime ?? '') + this.d.spec.progressDeadlineSeconds! * 1000 - this.ctx.now().getTime();
    this.ctx.requeueAfter(Math.max(0, due) + 1000);
  }

  private statusCopy(): DeploymentStatus {
    return deepCopy(this.d.status ?? {});
  }

  /** Writes through the status subresource when it changed. Returns whether it wrote. */
  private async writeStatus(status: DeploymentStatus): Promise<boolean> {
    if (canonicalJSON(status) === canonicalJSON(this.d.status ?? {})) return false;
    this.d.status = status;
    const updated = await this.ctx.client.resource<Deployment>(R.deployments, this.d.metadata.namespace).updateStatus(this.d);
    this.d.metadata = updated.metadata;
    return true;
  }
}

// The ReplicaSet controller (pkg/controller/replicaset): keeps spec.replicas
// active pods matching the selector, owned through a controller reference.

import { errors, isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { LabelSelector, Pod, ReplicaSet, ReplicaSetStatus } from '../../api/types.js';
import { controllerOf, deepCopy, objectKey, splitKey } from '../../api/types.js';
import type { Client, InformerFactory, Informer, ResourceRef } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController, type EventRecorder } from '../controller.js';
import { ControllerExpectations } from '../expectations.js';
import { claimObjects, controllerRefFor } from '../ownership.js';
import { compareForDeletion, isPodActive, isPodAvailable, isPodReady, slowStartBatch } from '../podutil.js';
import { labelSelectorMatcher } from '../selector.js';

/** kube's BurstReplicas: the most pods one sync creates or deletes. */
export const BURST_REPLICAS = 500;

/**
 * The kind a ReplicaSetController reconciles. kube's replication manager
 * (pkg/controller/replication) is this controller run over
 * ReplicationControllers through an adapter: same spec and status shape,
 * only the resource, the owner references and the selector's form differ.
 */
export interface ReplicatedKind {
  resource: ResourceRef;
  apiVersion: string;
  kind: string;
  /** The controller's name for its queue and log. */
  controllerName: string;
  /** spec.selector as a metav1.LabelSelector. */
  selector(obj: ReplicaSet): LabelSelector | undefined;
}

export const replicaSetKind: ReplicatedKind = {
  resource: R.replicasets, apiVersion: 'apps/v1', kind: 'ReplicaSet', controllerName: 'replicaset', selector: (rs) => rs.spec.selector,
};

export interface ReplicaSetControllerOptions {
  client: Client;
  informers: InformerFactory;
  recorder: EventRecorder;
  now?: () => Date;
  /** What is reconciled: ReplicaSets unless told otherwise. */
  kind?: ReplicatedKind;
}

export class ReplicaSetController extends QueueController {
  readonly expectations = new ControllerExpectations();
  private readonly client: Client;
  private readonly recorder: EventRecorder;
  private readonly rsInformer: Informer<ReplicaSet>;
  private readonly podInformer: Informer<Pod>;
  private readonly now: () => Date;
  private readonly kind: ReplicatedKind;

  constructor(o: ReplicaSetControllerOptions) {
    const kind = o.kind ?? replicaSetKind;
    super(kind.controllerName, logger(`${kind.controllerName}-controller`));
    this.kind = kind;
    this.client = o.client;
    this.recorder = o.recorder;
    this.now = o.now ?? (() => new Date());
    this.rsInformer = o.informers.informerFor<ReplicaSet>(kind.resource);
    this.podInformer = o.informers.informerFor<Pod>(R.pods);
    this.rsInformer.addEventHandler({
      onAdd: (rs) => this.enqueue(rs),
      onUpdate: (_, rs) => this.enqueue(rs),
      onDelete: (rs) => {
        this.expectations.delete(objectKey(rs));
        this.enqueue(rs);
      },
    });
    this.podInformer.addEventHandler({
      onAdd: (pod) => this.podAdded(pod),
      onUpdate: (old, pod) => this.podUpdated(old, pod),
      onDelete: (pod) => this.podDeleted(pod),
    });
  }

  private enqueue(rs: ReplicaSet): void {
    this.queue.add(objectKey(rs));
  }

  /** The ReplicaSet a pod's controller reference names, if it still is that one. */
  private owner(pod: Pod): ReplicaSet | undefined {
    const ref = controllerOf(pod);
    if (!ref || ref.kind !== this.kind.kind) return undefined;
    const rs = this.rsInformer.lister.get(`${pod.metadata.namespace}/${ref.name}`);
    return rs?.metadata.uid === ref.uid ? rs : undefined;
  }

  /** Orphans wake every ReplicaSet that could adopt them. */
  private matchingReplicaSets(pod: Pod): readonly ReplicaSet[] {
    return this.rsInformer.lister
      .list({ namespace: pod.metadata.namespace })
      .filter((rs) => labelSelectorMatcher(this.kind.selector(rs))(pod.metadata.labels));
  }

  private podAdded(pod: Pod): void {
    if (pod.metadata.deletionTimestamp) return this.podDeleted(pod);
    if (controllerOf(pod)) {
      const rs = this.owner(pod);
      if (!rs) return;
      this.expectations.creationObserved(objectKey(rs));
      return this.enqueue(rs);
    }
    for (const rs of this.matchingReplicaSets(pod)) this.enqueue(rs);
  }

  private podUpdated(old: Pod, pod: Pod): void {
    if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
    if (pod.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) {
      // A graceful delete: the pod no longer counts, act now rather than when it is gone.
      return this.podDeleted(pod);
    }
    const oldRef = controllerOf(old);
    const ref = controllerOf(pod);
    if (oldRef && oldRef.uid !== ref?.uid) {
      const oldRs = this.owner(old);
      if (oldRs) this.enqueue(oldRs);
    }
    if (ref) {
      const rs = this.owner(pod);
      if (!rs) return;
      this.enqueue(rs);
      // Becoming ready starts the minReadySeconds clock: check availability once it has run.
      const minReady = rs.spec.minReadySeconds ?? 0;
      if (minReady > 0 && !isPodReady(old) && isPodReady(pod)) this.queue.addAfter(objectKey(rs), minReady * 1000 + 1000);
      return;
    }
    const labelsChanged = JSON.stringify(old.metadata.labels) !== JSON.stringify(pod.metadata.labels);
    if (labelsChanged || oldRef) for (const rs of this.matchingReplicaSets(pod)) this.enqueue(rs);
  }

  private podDeleted(pod: Pod): void {
    const rs = this.owner(pod);
    if (!rs) return;
    const key = objectKey(rs);
    this.expectations.deletionObserved(key, objectKey(pod));
    this.enqueue(rs);
  }

  async sync(key: string): Promise<void> {
    const cached = this.rsInformer.lister.get(key);
    if (!cached) {
      this.expectations.delete(key);
      return;
    }
    const rs = deepCopy(cached);
    const { namespace } = splitKey(key);
    const needsSync = this.expectations.satisfied(key);
    const pods = this.podInformer.lister.list({ namespace }).filter(isPodActive);
    const owned = await claimObjects(pods, {
      owner: rs,
      ownerRef: controllerRefFor(rs, this.kind.apiVersion, this.kind.kind),
      matches: labelSelectorMatcher(this.kind.selector(rs)),
      client: this.client.resource<Pod>(R.pods, namespace),
      canAdopt: async () => {
        const fresh = await this.client.resource<ReplicaSet>(this.kind.resource, namespace).get(rs.metadata.name!);
        if (fresh.metadata.uid !== rs.metadata.uid || fresh.metadata.deletionTimestamp) {
          throw errors.conflict(this.kind.resource.plural, rs.metadata.name!, `original ${this.kind.kind} is gone or being deleted, cannot adopt`, this.kind.resource.group);
        }
      },
    });

    let manageError: unknown;
    if (needsSync && !rs.metadata.deletionTimestamp) {
      manageError = await this.manageReplicas(owned, rs).then(() => undefined, (e: unknown) => e);
    }
    await this.updateStatus(rs, owned, manageError);
    if (manageError) throw manageError;
  }

  private async manageReplicas(pods: Pod[], rs: ReplicaSet): Promise<void> {
    const key = objectKey(rs);
    const namespace = rs.metadata.namespace!;
    const diff = pods.length - (rs.spec.replicas ?? 1);
    const podClient = this.client.resource<Pod>(R.pods, namespace);
    if (diff < 0) {
      const n = Math.min(-diff, BURST_REPLICAS);
      // Record the creates before issuing them: the informer may see a pod before create() returns.
      this.expectations.expectCreations(key, n);
      const { successes, error } = await slowStartBatch(n, 1, async () => {
        try {
          const pod = await podClient.create(this.podFromTemplate(rs));
          this.recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
        } catch (err) {
          this.recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`);
          throw err;
        }
      });
      // Every create not issued or failed will never be observed.
      for (let i = successes; i < n; i++) this.expectations.creationObserved(key);
      if (error) throw error;
    } else if (diff > 0) {
      const victims = [...pods].sort(compareForDeletion).slice(0, Math.min(diff, BURST_REPLICAS));
      this.expectations.expectDeletions(key, victims.map(objectKey));
      const results = await Promise.allSettled(
        victims.map(async (pod) => {
          try {
            await podClient.delete(pod.metadata.name!);
            this.recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
          } catch (err) {
            // Gone already or never going away on our account: stop waiting for it.
            this.expectations.deletionObserved(key, objectKey(pod));
            if (isNotFound(err)) return;
            this.recorder.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${(err as Error).message}`);
            throw err;
          }
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
  }

  private podFromTemplate(rs: ReplicaSet): Pod {
    const t = rs.spec.template;
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${rs.metadata.name}-`,
        namespace: rs.metadata.namespace,
        labels: { ...t.metadata?.labels },
        ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
        ownerReferences: [controllerRefFor(rs, this.kind.apiVersion, this.kind.kind)],
      },
      spec: deepCopy(t.spec),
    };
  }

  private async updateStatus(rs: ReplicaSet, pods: Pod[], manageError: unknown): Promise<void> {
    const status = calculateStatus(rs, pods, this.now(), manageError);
    const current = rs.status ?? { replicas: 0 };
    const same = (Object.keys(status) as (keyof ReplicaSetStatus)[]).every((k) => JSON.stringify(status[k]) === JSON.stringify(current[k]));
    if (!same) {
      await this.client.resource<ReplicaSet>(this.kind.resource, rs.metadata.namespace).updateStatus({ ...rs, status: { ...current, ...status } });
    }
    // Pods ready but not yet available become available by time alone: look again then.
    const minReady = rs.spec.minReadySeconds ?? 0;
    if (minReady > 0 && status.readyReplicas === rs.spec.replicas && status.availableReplicas !== rs.spec.replicas) {
      this.queue.addAfter(objectKey(rs), minReady * 1000);
    }
  }
}

/** calculateStatus in replica_set_utils.go, with the ReplicaFailure condition for failed creates and deletes. */
export function calculateStatus(rs: ReplicaSet, pods: Pod[], now: Date, manageError?: unknown): ReplicaSetStatus {
  const templateLabels = rs.spec.template.metadata?.labels ?? {};
  const fullyLabeled = pods.filter((p) => Object.entries(templateLabels).every(([k, v]) => p.metadata.labels?.[k] === v));
  const minReady = rs.spec.minReadySeconds ?? 0;
  const status: ReplicaSetStatus = {
    replicas: pods.length,
    fullyLabeledReplicas: fullyLabeled.length,
    readyReplicas: pods.filter(isPodReady).length,
    availableReplicas: pods.filter((p) => isPodAvailable(p, minReady, now)).length,
    observedGeneration: rs.metadata.generation,
  };
  const others = (rs.status?.conditions ?? []).filter((c) => c.type !== 'ReplicaFailure');
  const failure = rs.status?.conditions?.find((c) => c.type === 'ReplicaFailure');
  if (manageError) {
    const diff = pods.length - (rs.spec.replicas ?? 1);
    const reason = diff < 0 ? 'FailedCreate' : 'FailedDelete';
    const message = (manageError as Error).message;
    status.conditions = [...others, failure?.reason === reason && failure.message === message ? failure : { type: 'ReplicaFailure', status: 'True', lastTransitionTime: now.toISOString(), reason, message }];
  } else if (failure) {
    status.conditions = others;
  }
  return status;
}

// The StatefulSet controller (pkg/controller/statefulset): pods named
// <set>-<ordinal> with a stable hostname under the governing Service, one
// PersistentVolumeClaim per claim template and ordinal, created in order and
// removed in reverse (OrderedReady) or all at once (Parallel), updated from
// the highest ordinal down to the partition (RollingUpdate) or when deleted
// (OnDelete), with the template history kept as ControllerRevisions.

import { errors, isAlreadyExists, isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { KubeObject, OwnerReference, Pod } from '../../api/types.js';
import { controllerOf, deepCopy, objectKey, splitKey } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController, type EventRecorder } from '../controller.js';
import { controllerRevisionHashLabel, maxRevision, newRevision, ownedRevisions, sameData, type ControllerRevision } from '../history.js';
import { claimObjects, controllerRefFor } from '../ownership.js';
import { isPodAvailable, isPodReady } from '../podutil.js';
import { labelSelectorMatcher } from '../selector.js';

export type StatefulSet = KubeObject;

const ownerKind = { apiVersion: 'apps/v1', kind: 'StatefulSet' };
export const podNameLabel = 'statefulset.kubernetes.io/pod-name';
export const podIndexLabel = 'apps.kubernetes.io/pod-index';

export interface StatefulSetControllerOptions {
  client: Client;
  informers: InformerFactory;
  recorder: EventRecorder;
  now?: () => Date;
}

/** getParentNameAndOrdinal: "<parent>-<ordinal>". */
export function parentAndOrdinal(pod: Pod): { parent: string; ordinal: number } | undefined {
  const m = /^(.*)-([0-9]+)$/.exec(pod.metadata.name ?? '');
  return m ? { parent: m[1], ordinal: Number(m[2]) } : undefined;
}

const isCreated = (p: Pod) => !!p.status?.phase;
const isFailed = (p: Pod) => p.status?.phase === 'Failed';
const isSucceeded = (p: Pod) => p.status?.phase === 'Succeeded';
const isTerminating = (p: Pod) => !!p.metadata.deletionTimestamp;
const isRunningAndReady = (p: Pod) => p.status?.phase === 'Running' && isPodReady(p);
const revisionOf = (p: Pod) => p.metadata.labels?.[controllerRevisionHashLabel];

/** The template a revision restores (its data is the patch getPatch made). */
function templateOf(rev: ControllerRevision): Record<string, any> {
  const t = deepCopy((rev.data as { spec?: { template?: Record<string, any> } })?.spec?.template ?? {});
  delete t.$patch;
  return t;
}

export class StatefulSetController extends QueueController {
  private readonly client: Client;
  private readonly recorder: EventRecorder;
  private readonly setInformer: Informer<StatefulSet>;
  private readonly podInformer: Informer<Pod>;
  private readonly revInformer: Informer<ControllerRevision>;
  private readonly now: () => Date;

  constructor(o: StatefulSetControllerOptions) {
    super('statefulset', logger('statefulset-controller'));
    this.client = o.client;
    this.recorder = o.recorder;
    this.now = o.now ?? (() => new Date());
    this.setInformer = o.informers.informerFor<StatefulSet>(R.statefulsets);
    this.podInformer = o.informers.informerFor<Pod>(R.pods);
    this.revInformer = o.informers.informerFor<ControllerRevision>(R.controllerrevisions);
    this.setInformer.addEventHandler({
      onAdd: (s) => this.enqueue(s),
      onUpdate: (_, s) => this.enqueue(s),
      onDelete: (s) => this.enqueue(s),
    });
    const podChanged = (pod: Pod) => {
      const set = this.owner(pod);
      if (set) this.enqueue(set);
      else if (!controllerOf(pod)) {
        // An orphan may be adopted by a set whose selector matches it.
        for (const s of this.setInformer.lister.list({ namespace: pod.metadata.namespace })) {
          if (labelSelectorMatcher(s.spec?.selector)(pod.metadata.labels)) this.enqueue(s);
        }
      }
    };
    this.podInformer.addEventHandler({
      onAdd: podChanged,
      onUpdate: (old, pod) => {
        if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
        podChanged(pod);
        const set = this.owner(pod);
        const minReady = set?.spec?.minReadySeconds ?? 0;
        if (set && minReady > 0 && !isPodReady(old) && isPodReady(pod)) this.queue.addAfter(objectKey(set), minReady * 1000 + 1000);
      },
      onDelete: podChanged,
    });
  }

  private enqueue(s: StatefulSet): void {
    this.queue.add(objectKey(s));
  }

  private owner(pod: Pod): StatefulSet | undefined {
    const ref = controllerOf(pod);
    if (!ref || ref.kind !== ownerKind.kind) return undefined;
    const s = this.setInformer.lister.get(`${pod.metadata.namespace}/${ref.name}`);
    return s?.metadata.uid === ref.uid ? s : undefined;
  }

  async sync(key: string): Promise<void> {
    const cached = this.setInformer.lister.get(key);
    if (!cached) return;
    const set = deepCopy(cached);
    const { namespace } = splitKey(key);
    const isMember = (p: Pod) => parentAndOrdinal(p)?.parent === set.metadata.name;
    const matches = labelSelectorMatcher(set.spec?.selector);
    // Only an orphan named like a member may be adopted (isMemberOf); owned pods go through claiming as they are.
    const candidates = this.podInformer.lister.list({ namespace }).filter((p) => isMember(p) || controllerOf(p));
    const pods = await claimObjects(candidates, {
      owner: set,
      ownerRef: controllerRefFor(set, ownerKind.apiVersion, ownerKind.kind),
      matches,
      client: this.client.resource<Pod>(R.pods, namespace),
      canAdopt: async () => {
        const fresh = await this.client.resource<StatefulSet>(R.statefulsets, namespace).get(set.metadata.name!);
        if (fresh.metadata.uid !== set.metadata.uid || fresh.metadata.deletionTimestamp) {
          throw errors.conflict('statefulsets', set.metadata.name!, 'original StatefulSet is gone or being deleted, cannot adopt', 'apps');
        }
      },
    }).then((ps) => ps.filter(isMember));
    const { current, update } = await this.revisions(set);
    let err: unknown;
    if (!set.metadata.deletionTimestamp) {
      try {
        await this.updateSet(set, pods, current, update);
      } catch (e) {
        err = e;
      }
    }
    await this.updateStatus(set, this.podInformer.lister.list({ namespace }).filter((p) => controllerOf(p)?.uid === set.metadata.uid && isMember(p)), current, update);
    if (err) throw err;
  }

  /** getStatefulSetRevisions: the update revision (the current template's, made or renumbered) and the current one (status.currentRevision). */
  private async revisions(set: StatefulSet): Promise<{ current: ControllerRevision; update: ControllerRevision }> {
    const revs = ownedRevisions(this.revInformer.lister.list({ namespace: set.metadata.namespace }), set, labelSelectorMatcher(set.spec?.selector));
    const max = maxRevision(revs);
    const wanted = newRevision(set, ownerKind, max + 1, set.status?.collisionCount);
    const revClient = this.client.resource<ControllerRevision>(R.controllerrevisions, set.metadata.namespace);
    let update = revs.filter((r) => sameData(r, wanted)).pop();
    if (update && (update.revision ?? 0) < max) update = await revClient.update({ ...deepCopy(update), revision: max + 1 });
    else if (!update) {
      try {
        update = await revClient.create(wanted);
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        const existing = await revClient.get(wanted.metadata.name!);
        if (controllerOf(existing)?.uid !== set.metadata.uid || !sameData(existing, wanted)) {
          await this.client.resource<StatefulSet>(R.statefulsets, set.metadata.namespace).updateStatus({ ...set, status: { ...set.status, collisionCount: (set.status?.collisionCount ?? 0) + 1 } });
          throw e;
        }
        update = existing;
      }
    }
    const current = revs.find((r) => r.metadata.name === set.status?.currentRevision) ?? update;
    await this.truncateHistory(set, revs, current, update);
    return { current, update };
  }

  /** truncateHistory: revisions beyond revisionHistoryLimit that neither the current, the update revision nor a live pod uses. */
  private async truncateHistory(set: StatefulSet, revs: ControllerRevision[], current: ControllerRevision, update: ControllerRevision): Promise<void> {
    const live = new Set(this.podInformer.lister.list({ namespace: set.metadata.namespace }).filter((p) => controllerOf(p)?.uid === set.metadata.uid).map(revisionOf));
    const unused = revs.filter((r) => r.metadata.name !== current.metadata.name && r.metadata.name !== update.metadata.name && !live.has(r.metadata.name));
    const excess = unused.length - (set.spec?.revisionHistoryLimit ?? 10);
    const revClient = this.client.resource(R.controllerrevisions, set.metadata.namespace);
    for (const r of unused.slice(0, Math.max(0, excess))) {
      await revClient.delete(r.metadata.name!).catch((e) => {
        if (!isNotFound(e)) throw e;
      });
    }
  }

  /** updateStatefulSet: one pass of create, replace, scale down and rolling update; OrderedReady stops at the first pod it must wait for. */
  private async updateSet(set: StatefulSet, pods: Pod[], current: ControllerRevision, update: ControllerRevision): Promise<void> {
    const spec = set.spec ?? {};
    const replicaCount: number = spec.replicas ?? 1;
    const start: number = spec.ordinals?.start ?? 0;
    const end = start + replicaCount;
    const monotonic = spec.podManagementPolicy !== 'Parallel';
    const minReady = spec.minReadySeconds ?? 0;
    const now = this.now();
    const healthy = (p: Pod) => isRunningAndReady(p) && isPodAvailable(p, minReady, now) && !isTerminating(p);
    const podClient = this.client.resource<Pod>(R.pods, set.metadata.namespace);

    const replicas: (Pod | undefined)[] = new Array(replicaCount).fill(undefined);
    const condemned: Pod[] = [];
    for (const p of pods) {
      const ord = parentAndOrdinal(p)!.ordinal;
      if (ord >= start && ord < end) replicas[ord - start] = p;
      else condemned.push(p);
    }
    condemned.sort((a, b) => parentAndOrdinal(a)!.ordinal - parentAndOrdinal(b)!.ordinal);
    const partition: number = spec.updateStrategy?.type === 'RollingUpdate' ? spec.updateStrategy?.rollingUpdate?.partition ?? 0 : 0;
    // newVersionedStatefulSetPod: below the partition a missing pod comes back at the current revision.
    const revisionFor = (ord: number) => (spec.updateStrategy?.type === 'RollingUpdate' && ord < start + partition ? current : update);

    const parallelCreates: Promise<void>[] = [];
    for (let i = 0; i < replicaCount; i++) {
      const ord = start + i;
      const pod = replicas[i];
      if (pod && (isFailed(pod) || isSucceeded(pod)) && !isTerminating(pod)) {
        // A finished pod is replaced by a fresh one with the same identity.
        await this.deletePod(set, podClient, pod, 'RecreatingFailedPod');
        if (monotonic) return;
        continue;
      }
      if (!pod) {
        const make = async () => {
          await this.createClaims(set, ord);
          await this.createPod(set, podClient, ord, revisionFor(ord));
        };
        if (monotonic) {
          await make();
          return;
        }
        parallelCreates.push(make());
        continue;
      }
      if (isTerminating(pod)) {
        if (monotonic) return;
        continue;
      }
      if (monotonic && !healthy(pod)) return;
    }
    if (parallelCreates.length) {
      const results = await Promise.allSettled(parallelCreates);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }

    // Scale down: the highest ordinal first, one at a time unless Parallel.
    const unhealthy = replicas.some((p) => !p || !healthy(p));
    for (let i = condemned.length - 1; i >= 0; i--) {
      const pod = condemned[i];
      if (isTerminating(pod)) {
        if (monotonic) return;
        continue;
      }
      if (monotonic && (unhealthy || condemned.slice(i + 1).some((p) => !healthy(p)))) return;
      await this.retainOrDeleteClaimsOnScaleDown(set, pod);
      await this.deletePod(set, podClient, pod, 'SuccessfulDelete');
      if (monotonic) return;
    }

    if (spec.updateStrategy?.type !== 'RollingUpdate') return;
    // Rolling update: from the highest ordinal down to the partition, one pod at a time, each waiting for the last to be healthy.
    if (monotonic && unhealthy) return;
    for (let i = replicaCount - 1; i >= partition; i--) {
      const pod = replicas[i];
      if (!pod) return;
      if (revisionOf(pod) !== update.metadata.name) {
        if (!isTerminating(pod)) await this.deletePod(set, podClient, pod, 'SuccessfulDelete');
        return;
      }
      if (!healthy(pod)) return;
    }
  }

  private async deletePod(set: StatefulSet, podClient: ReturnType<Client['resource']>, pod: Pod, reason: string): Promise<void> {
    try {
      await podClient.delete(pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
      this.recorder.event(set, 'Normal', reason === 'RecreatingFailedPod' ? 'RecreatingFailedPod' : 'SuccessfulDelete',
        reason === 'RecreatingFailedPod' ? `StatefulSet ${set.metadata.namespace}/${set.metadata.name} is recreating failed Pod ${pod.metadata.name}` : `delete Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`);
    } catch (e) {
      if (isNotFound(e)) return;
      this.recorder.event(set, 'Warning', 'FailedDelete', `delete Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${(e as Error).message}`);
      throw e;
    }
  }

  private async createPod(set: StatefulSet, podClient: ReturnType<Client['resource']>, ord: number, rev: ControllerRevision): Promise<void> {
    const pod = podFor(set, ord, rev);
    try {
      await podClient.create(pod);
      this.recorder.event(set, 'Normal', 'SuccessfulCreate', `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`);
    } catch (e) {
      if (isAlreadyExists(e)) return;
      this.recorder.event(set, 'Warning', 'FailedCreate', `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${(e as Error).message}`);
      throw e;
    }
  }

  /** createPersistentVolumeClaims: each template's claim for the ordinal, unless it exists already (a claim outlives its pod). */
  private async createClaims(set: StatefulSet, ord: number): Promise<void> {
    const templates: KubeObject[] = set.spec?.volumeClaimTemplates ?? [];
    if (!templates.length) return;
    const pvcs = this.client.resource(R.persistentvolumeclaims, set.metadata.namespace);
    for (const t of templates) {
      const claim = claimFor(set, t, ord);
      let existing: KubeObject | undefined;
      try {
        existing = await pvcs.get(claim.metadata.name!);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      if (existing) {
        await this.reconcileClaimOwner(set, pvcs, existing);
        continue;
      }
      try {
        await pvcs.create(claim);
        this.recorder.event(set, 'Normal', 'SuccessfulCreate', `create Claim ${claim.metadata.name} Pod ${set.metadata.name}-${ord} in StatefulSet ${set.metadata.name} success`);
      } catch (e) {
        if (isAlreadyExists(e)) continue;
        this.recorder.event(set, 'Warning', 'FailedCreate', `create Claim ${claim.metadata.name} for Pod ${set.metadata.name}-${ord} in StatefulSet ${set.metadata.name} failed error: ${(e as Error).message}`);
        throw e;
      }
    }
  }

  /**
   * updateClaimOwnerRefForSetAndPod, for the set's part: a claim that outlived
   * its pod follows the current whenDeleted (owned by the set for Delete, not
   * for Retain), so a policy changed later still decides what goes with the set.
   */
  private async reconcileClaimOwner(set: StatefulSet, pvcs: ReturnType<Client['resource']>, claim: KubeObject): Promise<void> {
    const refs = claim.metadata.ownerReferences ?? [];
    const owned = refs.some((r) => r.uid === set.metadata.uid);
    const want = set.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted === 'Delete';
    if (owned === want) return;
    const next = want
      ? [...refs, { apiVersion: ownerKind.apiVersion, kind: ownerKind.kind, name: set.metadata.name!, uid: set.metadata.uid! }]
      : refs.filter((r) => r.uid !== set.metadata.uid);
    await pvcs.patch(claim.metadata.name!, 'merge', { metadata: { ownerReferences: next.length ? next : null, uid: claim.metadata.uid } });
  }

  /** whenScaled: Delete hands a condemned pod's claims to the pod, so the garbage collector removes them with it. */
  private async retainOrDeleteClaimsOnScaleDown(set: StatefulSet, pod: Pod): Promise<void> {
    if (set.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled !== 'Delete') return;
    const pvcs = this.client.resource(R.persistentvolumeclaims, set.metadata.namespace);
    const ord = parentAndOrdinal(pod)!.ordinal;
    for (const t of set.spec?.volumeClaimTemplates ?? []) {
      const name = `${t.metadata?.name}-${set.metadata.name}-${ord}`;
      try {
        const claim = await pvcs.get(name);
        const refs = claim.metadata.ownerReferences ?? [];
        if (refs.some((r) => r.uid === pod.metadata.uid)) continue;
        const ref: OwnerReference = { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name!, uid: pod.metadata.uid! };
        await pvcs.patch(name, 'merge', { metadata: { ownerReferences: [...refs, ref] } });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  private async updateStatus(set: StatefulSet, pods: Pod[], current: ControllerRevision, update: ControllerRevision): Promise<void> {
    const status = calculateStatus(set, pods, current, update, this.now());
    const prev = set.status ?? {};
    const same = (Object.keys(status) as (keyof typeof status)[]).every((k) => prev[k] === status[k]);
    if (!same) await this.client.resource<StatefulSet>(R.statefulsets, set.metadata.namespace).updateStatus({ ...set, status: { ...prev, ...status } });
    const minReady = set.spec?.minReadySeconds ?? 0;
    if (minReady > 0 && status.availableReplicas !== status.readyReplicas) this.queue.addAfter(objectKey(set), minReady * 1000);
  }
}

/** newVersionedStatefulSetPod: the revision's template with the ordinal's identity and storage. */
export function podFor(set: StatefulSet, ord: number, rev: ControllerRevision): Pod {
  const t = templateOf(rev);
  const name = `${set.metadata.name}-${ord}`;
  const spec = deepCopy(t.spec ?? {});
  // updateStorage: each claim template's volume is that ordinal's claim.
  const templates: KubeObject[] = set.spec?.volumeClaimTemplates ?? [];
  const volumes = (spec.volumes ?? []).filter((v: { name: string }) => !templates.some((c) => c.metadata?.name === v.name));
  for (const c of templates) volumes.push({ name: c.metadata!.name, persistentVolumeClaim: { claimName: `${c.metadata!.name}-${set.metadata.name}-${ord}` } });
  if (volumes.length) spec.volumes = volumes;
  // updateIdentity: the hostname and the governing Service as subdomain give the pod its DNS name.
  spec.hostname = name;
  if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: set.metadata.namespace,
      labels: { ...t.metadata?.labels, [podNameLabel]: name, [podIndexLabel]: String(ord), [controllerRevisionHashLabel]: rev.metadata.name! },
      ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
      ownerReferences: [controllerRefFor(set, ownerKind.apiVersion, ownerKind.kind)],
    },
    spec,
  } as Pod;
}

/** getPersistentVolumeClaims: <template>-<set>-<ordinal>, labelled with the set's selector, owned by the set when whenDeleted is Delete. */
export function claimFor(set: StatefulSet, template: KubeObject, ord: number): KubeObject {
  const name = `${template.metadata?.name}-${set.metadata.name}-${ord}`;
  const claim: KubeObject = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name,
      namespace: set.metadata.namespace,
      labels: { ...template.metadata?.labels, ...set.spec?.selector?.matchLabels },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
    },
    spec: deepCopy(template.spec ?? {}),
  };
  if (set.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted === 'Delete') {
    claim.metadata.ownerReferences = [{ apiVersion: ownerKind.apiVersion, kind: ownerKind.kind, name: set.metadata.name!, uid: set.metadata.uid! }];
  }
  return claim;
}

/** The status updateStatefulSet computes, with completeRollingUpdate's move of currentRevision. */
export function calculateStatus(set: StatefulSet, pods: Pod[], current: ControllerRevision, update: ControllerRevision, now: Date) {
  const minReady = set.spec?.minReadySeconds ?? 0;
  let replicas = 0;
  let ready = 0;
  let available = 0;
  let currentReplicas = 0;
  let updated = 0;
  for (const p of pods) {
    if (isCreated(p)) replicas++;
    if (isRunningAndReady(p)) {
      ready++;
      if (isPodAvailable(p, minReady, now)) available++;
    }
    if (isCreated(p) && !isTerminating(p)) {
      if (revisionOf(p) === current.metadata.name) currentReplicas++;
      if (revisionOf(p) === update.metadata.name) updated++;
    }
  }
  const status = {
    observedGeneration: set.metadata.generation,
    replicas,
    readyReplicas: ready,
    availableReplicas: available,
    currentReplicas,
    updatedReplicas: updated,
    currentRevision: current.metadata.name,
    updateRevision: update.metadata.name,
  };
  const want = set.spec?.replicas ?? 1;
  if (set.spec?.updateStrategy?.type === 'RollingUpdate' && status.updatedReplicas === want && status.readyReplicas === want && status.replicas === want) {
    status.currentRevision = status.updateRevision;
    status.currentReplicas = status.updatedReplicas;
  }
  return status;
}

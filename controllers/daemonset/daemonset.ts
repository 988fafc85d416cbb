// The DaemonSet controller (pkg/controller/daemon): one pod per eligible
// node, placed by the scheduler through a node affinity on the node's name,
// replaced on a template change by RollingUpdate (maxUnavailable or
// maxSurge) or, with OnDelete, when the user deletes the old pod; the
// template history kept as ControllerRevisions for `kubectl rollout undo`.

import { errors, isAlreadyExists, isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { KubeObject, Node, Pod } from '../../api/types.js';
import { controllerOf, deepCopy, objectKey, splitKey } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController, type EventRecorder } from '../controller.js';
import { ControllerExpectations } from '../expectations.js';
import { controllerRevisionHashLabel, maxRevision, newRevision, ownedRevisions, sameData, type ControllerRevision } from '../history.js';
import { claimObjects, controllerRefFor } from '../ownership.js';
import { isPodAvailable, isPodReady, slowStartBatch } from '../podutil.js';
import { labelSelectorMatcher } from '../selector.js';
import { daemonTolerations, nodeNameAffinity, nodeShouldRunDaemonPod, scaledValue, targetNodeName } from './util.js';

export type DaemonSet = KubeObject;

const ownerKind = { apiVersion: 'apps/v1', kind: 'DaemonSet' };
/** The pod label with the DaemonSet's template generation (extensions.DaemonSetTemplateGenerationKey). */
export const templateGenerationLabel = 'pod-template-generation';
const templateGenerationAnnotation = 'deprecated.daemonset.template.generation';
/** kube's BurstReplicas for daemon pods. */
const BURST_REPLICAS = 250;
/** failedPodsBackoff: a node whose daemon pod keeps failing gets its next replacement after 1 s, doubling to 15 min. */
const FAILED_POD_BACKOFF_MS = 1000;
const FAILED_POD_BACKOFF_MAX_MS = 15 * 60 * 1000;

export interface DaemonSetControllerOptions {
  client: Client;
  informers: InformerFactory;
  recorder: EventRecorder;
  now?: () => Date;
}

const byCreation = (a: Pod, b: Pod) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || (a.metadata.name! < b.metadata.name! ? -1 : 1);

export class DaemonSetController extends QueueController {
  readonly expectations = new ControllerExpectations();
  private readonly client: Client;
  private readonly recorder: EventRecorder;
  private readonly dsInformer: Informer<DaemonSet>;
  private readonly podInformer: Informer<Pod>;
  private readonly nodeInformer: Informer<Node>;
  private readonly revInformer: Informer<ControllerRevision>;
  private readonly now: () => Date;
  /** Per "<ds key>/<node>": when the next failed pod may be replaced, and the delay after that. */
  private readonly failedBackoff = new Map<string, { until: number; delayMs: number }>();

  constructor(o: DaemonSetControllerOptions) {
    super('daemonset', logger('daemonset-controller'));
    this.client = o.client;
    this.recorder = o.recorder;
    this.now = o.now ?? (() => new Date());
    this.dsInformer = o.informers.informerFor<DaemonSet>(R.daemonsets);
    this.podInformer = o.informers.informerFor<Pod>(R.pods);
    this.nodeInformer = o.informers.informerFor<Node>(R.nodes);
    this.revInformer = o.informers.informerFor<ControllerRevision>(R.controllerrevisions);
    this.dsInformer.addEventHandler({
      onAdd: (ds) => this.enqueue(ds),
      onUpdate: (_, ds) => this.enqueue(ds),
      onDelete: (ds) => {
        this.expectations.delete(objectKey(ds));
        for (const k of this.failedBackoff.keys()) if (k.startsWith(`${objectKey(ds)}/`)) this.failedBackoff.delete(k);
        this.enqueue(ds);
      },
    });
    this.podInformer.addEventHandler({
      onAdd: (pod) => {
        const ds = this.owner(pod);
        if (!ds) return;
        this.expectations.creationObserved(objectKey(ds));
        this.enqueue(ds);
      },
      onUpdate: (old, pod) => {
        if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
        const ds = this.owner(pod);
        if (!ds) return;
        this.enqueue(ds);
        // Becoming ready starts the minReadySeconds clock: look again once it has run.
        const minReady = ds.spec?.minReadySeconds ?? 0;
        if (minReady > 0 && !isPodReady(old) && isPodReady(pod)) this.queue.addAfter(objectKey(ds), minReady * 1000 + 1000);
      },
      onDelete: (pod) => {
        const ds = this.owner(pod);
        if (!ds) return;
        this.expectations.deletionObserved(objectKey(ds), objectKey(pod));
        this.enqueue(ds);
      },
    });
    // A node's labels, taints or readiness decide which DaemonSets belong on it.
    const nodeChanged = () => {
      for (const ds of this.dsInformer.lister.list()) this.enqueue(ds);
    };
    this.nodeInformer.addEventHandler({
      onAdd: nodeChanged,
      onUpdate: (old, node) => {
        if (JSON.stringify([old.metadata.labels, old.spec?.taints]) !== JSON.stringify([node.metadata.labels, node.spec?.taints])) nodeChanged();
      },
      onDelete: nodeChanged,
    });
  }

  private enqueue(ds: DaemonSet): void {
    this.queue.add(objectKey(ds));
  }

  private owner(pod: Pod): DaemonSet | undefined {
    const ref = controllerOf(pod);
    if (!ref || ref.kind !== ownerKind.kind) return undefined;
    const ds = this.dsInformer.lister.get(`${pod.metadata.namespace}/${ref.name}`);
    return ds?.metadata.uid === ref.uid ? ds : undefined;
  }

  async sync(key: string): Promise<void> {
    const cached = this.dsInformer.lister.get(key);
    if (!cached) {
      this.expectations.delete(key);
      return;
    }
    const ds = deepCopy(cached);
    const { namespace } = splitKey(key);
    const nodes = [...this.nodeInformer.lister.list()].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
    const nodeToPods = await this.podsByNode(ds, namespace!);
    if (ds.metadata.deletionTimestamp) return this.updateStatus(ds, nodes, nodeToPods, '');

    const { current, old } = await this.constructHistory(ds);
    const hash = current.metadata.labels![controllerRevisionHashLabel];
    if (!this.expectations.satisfied(key)) return this.updateStatus(ds, nodes, nodeToPods, hash);

    let err: unknown;
    try {
      const changed = await this.manage(ds, nodes, nodeToPods, hash);
      // As kube: the rolling update only acts once the manage loop's own creates and deletes are seen.
      if (!changed && ds.spec?.updateStrategy?.type === 'RollingUpdate') await this.rollingUpdate(ds, nodes, nodeToPods, hash);
      await this.cleanupHistory(ds, old, nodeToPods);
    } catch (e) {
      err = e;
    }
    await this.updateStatus(ds, nodes, nodeToPods, hash);
    if (err) throw err;
  }

  /** The DaemonSet's pods (claimed: adopted orphans, released mismatches) by the node they are on or meant for. */
  private async podsByNode(ds: DaemonSet, namespace: string): Promise<Map<string, Pod[]>> {
    const pods = await claimObjects(this.podInformer.lister.list({ namespace }), {
      owner: ds,
      ownerRef: controllerRefFor(ds, ownerKind.apiVersion, ownerKind.kind),
      matches: labelSelectorMatcher(ds.spec?.selector),
      client: this.client.resource<Pod>(R.pods, namespace),
      canAdopt: async () => {
        const fresh = await this.client.resource<DaemonSet>(R.daemonsets, namespace).get(ds.metadata.name!);
        if (fresh.metadata.uid !== ds.metadata.uid || fresh.metadata.deletionTimestamp) {
          throw errors.conflict('daemonsets', ds.metadata.name!, 'original DaemonSet is gone or being deleted, cannot adopt', 'apps');
        }
      },
    });
    const out = new Map<string, Pod[]>();
    for (const p of pods) {
      const node = targetNodeName(p);
      if (!node) continue;
      if (!out.has(node)) out.set(node, []);
      out.get(node)!.push(p);
    }
    return out;
  }

  /** constructHistory: the revision of the current template (made, or moved to the newest number) and the others. */
  private async constructHistory(ds: DaemonSet): Promise<{ current: ControllerRevision; old: ControllerRevision[] }> {
    const revs = ownedRevisions(this.revInformer.lister.list({ namespace: ds.metadata.namespace }), ds, labelSelectorMatcher(ds.spec?.selector));
    const max = maxRevision(revs);
    const wanted = newRevision(ds, ownerKind, max + 1, ds.status?.collisionCount);
    const revClient = this.client.resource<ControllerRevision>(R.controllerrevisions, ds.metadata.namespace);
    let current = revs.filter((r) => sameData(r, wanted)).pop();
    if (current && (current.revision ?? 0) < max) {
      // An older template came back (rollout undo): it becomes the newest revision.
      current = await revClient.update({ ...deepCopy(current), revision: max + 1 });
    } else if (!current) {
      try {
        current = await revClient.create(wanted);
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        const existing = await revClient.get(wanted.metadata.name!);
        if (controllerOf(existing)?.uid !== ds.metadata.uid || !sameData(existing, wanted)) {
          // A hash collision: the next collision count names the revision differently.
          await this.client.resource<DaemonSet>(R.daemonsets, ds.metadata.namespace).updateStatus({ ...ds, status: { ...ds.status, collisionCount: (ds.status?.collisionCount ?? 0) + 1 } });
          throw e;
        }
        current = existing;
      }
    }
    return { current, old: revs.filter((r) => r.metadata.name !== current!.metadata.name) };
  }

  /** manage: a daemon pod where one should run, none where none should, one per node, failed ones replaced. Returns whether it wrote anything. */
  private async manage(ds: DaemonSet, nodes: Node[], nodeToPods: Map<string, Pod[]>, hash: string): Promise<boolean> {
    const surge = ds.spec?.updateStrategy?.type === 'RollingUpdate' && this.maxSurge(ds, nodes) > 0;
    const create: string[] = [];
    const remove: Pod[] = [];
    const known = new Set<string>();
    for (const node of nodes) {
      const name = node.metadata.name!;
      known.add(name);
      const { shouldRun, shouldContinueRunning } = nodeShouldRunDaemonPod(node, ds);
      const pods = nodeToPods.get(name) ?? [];
      if (shouldRun && pods.length === 0) {
        create.push(name);
        continue;
      }
      if (!shouldContinueRunning) {
        remove.push(...pods.filter((p) => !p.metadata.deletionTimestamp));
        continue;
      }
      const running: Pod[] = [];
      for (const p of pods) {
        if (p.metadata.deletionTimestamp) continue;
        // A failed daemon pod is deleted so a new one can take its place.
        if (p.status?.phase === 'Failed') {
          // Replaced, but not in a hot loop: each failure on the node doubles the wait before the next replacement.
          const backoffKey = `${objectKey(ds)}/${name}`;
          const b = this.failedBackoff.get(backoffKey);
          const nowMs = this.now().getTime();
          if (b && nowMs < b.until) {
            this.queue.addAfter(objectKey(ds), b.until - nowMs);
            continue;
          }
          const delayMs = b ? Math.min(b.delayMs * 2, FAILED_POD_BACKOFF_MAX_MS) : FAILED_POD_BACKOFF_MS;
          this.failedBackoff.set(backoffKey, { until: nowMs + delayMs, delayMs });
          this.recorder.event(ds, 'Warning', 'FailedDaemonPod', `Found failed daemon pod ${p.metadata.namespace}/${p.metadata.name} on node ${name}, will try to kill it`);
          remove.push(p);
        } else running.push(p);
      }
      running.sort(byCreation);
      if (!surge) remove.push(...running.slice(1));
      else {
        // While surging a node may hold one old and one new pod: keep the oldest of each.
        const isNew = (p: Pod) => p.metadata.labels?.[controllerRevisionHashLabel] === hash;
        remove.push(...running.filter(isNew).slice(1), ...running.filter((p) => !isNew(p)).slice(1));
      }
    }
    // Unscheduled pods meant for a node that is gone will never run.
    for (const [name, pods] of nodeToPods) {
      if (!known.has(name)) remove.push(...pods.filter((p) => !p.spec.nodeName && !p.metadata.deletionTimestamp));
    }
    await this.syncNodes(ds, remove, create, hash);
    return create.length > 0 || remove.length > 0;
  }

  private maxSurge(ds: DaemonSet, nodes: Node[]): number {
    const desired = nodes.filter((n) => nodeShouldRunDaemonPod(n, ds).shouldRun).length;
    return scaledValue(ds.spec?.updateStrategy?.rollingUpdate?.maxSurge, desired, 0);
  }

  /** rollingUpdate (pkg/controller/daemon/update.go): delete old pods within maxUnavailable, or surge new ones within maxSurge. */
  private async rollingUpdate(ds: DaemonSet, nodes: Node[], nodeToPods: Map<string, Pod[]>, hash: string): Promise<void> {
    const eligible = nodes.filter((n) => nodeShouldRunDaemonPod(n, ds).shouldRun).map((n) => n.metadata.name!);
    const desired = eligible.length;
    const ru = ds.spec?.updateStrategy?.rollingUpdate ?? {};
    const maxSurge = scaledValue(ru.maxSurge, desired, 0);
    let maxUnavailable = scaledValue(ru.maxUnavailable, desired, 1);
    if (maxUnavailable === 0 && maxSurge === 0) maxUnavailable = 1;
    const minReady = ds.spec?.minReadySeconds ?? 0;
    const now = this.now();
    const available = (p: Pod) => isPodAvailable(p, minReady, now);
    const oldToDelete: Pod[] = [];

    if (maxSurge === 0) {
      let unavailable = 0;
      const allowed: Pod[] = [];
      const candidates: Pod[] = [];
      for (const name of eligible) {
        const found = updatedPodsOnNode(nodeToPods.get(name) ?? [], hash);
        if (!found) continue;
        const { newPod, oldPod } = found;
        if ((!oldPod && !newPod) || (oldPod && newPod)) unavailable++;
        else if (newPod) {
          if (!available(newPod)) unavailable++;
        } else if (!available(oldPod!)) allowed.push(oldPod!);
        else if (unavailable < maxUnavailable) candidates.push(oldPod!);
      }
      oldToDelete.push(...allowed, ...candidates.slice(0, Math.max(0, maxUnavailable - unavailable)));
      return this.syncNodes(ds, oldToDelete, [], hash);
    }

    let surging = 0;
    const allowedNodes: string[] = [];
    const candidateNodes: string[] = [];
    for (const name of eligible) {
      const found = updatedPodsOnNode(nodeToPods.get(name) ?? [], hash);
      if (!found) {
        surging++;
        continue;
      }
      const { newPod, oldPod } = found;
      if (!oldPod) continue;
      if (!newPod) {
        if (!available(oldPod)) allowedNodes.push(name);
        else if (surging < maxSurge) candidateNodes.push(name);
      } else if (!available(newPod)) surging++;
      else oldToDelete.push(oldPod);
    }
    await this.syncNodes(ds, oldToDelete, [...allowedNodes, ...candidateNodes.slice(0, Math.max(0, maxSurge - surging))], hash);
  }

  /** syncNodes: the creates (slow start) and deletes, under expectations. */
  private async syncNodes(ds: DaemonSet, remove: Pod[], createOn: string[], hash: string): Promise<void> {
    const key = objectKey(ds);
    const namespace = ds.metadata.namespace!;
    const podClient = this.client.resource<Pod>(R.pods, namespace);
    const creates = createOn.slice(0, BURST_REPLICAS);
    const deletes = remove.slice(0, BURST_REPLICAS);
    if (!creates.length && !deletes.length) return;
    this.expectations.expect(key, creates.length, deletes.map(objectKey));
    const errs: unknown[] = [];
    let i = 0;
    const { successes, error } = await slowStartBatch(creates.length, 1, async () => {
      const node = creates[i++];
      try {
        const pod = await podClient.create(this.podFor(ds, node, hash));
        this.recorder.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
      } catch (e) {
        this.recorder.event(ds, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
        throw e;
      }
    });
    for (let n = successes; n < creates.length; n++) this.expectations.creationObserved(key);
    if (error) errs.push(error);
    await Promise.all(deletes.map(async (pod) => {
      try {
        await podClient.delete(pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
        this.recorder.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
      } catch (e) {
        this.expectations.deletionObserved(key, objectKey(pod));
        if (isNotFound(e)) return;
        this.recorder.event(ds, 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
        errs.push(e);
      }
    }));
    if (errs.length) throw errs[0];
  }

  /** The template as a pod for one node: hash and generation labels, node-name affinity, the daemon tolerations. */
  private podFor(ds: DaemonSet, node: string, hash: string): Pod {
    const t = ds.spec.template;
    const spec = deepCopy(t.spec);
    spec.affinity = nodeNameAffinity(spec, node);
    spec.tolerations = daemonTolerations(spec);
    const generation = ds.metadata.annotations?.[templateGenerationAnnotation];
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${ds.metadata.name}-`,
        namespace: ds.metadata.namespace,
        labels: { ...t.metadata?.labels, [controllerRevisionHashLabel]: hash, ...(generation ? { [templateGenerationLabel]: generation } : {}) },
        ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
        ownerReferences: [controllerRefFor(ds, ownerKind.apiVersion, ownerKind.kind)],
      },
      spec,
    };
  }

  /** cleanupHistory: old revisions beyond revisionHistoryLimit that no live pod still uses go, oldest first. */
  private async cleanupHistory(ds: DaemonSet, old: ControllerRevision[], nodeToPods: Map<string, Pod[]>): Promise<void> {
    const limit = ds.spec?.revisionHistoryLimit ?? 10;
    const live = new Set([...nodeToPods.values()].flat().map((p) => p.metadata.labels?.[controllerRevisionHashLabel]));
    const unused = old.filter((r) => !live.has(r.metadata.labels?.[controllerRevisionHashLabel]));
    const excess = unused.length - limit;
    const revClient = this.client.resource(R.controllerrevisions, ds.metadata.namespace);
    for (const r of unused.slice(0, Math.max(0, excess))) {
      await revClient.delete(r.metadata.name!).catch((e) => {
        if (!isNotFound(e)) throw e;
      });
    }
  }

  private async updateStatus(ds: DaemonSet, nodes: Node[], nodeToPods: Map<string, Pod[]>, hash: string): Promise<void> {
    const status = calculateStatus(ds, nodes, nodeToPods, hash, this.now());
    const current = ds.status ?? {};
    const same = (Object.keys(status) as (keyof typeof status)[]).every((k) => current[k] === status[k]);
    if (!same) {
      await this.client.resource<DaemonSet>(R.daemonsets, ds.metadata.namespace).updateStatus({ ...ds, status: { ...current, ...status } });
    }
    const minReady = ds.spec?.minReadySeconds ?? 0;
    if (minReady > 0 && status.numberReady !== status.numberAvailable) this.queue.addAfter(objectKey(ds), minReady * 1000);
  }
}

/** findUpdatedPodsOnNode: at most one pod of the current template and one older; undefined when there are more. */
function updatedPodsOnNode(pods: Pod[], hash: string): { newPod?: Pod; oldPod?: Pod } | undefined {
  let newPod: Pod | undefined;
  let oldPod: Pod | undefined;
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    if (p.metadata.labels?.[controllerRevisionHashLabel] === hash) {
      if (newPod) return undefined;
      newPod = p;
    } else {
      if (oldPod) return undefined;
      oldPod = p;
    }
  }
  return { newPod, oldPod };
}

/** updateDaemonSetStatus's counts. */
export function calculateStatus(ds: DaemonSet, nodes: Node[], nodeToPods: Map<string, Pod[]>, hash: string, now: Date) {
  let desired = 0;
  let currentScheduled = 0;
  let misscheduled = 0;
  let ready = 0;
  let updated = 0;
  let availableCount = 0;
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const generation = ds.metadata.annotations?.[templateGenerationAnnotation];
  for (const node of nodes) {
    const { shouldRun } = nodeShouldRunDaemonPod(node, ds);
    const pods = (nodeToPods.get(node.metadata.name!) ?? []).filter((p) => !p.metadata.deletionTimestamp);
    if (shouldRun) {
      desired++;
      if (!pods.length) continue;
      currentScheduled++;
      const pod = [...pods].sort(byCreation)[0];
      if (isPodReady(pod)) {
        ready++;
        if (isPodAvailable(pod, minReady, now)) availableCount++;
      }
      const labels = pod.metadata.labels ?? {};
      if ((hash && labels[controllerRevisionHashLabel] === hash) || (!hash && generation && labels[templateGenerationLabel] === generation)) updated++;
    } else if (pods.length) misscheduled++;
  }
  return {
    currentNumberScheduled: currentScheduled,
    numberMisscheduled: misscheduled,
    desiredNumberScheduled: desired,
    numberReady: ready,
    observedGeneration: ds.metadata.generation,
    updatedNumberScheduled: updated,
    numberAvailable: availableCount,
    numberUnavailable: desired - availableCount,
  };
}

// The garbage collector (pkg/controller/garbagecollector): deletes objects
// whose owners are all gone, and carries out the foreground and orphan
// deletion the API server starts by adding the "foregroundDeletion" or
// "orphan" finalizer. Queue keys are object uids.

import { isNotFound } from '../../api/errors.js';
import { findByKind, resources, type ResourceInfo } from '../../api/resources.js';
import type { KubeObject, OwnerReference } from '../../api/types.js';
import type { Client, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController } from '../controller.js';
import { OwnershipGraph, type GraphNode } from './graph.js';

export const FOREGROUND = 'foregroundDeletion';
export const ORPHAN = 'orphan';

/** Events are never owners and are many: kube's GC would watch them too, but nothing here needs it. */
const ignored = new Set(['events']);

export function collectableResources(): ResourceInfo[] {
  return resources.filter((r) => !ignored.has(r.plural) && ['list', 'watch', 'delete'].every((v) => r.verbs.includes(v)));
}

export interface GarbageCollectorOptions {
  client: Client;
  informers: InformerFactory;
  resources?: ResourceInfo[];
}

export class GarbageCollector extends QueueController {
  readonly graph = new OwnershipGraph();
  private readonly client: Client;

  constructor(o: GarbageCollectorOptions) {
    super('garbage_collector_attempt_to_delete', logger('garbage-collector'));
    this.client = o.client;
    for (const res of o.resources ?? collectableResources()) {
      o.informers.informerFor(res).addEventHandler({
        onAdd: (obj) => this.observe(res, obj),
        onUpdate: (_, obj) => this.observe(res, obj),
        onDelete: (obj) => this.forget(obj),
      });
    }
  }

  private observe(res: ResourceInfo, obj: KubeObject): void {
    this.graph.upsert(res, obj);
    const uid = obj.metadata.uid!;
    const waiting = this.hasFinalizer(obj, FOREGROUND) || this.hasFinalizer(obj, ORPHAN);
    // An object whose owner this process has not seen may be an orphan: check it.
    const ownerUnseen = (obj.metadata.ownerReferences ?? []).some((r) => !this.graph.get(r.uid));
    const ownerDeleting = (obj.metadata.ownerReferences ?? []).some((r) => this.isWaitingForDependents(this.graph.get(r.uid)?.obj));
    if ((obj.metadata.deletionTimestamp && waiting) || ownerUnseen || ownerDeleting) this.queue.add(uid);
  }

  private forget(obj: KubeObject): void {
    this.graph.remove(obj);
    // Its dependents may now be orphans; an owner deleting in the foreground may now be unblocked.
    for (const d of this.graph.dependentsOf(obj.metadata.uid!)) this.queue.add(d.obj.metadata.uid!);
    for (const ref of obj.metadata.ownerReferences ?? []) if (this.graph.get(ref.uid)) this.queue.add(ref.uid);
  }

  private hasFinalizer(obj: KubeObject, f: string): boolean {
    return !!obj.metadata.finalizers?.includes(f);
  }

  private isWaitingForDependents(obj: KubeObject | undefined): boolean {
    return !!obj?.metadata.deletionTimestamp && this.hasFinalizer(obj, FOREGROUND);
  }

  private clientFor(res: ResourceInfo, obj: KubeObject) {
    return this.client.resource(res, res.namespaced ? obj.metadata.namespace : undefined);
  }

  async sync(uid: string): Promise<void> {
    const node = this.graph.get(uid);
    if (!node) return;
    const { obj } = node;
    if (obj.metadata.deletionTimestamp && this.hasFinalizer(obj, ORPHAN)) return this.orphanDependents(node);
    if (this.isWaitingForDependents(obj)) return this.deleteDependentsFirst(node);
    if (!obj.metadata.deletionTimestamp) await this.collectIfOrphaned(node);
  }

  /** attemptToDeleteItem for one dependent: classify its owners and act. */
  private async collectIfOrphaned(node: GraphNode): Promise<void> {
    const refs = node.obj.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;
    const solid: OwnerReference[] = [];
    const dangling: OwnerReference[] = [];
    const waiting: OwnerReference[] = [];
    for (const ref of refs) {
      const owner = await this.liveOwner(ref, node.obj.metadata.namespace);
      if (!owner) dangling.push(ref);
      else if (this.isWaitingForDependents(owner)) waiting.push(ref);
      else solid.push(ref);
    }
    const c = this.clientFor(node.res, node.obj);
    if (solid.length) {
      if (dangling.length + waiting.length === 0) return;
      // Still owned by someone alive: only drop the references to owners that are gone or going.
      const gone = new Set([...dangling, ...waiting].map((r) => r.uid));
      await c.patch(node.obj.metadata.name!, 'merge', { metadata: { ownerReferences: refs.filter((r) => !gone.has(r.uid)), uid: node.obj.metadata.uid } });
      return;
    }
    // Every owner is gone or deleting: delete it, in the foreground if an owner waits on it and it has dependents of its own.
    const foreground = waiting.length > 0 && this.graph.dependentsOf(node.obj.metadata.uid!).length > 0;
    this.log.info('deleting object whose owners are gone', { kind: node.res.kind, namespace: node.obj.metadata.namespace, name: node.obj.metadata.name });
    await c
      .delete(node.obj.metadata.name!, { propagationPolicy: foreground ? 'Foreground' : 'Background', preconditions: { uid: node.obj.metadata.uid } })
      .catch((err) => {
        if (!isNotFound(err)) throw err;
      });
  }

  /**
   * The owner as the API server has it now. The graph answers when it knows
   * the uid; otherwise the informer may just lag, so ask the server (kube's
   * live lookup) before calling an owner gone.
   */
  private async liveOwner(ref: OwnerReference, namespace: string | undefined): Promise<KubeObject | undefined> {
    const known = this.graph.get(ref.uid);
    if (known) return known.obj;
    const res = findByKind(ref.apiVersion, ref.kind);
    if (!res) return undefined;
    try {
      const owner = await this.client.resource(res, res.namespaced ? namespace : undefined).get(ref.name);
      return owner.metadata.uid === ref.uid ? owner : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Foreground deletion: delete the dependents, and release the owner once none blocking it remain. */
  private async deleteDependentsFirst(node: GraphNode): Promise<void> {
    const uid = node.obj.metadata.uid!;
    const dependents = this.graph.dependentsOf(uid);
    for (const d of dependents) {
      if (!d.obj.metadata.deletionTimestamp) await this.collectIfOrphaned(d);
    }
    const blocking = dependents.filter((d) => d.obj.metadata.ownerReferences?.some((r) => r.uid === uid && r.blockOwnerDeletion));
    if (blocking.length === 0) await this.removeFinalizer(node, FOREGROUND);
  }

  /** Orphan deletion: remove this owner from every dependent's ownerReferences, then let it go. */
  private async orphanDependents(node: GraphNode): Promise<void> {
    const uid = node.obj.metadata.uid!;
    for (const d of this.graph.dependentsOf(uid)) {
      const refs = (d.obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
      await this.clientFor(d.res, d.obj)
        .patch(d.obj.metadata.name!, 'merge', { metadata: { ownerReferences: refs.length ? refs : null, uid: d.obj.metadata.uid } })
        .catch((err) => {
          if (!isNotFound(err)) throw err;
        });
    }
    await this.removeFinalizer(node, ORPHAN);
  }

  private async removeFinalizer(node: GraphNode, finalizer: string): Promise<void> {
    const finalizers = (node.obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    await this.clientFor(node.res, node.obj)
      .patch(node.obj.metadata.name!, 'merge', { metadata: { finalizers: finalizers.length ? finalizers : null, resourceVersion: node.obj.metadata.resourceVersion } })
      .catch((err) => {
        if (!isNotFound(err)) throw err;
      });
  }
}

// The resource quota controller (pkg/controller/resourcequota): keeps each
// ResourceQuota's status current: status.hard follows spec.hard, and
// status.used is recalculated from the objects themselves, when a quota is
// new or its spec changed, when objects go away (replenishment: a deleted pod,
// a finished one, a Service that changed type), and every sync period. The
// ResourceQuota admission plugin charges creates to status.used as they
// happen; this controller is what gives back what deletes and failed writes freed.

import { isDeepStrictEqual } from 'node:util';
import { isNotFound } from '../../api/errors.js';
import { R, type ResourceInfo } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { deepCopy, objectKey, splitKey } from '../../api/types.js';
import { formatQuantity, isBinaryQuantity, podCountsForQuota, quotaMatches, resourceForQuotaName, usageOf, validQuantity } from '../../api/quota.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController } from '../controller.js';

export interface ResourceQuotaControllerOptions {
  client: Client;
  informers: InformerFactory;
  /** --resource-quota-sync-period: every quota is recalculated this often (kube: 5m). */
  resyncPeriodMs?: number;
  now?: () => number;
}

/** Kinds whose changes can free quota, watched for replenishment (kube's evaluators with a replenishment informer). */
const replenished = ['pods', 'services', 'configmaps', 'secrets', 'replicationcontrollers', 'persistentvolumeclaims'];

export class ResourceQuotaController extends QueueController {
  private readonly client: Client;
  private readonly quotaInformer: Informer;
  private readonly resyncPeriodMs: number;
  private readonly now: () => number;
  private timer?: NodeJS.Timeout;

  constructor(o: ResourceQuotaControllerOptions) {
    super('resourcequota', logger('resourcequota-controller'));
    this.client = o.client;
    this.now = o.now ?? Date.now;
    this.resyncPeriodMs = o.resyncPeriodMs ?? 5 * 60_000;
    this.quotaInformer = o.informers.informerFor(R.resourcequotas);
    this.quotaInformer.addEventHandler({
      onAdd: (q) => this.queue.add(objectKey(q)),
      // Status writes (the admission plugin's charges among them) need no recalculation; a changed spec does.
      onUpdate: (old, q) => {
        if (!isDeepStrictEqual(q.spec?.hard ?? {}, q.status?.hard ?? {}) || !isDeepStrictEqual(old.spec, q.spec)) this.queue.add(objectKey(q));
      },
    });
    for (const plural of replenished) {
      const r = R[plural];
      if (!r) continue;
      const inf = o.informers.informerFor(r);
      inf.addEventHandler({
        onDelete: (obj) => this.replenish(obj),
        onUpdate: (old, obj) => {
          if (this.freesQuota(r, old, obj)) this.replenish(obj);
        },
      });
    }
  }

  /** An update that can lower usage: a pod that finished or began deleting, a Service or claim whose spec changed. */
  private freesQuota(r: ResourceInfo, old: KubeObject, obj: KubeObject): boolean {
    if (r.plural === 'pods') return podCountsForQuota(old, this.now()) && (!podCountsForQuota(obj, this.now()) || (!!obj.metadata.deletionTimestamp && !old.metadata.deletionTimestamp));
    if (r.plural === 'services' || r.plural === 'persistentvolumeclaims') return !isDeepStrictEqual(old.spec, obj.spec);
    return false;
  }

  private replenish(obj: KubeObject): void {
    for (const q of this.quotaInformer.lister.list({ namespace: obj.metadata.namespace })) this.queue.add(objectKey(q));
  }

  override run(workers: number): Promise<void> {
    this.timer = setInterval(() => {
      for (const q of this.quotaInformer.lister.list()) this.queue.add(objectKey(q));
    }, this.resyncPeriodMs);
    this.timer.unref?.();
    return super.run(workers);
  }

  override shutDown(): void {
    clearInterval(this.timer);
    super.shutDown();
  }

  async sync(key: string): Promise<void> {
    const cached = this.quotaInformer.lister.get(key);
    if (!cached) return;
    const quota = deepCopy(cached);
    const { namespace } = splitKey(key);
    const hard: Record<string, string> = {};
    for (const [k, v] of Object.entries(quota.spec?.hard ?? {})) if (validQuantity(v)) hard[k] = String(v);
    // Which resources to read: the ones the quota's names count (pods for requests.cpu, services for services.nodeports, ...).
    const targets = new Map<string, ResourceInfo>();
    for (const name of Object.keys(hard)) {
      const on = resourceForQuotaName(name);
      const r = on && Object.values(R).find((x) => x.plural === on.plural && x.group === on.group && x.namespaced);
      if (r) targets.set(`${r.group}/${r.plural}`, r);
    }
    const totals: Record<string, number> = {};
    for (const r of targets.values()) {
      // A live list, not a cache: usage recalculated from a lagging cache would undercount what admission just charged.
      const items = (await this.client.resource(r, namespace).list()).items;
      for (const obj of items) {
        if (!quotaMatches(quota, r, obj)) continue;
        for (const [k, v] of Object.entries(usageOf(r, obj, this.now()))) if (k in hard) totals[k] = (totals[k] ?? 0) + v;
      }
    }
    const used: Record<string, string> = {};
    for (const k of Object.keys(hard)) {
      const prev = quota.status?.used?.[k];
      used[k] = formatQuantity(totals[k] ?? 0, isBinaryQuantity(hard[k]) || isBinaryQuantity(prev));
    }
    const status = { hard, used };
    if (isDeepStrictEqual(quota.status ?? {}, status)) return;
    try {
      // With the cached quota's resourceVersion: a charge admission wrote since makes this a conflict, and the sync runs again.
      await this.client.resource(R.resourcequotas, namespace).updateStatus({ ...quota, status });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }
}

// The storage-object-in-use protection controllers (kube's
// pkg/controller/volume/pvcprotection and pvprotection): a claim being
// deleted keeps its kubernetes.io/pvc-protection finalizer while a pod that is
// not finished still uses it, and a volume being deleted keeps
// kubernetes.io/pv-protection while it is Bound. The finalizers are put on at
// creation by the StorageObjectInUseProtection admission plugin.

import { isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import { deepCopy, type KubeObject, type Pod } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController } from '../controller.js';
import { podClaimNames } from '../../api/podrefs.js';
import { pvcProtectionFinalizer, pvProtectionFinalizer } from '../../api/kinds/core/persistentvolumeutil.js';

export interface ProtectionOptions {
  client: Client;
  informers: InformerFactory;
}

const finished = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
const podUses = (p: Pod, claim: string) => !finished(p) && podClaimNames(p).includes(claim);

async function removeFinalizer(client: Client, res: typeof R.persistentvolumes, obj: KubeObject, finalizer: string): Promise<void> {
  const o = deepCopy(obj);
  o.metadata.finalizers = (o.metadata.finalizers ?? []).filter((f) => f !== finalizer);
  await client.resource(res, obj.metadata.namespace).update(o).catch((e) => {
    if (!isNotFound(e)) throw e;
  });
}

export class PVCProtectionController extends QueueController {
  private readonly client: Client;
  private readonly claims: Informer<KubeObject>;
  private readonly pods: Informer<Pod>;

  constructor(o: ProtectionOptions) {
    super('pvcprotection', logger('persistentvolumeclaim-protection-controller'));
    this.client = o.client;
    this.claims = o.informers.informerFor(R.persistentvolumeclaims);
    this.pods = o.informers.informerFor<Pod>(R.pods);
    const claimKey = (c: KubeObject) => `${c.metadata.namespace}/${c.metadata.name}`;
    this.claims.addEventHandler({ onAdd: (c) => this.queue.add(claimKey(c)), onUpdate: (_, c) => this.queue.add(claimKey(c)) });
    // A pod that finishes or goes may free its claims.
    const podChanged = (p: Pod) => {
      for (const c of podClaimNames(p)) this.queue.add(`${p.metadata.namespace}/${c}`);
    };
    this.pods.addEventHandler({ onUpdate: (_, p) => finished(p) && podChanged(p), onDelete: podChanged });
  }

  async sync(key: string): Promise<void> {
    const claim = this.claims.lister.get(key);
    if (!claim?.metadata.deletionTimestamp || !claim.metadata.finalizers?.includes(pvcProtectionFinalizer)) return;
    const ns = claim.metadata.namespace!;
    const name = claim.metadata.name!;
    if (this.pods.lister.byIndex('namespace', ns).some((p) => podUses(p, name))) return;
    // The cache may not have a pod created a moment ago: a live list decides, as kube's askAPIServer.
    const live = await this.client.resource<Pod>(R.pods, ns).list();
    if (live.items.some((p) => podUses(p, name))) return;
    await removeFinalizer(this.client, R.persistentvolumeclaims, claim, pvcProtectionFinalizer);
    this.log.info('removed protection finalizer', { claim: key });
  }
}

export class PVProtectionController extends QueueController {
  private readonly client: Client;
  private readonly volumes: Informer<KubeObject>;

  constructor(o: ProtectionOptions) {
    super('pvprotection', logger('persistentvolume-protection-controller'));
    this.client = o.client;
    this.volumes = o.informers.informerFor(R.persistentvolumes);
    this.volumes.addEventHandler({ onAdd: (v) => this.queue.add(v.metadata.name!), onUpdate: (_, v) => this.queue.add(v.metadata.name!) });
  }

  async sync(name: string): Promise<void> {
    const pv = this.volumes.lister.get(name);
    if (!pv?.metadata.deletionTimestamp || !pv.metadata.finalizers?.includes(pvProtectionFinalizer)) return;
    if (pv.status?.phase === 'Bound') return;
    await removeFinalizer(this.client, R.persistentvolumes, pv, pvProtectionFinalizer);
    this.log.info('removed protection finalizer', { volume: name });
  }
}

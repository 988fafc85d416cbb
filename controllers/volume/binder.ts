// The PersistentVolume binder (kube's persistentvolume-binder-controller,
// pkg/controller/volume/persistentvolume): binds claims to volumes, keeps
// both phases right (Pending, Available, Bound, Released, Lost, Failed) and
// reclaims released volumes (Retain keeps them; Delete deletes the volume,
// or leaves that to the provisioner that made it, which also removes the data).
// Claims of a WaitForFirstConsumer class wait until the scheduler names a node
// (volume.kubernetes.io/selected-node); a claim no volume fits is handed to
// its class's provisioner by the storage-provisioner annotations.
// Level-based: every sync looks at the claim or volume as it is now, so a
// write lost to a conflict is redone on the retry or the periodic resync.

import { isConflict, isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import { deepCopy, type KubeObject, type Node } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController, type EventRecorder } from '../controller.js';
import { storageClassOf } from '../../api/kinds/core/persistentvolumeutil.js';
import {
  betaStorageProvisionerAnnotation, bindCompletedAnnotation, boundByControllerAnnotation, findMatchingVolume, isPreBoundTo, noProvisioner,
  provisionedByAnnotation, selectedNodeAnnotation, storageProvisionerAnnotation,
} from '../../api/volume.js';

export interface BinderOptions {
  client: Client;
  informers: InformerFactory;
  recorder?: EventRecorder;
  /** kube's --pvclaimbinder-sync-period (15 s): every claim and volume is looked at again this often. */
  syncPeriodMs?: number;
}

const claimKey = (c: KubeObject) => `claim:${c.metadata.namespace}/${c.metadata.name}`;
const volumeKey = (v: KubeObject) => `volume:${v.metadata.name}`;
const asClaim = (c: KubeObject): KubeObject => ({ ...c, apiVersion: 'v1', kind: 'PersistentVolumeClaim' });
const asVolume = (v: KubeObject): KubeObject => ({ ...v, apiVersion: 'v1', kind: 'PersistentVolume' });

export class PersistentVolumeBinder extends QueueController {
  private readonly client: Client;
  private readonly recorder?: EventRecorder;
  private readonly claims: Informer<KubeObject>;
  private readonly volumes: Informer<KubeObject>;
  private readonly classes: Informer<KubeObject>;
  private readonly nodes: Informer<Node>;
  private readonly syncPeriodMs: number;
  private resync?: NodeJS.Timeout;
  /** Event reasons already told about each claim (uid), so a resync does not repeat them. */
  private readonly told = new Map<string, string>();

  constructor(o: BinderOptions) {
    super('persistentvolume-binder', logger('persistentvolume-binder-controller'));
    this.client = o.client;
    this.recorder = o.recorder;
    this.syncPeriodMs = o.syncPeriodMs ?? 15_000;
    if (this.syncPeriodMs <= 0) throw new Error('--pvclaimbinder-sync-period must be positive');
    this.claims = o.informers.informerFor(R.persistentvolumeclaims);
    this.volumes = o.informers.informerFor(R.persistentvolumes);
    this.classes = o.informers.informerFor(R.storageclasses);
    this.nodes = o.informers.informerFor<Node>(R.nodes);
    this.claims.addEventHandler({
      onAdd: (c) => this.queue.add(claimKey(c)),
      onUpdate: (_, c) => this.queue.add(claimKey(c)),
      // The volume it was bound to is now released.
      onDelete: (c) => {
        this.told.delete(c.metadata.uid ?? '');
        if (c.spec?.volumeName) this.queue.add(`volume:${c.spec.volumeName}`);
      },
    });
    this.volumes.addEventHandler({
      onAdd: (v) => this.queue.add(volumeKey(v)),
      onUpdate: (_, v) => this.queue.add(volumeKey(v)),
      onDelete: (v) => {
        const ref = v.spec?.claimRef;
        if (ref?.name) this.queue.add(`claim:${ref.namespace}/${ref.name}`);
      },
    });
    // A new class (or provisioner) can settle claims that waited for it.
    this.classes.addEventHandler({ onAdd: () => this.enqueueAll(), onUpdate: () => this.enqueueAll() });
  }

  override run(workers: number): Promise<void> {
    this.resync = setInterval(() => this.enqueueAll(), this.syncPeriodMs);
    return super.run(workers);
  }

  override shutDown(): void {
    clearInterval(this.resync);
    super.shutDown();
  }

  private enqueueAll(): void {
    for (const c of this.claims.lister.list()) this.queue.add(claimKey(c));
    for (const v of this.volumes.lister.list()) this.queue.add(volumeKey(v));
  }

  async sync(key: string): Promise<void> {
    const [kind, rest] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
    try {
      if (kind === 'claim') await this.syncClaim(rest);
      else await this.syncVolume(rest);
    } catch (e) {
      // A stale cache lost the race: the informer brings the newer object and another sync.
      if (isConflict(e)) return;
      throw e;
    }
  }

  private tell(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const uid = obj.metadata.uid ?? '';
    if (this.told.get(uid) === `${reason}\0${message}`) return;
    this.told.set(uid, `${reason}\0${message}`);
    this.recorder?.event(obj, type, reason, message);
  }

  // ---- claims (syncClaim: syncUnboundClaim / syncBoundClaim) ----

  private async syncClaim(key: string): Promise<void> {
    const claim = this.claims.lister.get(key);
    if (!claim) return;
    if (!claim.spec?.volumeName) return this.syncUnboundClaim(claim);
    const pv = this.volumes.lister.get(claim.spec.volumeName);
    if (!pv) {
      // Never bound by us yet (a user's volumeName for a volume to come) waits; a bound one has lost its volume.
      if (claim.metadata.annotations?.[bindCompletedAnnotation] && claim.status?.phase !== 'Lost') {
        await this.setClaimPhase(claim, 'Lost');
        this.tell(asClaim(claim), 'Warning', 'ClaimLost', 'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!');
      }
      return;
    }
    if (!pv.spec?.claimRef?.name || isPreBoundTo(pv, claim)) {
      await this.bind(pv, claim);
      return;
    }
    if (claim.metadata.annotations?.[bindCompletedAnnotation]) {
      if (claim.status?.phase !== 'Lost') {
        await this.setClaimPhase(claim, 'Lost');
        this.tell(asClaim(claim), 'Warning', 'ClaimMisbound', 'Two claims are bound to the same volume, this one is bound incorrectly');
      }
      return;
    }
    this.tell(asClaim(claim), 'Warning', 'FailedBinding', `volume "${pv.metadata.name}" already bound to a different claim.`);
  }

  private async syncUnboundClaim(claim: KubeObject): Promise<void> {
    const className = storageClassOf(claim);
    const klass = className ? this.classes.lister.get(className) : undefined;
    const delayed = klass?.volumeBindingMode === 'WaitForFirstConsumer';
    const selected = claim.metadata.annotations?.[selectedNodeAnnotation];
    if (delayed && !selected) {
      this.tell(asClaim(claim), 'Normal', 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding');
      return;
    }
    const node = delayed && selected ? this.nodes.lister.get(selected) : undefined;
    if (delayed && !node) return; // the node is not (yet) known: the resync comes back
    const pv = findMatchingVolume(claim, this.volumes.lister.list(), node);
    if (pv) {
      await this.bind(pv, claim);
      return;
    }
    if (klass && klass.provisioner && klass.provisioner !== noProvisioner) {
      await this.provisionExternally(claim, klass.provisioner);
      return;
    }
    const why = !className ? 'no persistent volumes available for this claim and no storage class is set'
      : klass ? 'no persistent volumes available for this claim'
        : `storageclass.storage.k8s.io "${className}" not found`;
    if (claim.status?.phase !== 'Pending') await this.setClaimPhase(claim, 'Pending');
    this.tell(asClaim(claim), klass || !className ? 'Normal' : 'Warning', klass || !className ? 'FailedBinding' : 'ProvisioningFailed', why);
  }

  /** Hands the claim to its class's provisioner (setClaimProvisioner), which makes a volume pre-bound to it. */
  private async provisionExternally(claim: KubeObject, provisioner: string): Promise<void> {
    const ann = claim.metadata.annotations ?? {};
    if (ann[storageProvisionerAnnotation] !== provisioner || ann[betaStorageProvisionerAnnotation] !== provisioner) {
      const c = deepCopy(claim);
      c.metadata.annotations = { ...ann, [storageProvisionerAnnotation]: provisioner, [betaStorageProvisionerAnnotation]: provisioner };
      await this.client.resource(R.persistentvolumeclaims, claim.metadata.namespace).update(c);
    }
    this.tell(asClaim(claim), 'Normal', 'ExternalProvisioning',
      `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`);
  }

  /** bind: volume first (claimRef, phase Bound), then the claim (volumeName, annotations, phase, capacity), each step skipped when done. */
  private async bind(cachedPv: KubeObject, cachedClaim: KubeObject): Promise<void> {
    let pv = cachedPv;
    let claim = cachedClaim;
    const volumes = this.client.resource(R.persistentvolumes);
    const claims = this.client.resource(R.persistentvolumeclaims, claim.metadata.namespace);
    const ref = pv.spec?.claimRef;
    if (!ref || ref.uid !== claim.metadata.uid || ref.name !== claim.metadata.name || ref.namespace !== claim.metadata.namespace) {
      const v = deepCopy(pv);
      v.spec.claimRef = { kind: 'PersistentVolumeClaim', namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid, apiVersion: 'v1', resourceVersion: claim.metadata.resourceVersion };
      if (!ref?.name) v.metadata.annotations = { ...(v.metadata.annotations ?? {}), [boundByControllerAnnotation]: 'yes' };
      pv = await volumes.update(v);
    }
    if (pv.status?.phase !== 'Bound') {
      const v = deepCopy(pv);
      v.status = { ...(v.status ?? {}), phase: 'Bound' };
      delete v.status.reason;
      delete v.status.message;
      pv = await volumes.updateStatus(v);
    }
    const ann = claim.metadata.annotations ?? {};
    if (claim.spec.volumeName !== pv.metadata.name || !ann[bindCompletedAnnotation]) {
      const c = deepCopy(claim);
      if (c.spec.volumeName !== pv.metadata.name) c.metadata.annotations = { ...ann, [boundByControllerAnnotation]: 'yes' };
      c.metadata.annotations = { ...(c.metadata.annotations ?? {}), [bindCompletedAnnotation]: 'yes' };
      c.spec.volumeName = pv.metadata.name;
      claim = await claims.update(c);
    }
    const capacity = pv.spec?.capacity ?? {};
    const modes = pv.spec?.accessModes ?? [];
    const st = claim.status ?? {};
    if (st.phase !== 'Bound' || JSON.stringify(st.capacity ?? {}) !== JSON.stringify(capacity) || JSON.stringify(st.accessModes ?? []) !== JSON.stringify(modes)) {
      const c = deepCopy(claim);
      c.status = { ...st, phase: 'Bound', capacity, accessModes: modes };
      await claims.updateStatus(c);
      this.log.info('bound claim', { claim: `${claim.metadata.namespace}/${claim.metadata.name}`, volume: pv.metadata.name });
    }
  }

  private async setClaimPhase(claim: KubeObject, phase: string): Promise<void> {
    const c = deepCopy(claim);
    c.status = { ...(c.status ?? {}), phase };
    await this.client.resource(R.persistentvolumeclaims, claim.metadata.namespace).updateStatus(c);
  }

  // ---- volumes (syncVolume) ----

  private async syncVolume(name: string): Promise<void> {
    const pv = this.volumes.lister.get(name);
    if (!pv) return;
    const ref = pv.spec?.claimRef;
    if (!ref?.name) {
      if (pv.status?.phase !== 'Available') await this.setVolumePhase(pv, 'Available');
      return;
    }
    if (!ref.uid) {
      // Pre-bound by a user to a claim by name: the claim's sync binds it.
      if (pv.status?.phase !== 'Available') await this.setVolumePhase(pv, 'Available');
      this.queue.add(`claim:${ref.namespace}/${ref.name}`);
      return;
    }
    let claim = this.claims.lister.get(`${ref.namespace}/${ref.name}`);
    if (!claim || claim.metadata.uid !== ref.uid) {
      // The cache may lag behind a claim just created: ask the API server before releasing anything.
      claim = await this.client.resource(R.persistentvolumeclaims, ref.namespace).get(ref.name).catch((e) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
    }
    if (claim && claim.metadata.uid === ref.uid) {
      if (claim.spec?.volumeName === pv.metadata.name) {
        if (pv.status?.phase !== 'Bound') await this.setVolumePhase(pv, 'Bound');
      } else if (claim.spec?.volumeName && pv.metadata.annotations?.[boundByControllerAnnotation]) {
        // The claim went to another volume: this one is free again (unbindVolume).
        const v = deepCopy(pv);
        delete v.spec.claimRef;
        delete v.metadata.annotations![boundByControllerAnnotation];
        const updated = await this.client.resource(R.persistentvolumes).update(v);
        await this.setVolumePhase(updated, 'Available');
      } else {
        this.queue.add(claimKey(claim));
      }
      return;
    }
    // The claim is gone: the volume is released and reclaimed by its policy.
    let current = pv;
    if (pv.status?.phase !== 'Released' && pv.status?.phase !== 'Failed') current = await this.setVolumePhase(pv, 'Released');
    await this.reclaim(current);
  }

  private async reclaim(pv: KubeObject): Promise<void> {
    switch (pv.spec?.persistentVolumeReclaimPolicy) {
      case 'Delete':
        if (pv.metadata.deletionTimestamp) return;
        // A provisioned volume's data is its provisioner's to remove; it deletes the volume after.
        if (pv.metadata.annotations?.[provisionedByAnnotation]) return;
        await this.client.resource(R.persistentvolumes).delete(pv.metadata.name!).catch((e) => {
          if (!isNotFound(e)) throw e;
        });
        this.log.info('deleted released volume', { volume: pv.metadata.name });
        return;
      case 'Recycle':
        if (pv.status?.phase !== 'Failed') {
          await this.setVolumePhase(pv, 'Failed', 'VolumeFailedRecycle', 'No recycler plugin found for the volume!');
          this.recorder?.event(asVolume(pv), 'Warning', 'VolumeFailedRecycle', 'No recycler plugin found for the volume!');
        }
        return;
      default:
        return; // Retain: the administrator decides.
    }
  }

  private async setVolumePhase(pv: KubeObject, phase: string, reason?: string, message?: string): Promise<KubeObject> {
    const v = deepCopy(pv);
    v.status = { ...(v.status ?? {}), phase };
    if (reason) Object.assign(v.status, { reason, message });
    else {
      delete v.status.reason;
      delete v.status.message;
    }
    return this.client.resource(R.persistentvolumes).updateStatus(v);
  }
}

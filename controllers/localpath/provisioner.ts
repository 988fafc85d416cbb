// A local-path provisioner in the spirit of k3s' (rancher/local-path-provisioner),
// run inside the controller-manager: the default StorageClass `local-path`
// (WaitForFirstConsumer, reclaim Delete), and for each claim of that class
// whose pod the scheduler has placed (volume.kubernetes.io/selected-node) a
// hostPath PersistentVolume at <node's local-path root>/<pv-name>, pinned to
// that node by node affinity and pre-bound to the claim (the binder completes
// the binding). The directory is made by the kubelet when it mounts the
// volume (hostPath DirectoryOrCreate): this process need not run on the node.
// A released volume is cleaned by a helper pod on its node that removes the
// directory, as k3s does, and only then is the volume deleted.

import path from 'node:path';
import { isAlreadyExists, isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import { deepCopy, type KubeObject, type Node, type Pod } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController, type EventRecorder } from '../controller.js';
import { defaultClassAnnotation, localPathRootAnnotation, storageClassOf } from '../../api/kinds/core/persistentvolumeutil.js';
import { provisionedByAnnotation, selectedNodeAnnotation, storageProvisionerAnnotation } from '../../api/volume.js';

export const localPathProvisioner = 'rancher.io/local-path';
export const localPathClass = 'local-path';
/** Upstream's root, for a node whose kubelet names none (localPathRootAnnotation). */
export const defaultLocalPathRoot = '/opt/local-path-provisioner';
const helperLabel = 'skiff.dev/local-path-helper';
const helperNamespace = 'kube-system';

export interface LocalPathOptions {
  client: Client;
  informers: InformerFactory;
  recorder?: EventRecorder;
  /** The image of the pod that removes a volume's directory (busybox's rm). */
  helperImage?: string;
  /** Create the `local-path` StorageClass if it is missing. */
  createStorageClass?: boolean;
}

const asClaim = (c: KubeObject): KubeObject => ({ ...c, apiVersion: 'v1', kind: 'PersistentVolumeClaim' });
const asVolume = (v: KubeObject): KubeObject => ({ ...v, apiVersion: 'v1', kind: 'PersistentVolume' });
const volumeNameFor = (claim: KubeObject) => `pvc-${claim.metadata.uid}`;
const helperNameFor = (pvName: string) => `helper-${pvName}`;

/** The StorageClass k3s installs, as this provisioner's default class. */
export function localPathStorageClass(): KubeObject {
  return {
    apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass',
    metadata: { name: localPathClass, annotations: { [defaultClassAnnotation]: 'true' } },
    provisioner: localPathProvisioner, reclaimPolicy: 'Delete', volumeBindingMode: 'WaitForFirstConsumer',
  };
}

/** The volume for a claim placed on a node: hostPath under the node's root, pinned to the node, pre-bound to the claim. */
export function localPathVolume(claim: KubeObject, klass: KubeObject, node: Node): KubeObject {
  const name = volumeNameFor(claim);
  const root = node.metadata.annotations?.[localPathRootAnnotation] || defaultLocalPathRoot;
  const hostname = node.metadata.labels?.['kubernetes.io/hostname'] ?? node.metadata.name!;
  return {
    apiVersion: 'v1', kind: 'PersistentVolume',
    metadata: { name, annotations: { [provisionedByAnnotation]: localPathProvisioner } },
    spec: {
      capacity: { storage: claim.spec.resources.requests.storage },
      accessModes: claim.spec.accessModes,
      persistentVolumeReclaimPolicy: klass.reclaimPolicy ?? 'Delete',
      storageClassName: klass.metadata.name,
      volumeMode: claim.spec.volumeMode ?? 'Filesystem',
      claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid },
      hostPath: { path: path.posix.join(root, name), type: 'DirectoryOrCreate' },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [hostname] }] }] } },
    },
  };
}

/** The node a provisioned volume is pinned to (the first In value of its node affinity). */
function volumeNode(pv: KubeObject, nodes: readonly Node[]): Node | undefined {
  const host = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.find((e: { key: string }) => e.key === 'kubernetes.io/hostname')?.values?.[0];
  return host ? nodes.find((n) => (n.metadata.labels?.['kubernetes.io/hostname'] ?? n.metadata.name) === host) : undefined;
}

export class LocalPathProvisioner extends QueueController {
  private readonly client: Client;
  private readonly recorder?: EventRecorder;
  private readonly helperImage: string;
  private readonly createStorageClass: boolean;
  private readonly claims: Informer<KubeObject>;
  private readonly volumes: Informer<KubeObject>;
  private readonly classes: Informer<KubeObject>;
  private readonly nodes: Informer<Node>;
  private readonly pods: Informer<Pod>;
  private classTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(o: LocalPathOptions) {
    super('local_path_provisioner', logger('local-path-provisioner'));
    this.client = o.client;
    this.recorder = o.recorder;
    this.helperImage = o.helperImage ?? 'busybox:latest';
    if (!this.helperImage) throw new Error('the local-path helper image must not be empty');
    this.createStorageClass = o.createStorageClass ?? true;
    this.claims = o.informers.informerFor(R.persistentvolumeclaims);
    this.volumes = o.informers.informerFor(R.persistentvolumes);
    this.classes = o.informers.informerFor(R.storageclasses);
    this.nodes = o.informers.informerFor<Node>(R.nodes);
    this.pods = o.informers.informerFor<Pod>(R.pods);
    const claimKey = (c: KubeObject) => `claim:${c.metadata.namespace}/${c.metadata.name}`;
    this.claims.addEventHandler({ onAdd: (c) => this.queue.add(claimKey(c)), onUpdate: (_, c) => this.queue.add(claimKey(c)) });
    const volumeKey = (v: KubeObject) => `volume:${v.metadata.name}`;
    this.volumes.addEventHandler({ onAdd: (v) => this.queue.add(volumeKey(v)), onUpdate: (_, v) => this.queue.add(volumeKey(v)) });
    const helperDone = (p: Pod) => {
      const pv = p.metadata.labels?.[helperLabel];
      if (pv && p.metadata.namespace === helperNamespace) this.queue.add(`volume:${pv}`);
    };
    this.pods.addEventHandler({ onUpdate: (_, p) => helperDone(p) });
  }

  override run(workers: number): Promise<void> {
    if (this.createStorageClass) void this.ensureStorageClass(1000);
    return super.run(workers);
  }

  override shutDown(): void {
    this.stopped = true;
    clearTimeout(this.classTimer);
    super.shutDown();
  }

  /** Creates the default class once; an API server not ready yet is tried again, backing off to 30 s. */
  private async ensureStorageClass(delayMs: number): Promise<void> {
    if (this.stopped || this.classes.lister.get(localPathClass)) return;
    try {
      await this.client.resource(R.storageclasses).create(localPathStorageClass());
      this.log.info('created the default StorageClass', { name: localPathClass });
    } catch (e) {
      if (isAlreadyExists(e)) return;
      this.log.warn('cannot create the local-path StorageClass, retrying', { error: (e as Error).message });
      this.classTimer = setTimeout(() => void this.ensureStorageClass(Math.min(delayMs * 2, 30_000)), delayMs);
    }
  }

  async sync(key: string): Promise<void> {
    const rest = key.slice(key.indexOf(':') + 1);
    if (key.startsWith('claim:')) await this.provision(rest);
    else await this.cleanup(rest);
  }

  private ours(klass: KubeObject | undefined): boolean {
    return klass?.provisioner === localPathProvisioner;
  }

  private async provision(key: string): Promise<void> {
    const claim = this.claims.lister.get(key);
    if (!claim || claim.metadata.deletionTimestamp || claim.spec?.volumeName) return;
    const klass = this.classes.lister.get(storageClassOf(claim));
    if (!this.ours(klass) || claim.metadata.annotations?.[storageProvisionerAnnotation] !== localPathProvisioner) return;
    const nodeName = claim.metadata.annotations?.[selectedNodeAnnotation];
    if (!nodeName) {
      this.recorder?.event(asClaim(claim), 'Warning', 'ProvisioningFailed', 'configuration error, no node was specified');
      return;
    }
    const node = this.nodes.lister.get(nodeName);
    if (!node) throw new Error(`node "${nodeName}" of claim ${key} is not known yet`);
    const pv = localPathVolume(claim, klass!, node);
    if (this.volumes.lister.get(pv.metadata.name!)) return;
    this.recorder?.event(asClaim(claim), 'Normal', 'Provisioning', `External provisioner is provisioning volume for claim "${key}"`);
    try {
      await this.client.resource(R.persistentvolumes).create(pv);
    } catch (e) {
      if (isAlreadyExists(e)) return;
      this.recorder?.event(asClaim(claim), 'Warning', 'ProvisioningFailed', `failed to provision volume with StorageClass "${klass!.metadata.name}": ${(e as Error).message}`);
      throw e;
    }
    this.recorder?.event(asClaim(claim), 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${pv.metadata.name}`);
    this.log.info('provisioned', { claim: key, volume: pv.metadata.name, node: nodeName, path: pv.spec.hostPath.path });
  }

  /** A released volume of ours with reclaim Delete: a helper pod removes the directory, then the volume goes. */
  private async cleanup(name: string): Promise<void> {
    const pv = this.volumes.lister.get(name);
    if (!pv || pv.metadata.annotations?.[provisionedByAnnotation] !== localPathProvisioner) return;
    if (pv.spec?.persistentVolumeReclaimPolicy !== 'Delete' || pv.status?.phase !== 'Released') return;
    const dir = pv.spec?.hostPath?.path;
    // Only the directory this provisioner made (<root>/<pv-name>) is ever removed.
    if (typeof dir !== 'string' || path.posix.basename(dir) !== name) return;
    const pods = this.client.resource<Pod>(R.pods, helperNamespace);
    const helperName = helperNameFor(name);
    const helper = this.pods.lister.get(`${helperNamespace}/${helperName}`);
    if (!helper) {
      const node = volumeNode(pv, this.nodes.lister.list());
      if (!node) {
        // The node is gone and its disk with it.
        await this.deleteVolume(pv);
        return;
      }
      await pods.create(this.helperPod(helperName, name, dir, node.metadata.name!)).catch((e) => {
        if (!isAlreadyExists(e)) throw e;
      });
      return;
    }
    if (helper.status?.phase === 'Succeeded') {
      await this.deleteVolume(pv);
      await pods.delete(helperName).catch((e) => { if (!isNotFound(e)) throw e; });
      return;
    }
    if (helper.status?.phase === 'Failed') {
      this.recorder?.event(asVolume(pv), 'Warning', 'VolumeFailedDelete', `failed to delete volume ${name}: helper pod ${helperNamespace}/${helperName} failed`);
      await pods.delete(helperName).catch((e) => { if (!isNotFound(e)) throw e; });
      throw new Error(`helper pod for ${name} failed`);
    }
  }

  private async deleteVolume(pv: KubeObject): Promise<void> {
    await this.client.resource(R.persistentvolumes).delete(pv.metadata.name!).catch((e) => { if (!isNotFound(e)) throw e; });
    this.log.info('deleted volume', { volume: pv.metadata.name });
  }

  private helperPod(name: string, pvName: string, dir: string, node: string): Pod {
    return deepCopy({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name, namespace: helperNamespace, labels: { [helperLabel]: pvName } },
      spec: {
        nodeName: node,
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        tolerations: [{ operator: 'Exists' }],
        containers: [{
          name: 'helper', image: this.helperImage, imagePullPolicy: 'IfNotPresent',
          command: ['rm', '-rf', `/data/${pvName}`],
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        }],
        volumes: [{ name: 'data', hostPath: { path: path.posix.dirname(dir), type: 'DirectoryOrCreate' } }],
      },
    } as Pod);
  }
}

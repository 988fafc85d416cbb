// Which PersistentVolume a claim may bind to, shared by the binder
// (persistentvolume-binder-controller) and the scheduler's VolumeBinding
// plugin, as kube shares pkg/controller/volume/persistentvolume/util between
// them: FindMatchingVolume's rules (class, access modes, size, selector,
// volume mode, node affinity for a claim waiting for its first consumer).

import type { KubeObject, Node } from './types.js';
import { selectorFromLabelSelector } from './labels.js';
import { storageBytes, storageClassOf } from './kinds/core/persistentvolumeutil.js';
import { matchTerm } from './scheduling.js';


export const selectedNodeAnnotation = 'volume.kubernetes.io/selected-node';
export const storageProvisionerAnnotation = 'volume.kubernetes.io/storage-provisioner';
export const betaStorageProvisionerAnnotation = 'volume.beta.kubernetes.io/storage-provisioner';
export const provisionedByAnnotation = 'pv.kubernetes.io/provisioned-by';
export const boundByControllerAnnotation = 'pv.kubernetes.io/bound-by-controller';
export const bindCompletedAnnotation = 'pv.kubernetes.io/bind-completed';
/** A class whose volumes are all made by hand (kube's NotSupportedProvisioner). */
export const noProvisioner = 'kubernetes.io/no-provisioner';

/** CheckNodeAffinity: a volume without node affinity fits every node. */
export function volumeFitsNode(pv: KubeObject, node: Node): boolean {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  if (!Array.isArray(terms)) return true;
  return terms.some((t) => matchTerm(t, node));
}

/** Whether the volume is already promised to this claim (claimRef by name, and uid when set). */
export function isPreBoundTo(pv: KubeObject, claim: KubeObject): boolean {
  const ref = pv.spec?.claimRef;
  if (!ref?.name) return false;
  return ref.name === claim.metadata.name && (ref.namespace ?? '') === (claim.metadata.namespace ?? '') && (!ref.uid || ref.uid === claim.metadata.uid);
}

function accessModesContained(volume: unknown, claim: unknown): boolean {
  const have = new Set(Array.isArray(volume) ? volume : []);
  return (Array.isArray(claim) ? claim : []).every((m) => have.has(m));
}

/**
 * The best volume for the claim among `volumes`: one already promised to it,
 * else the smallest available one that fits. With a node, only volumes whose
 * node affinity admits it (a claim delayed until its pod is scheduled).
 */
export function findMatchingVolume(claim: KubeObject, volumes: readonly KubeObject[], node?: Node): KubeObject | undefined {
  const requested = storageBytes(claim.spec?.resources?.requests);
  const klass = storageClassOf(claim);
  const mode = claim.spec?.volumeMode ?? 'Filesystem';
  let selector: ReturnType<typeof selectorFromLabelSelector> | undefined;
  try {
    selector = claim.spec?.selector ? selectorFromLabelSelector(claim.spec.selector) : undefined;
  } catch {
    return undefined;
  }
  let best: KubeObject | undefined;
  for (const pv of volumes) {
    if (pv.metadata.deletionTimestamp) continue;
    if ((pv.spec?.volumeMode ?? 'Filesystem') !== mode) continue;
    if (node && !volumeFitsNode(pv, node)) continue;
    if (isPreBoundTo(pv, claim)) {
      if (storageBytes(pv.spec?.capacity) >= requested) return pv;
      continue;
    }
    // Promised to another claim, or released and not yet reclaimed.
    if (pv.spec?.claimRef || (pv.status?.phase && pv.status.phase !== 'Available' && pv.status.phase !== 'Pending')) continue;
    if (storageClassOf(pv) !== klass) continue;
    if (!accessModesContained(pv.spec?.accessModes, claim.spec?.accessModes)) continue;
    if (selector && !selector.matches(pv.metadata.labels ?? {})) continue;
    const size = storageBytes(pv.spec?.capacity);
    if (size < requested) continue;
    if (!best || size < storageBytes(best.spec?.capacity)) best = pv;
  }
  return best;
}

// ControllerRefManager (pkg/controller/controller_ref_manager.go): a
// controller claims the objects its selector matches. It adopts matching
// orphans by adding itself as controller ownerReference, and releases objects
// it controls that no longer match, so a relabelled pod leaves its ReplicaSet.

import { isNotFound } from '../api/errors.js';
import type { KubeObject, OwnerReference } from '../api/types.js';
import { controllerOf } from '../api/types.js';
import type { ResourceClient } from '../client/interfaces.js';
import type { LabelMatcher } from './selector.js';

export function controllerRefFor(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

export interface ClaimOptions<T extends KubeObject> {
  owner: KubeObject;
  ownerRef: OwnerReference;
  matches: LabelMatcher;
  /** A client for the claimed objects' kind in the owner's namespace. */
  client: ResourceClient<T>;
  /**
   * Re-reads the owner from the API server before the first adoption: the
   * cached owner may be stale and already deleted, and adopting for a dead
   * owner would hand the object to the garbage collector.
   */
  canAdopt: () => Promise<void>;
}

/** The objects the owner controls after adopting and releasing. Rejects after trying every object if any patch failed. */
export async function claimObjects<T extends KubeObject>(candidates: readonly T[], o: ClaimOptions<T>): Promise<T[]> {
  const claimed: T[] = [];
  const failures: unknown[] = [];
  const ownerDeleting = !!o.owner.metadata.deletionTimestamp;
  let adoptCheck: Promise<void> | undefined;
  for (const obj of candidates) {
    const ref = controllerOf(obj);
    const matches = o.matches(obj.metadata.labels);
    try {
      if (ref) {
        if (ref.uid !== o.ownerRef.uid) continue;
        if (matches) claimed.push(obj);
        else if (!ownerDeleting) await release(obj, o);
        continue;
      }
      if (!matches || ownerDeleting || obj.metadata.deletionTimestamp) continue;
      adoptCheck ??= o.canAdopt();
      await adoptCheck;
      claimed.push(await adopt(obj, o));
    } catch (err) {
      if (!isNotFound(err)) failures.push(err);
    }
  }
  if (failures.length) throw failures[0];
  return claimed;
}

async function adopt<T extends KubeObject>(obj: T, o: ClaimOptions<T>): Promise<T> {
  const refs = [...(obj.metadata.ownerReferences ?? []), o.ownerRef];
  // The uid makes the patch fail rather than adopt a same-named successor.
  return o.client.patch(obj.metadata.name!, 'merge', { metadata: { ownerReferences: refs, uid: obj.metadata.uid } });
}

async function release<T extends KubeObject>(obj: T, o: ClaimOptions<T>): Promise<void> {
  const refs = (obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== o.ownerRef.uid);
  await o.client.patch(obj.metadata.name!, 'merge', { metadata: { ownerReferences: refs.length ? refs : null, uid: obj.metadata.uid } });
}

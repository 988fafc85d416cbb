// The Recreate strategy (recreate.go): scale every old ReplicaSet to zero,
// wait until none of their pods run, then create and scale up the new one.

import type { ReplicaSet } from '../../api/types.js';
import type { Rollout } from './rollout.js';
import * as u from './util.js';

export async function rolloutRecreate(r: Rollout): Promise<void> {
  let { newRS, oldRSs } = await r.newAndOld(false);
  const all = () => [...oldRSs, ...(newRS ? [newRS] : [])];

  let scaledDown = false;
  for (const rs of u.activeReplicaSets(oldRSs)) scaledDown = (await r.scaleReplicaSet(rs, 0)).scaled || scaledDown;
  if (scaledDown) return r.syncRolloutStatus(newRS, all());

  if (oldPodsRunning(r, newRS, oldRSs)) return r.syncRolloutStatus(newRS, all());

  if (!newRS) ({ newRS, oldRSs } = await r.newAndOld(true));
  const { rs } = await r.scaleReplicaSet(newRS!, u.replicas(r.d));
  newRS = rs;
  if (u.deploymentComplete(r.d, r.calculateStatus(newRS, all()))) await r.cleanup(oldRSs);
  await r.syncRolloutStatus(newRS, all());
}

/** Old pods count until they have terminated: finished pods do not. */
function oldPodsRunning(r: Rollout, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): boolean {
  if (oldRSs.some((rs) => (rs.status?.replicas ?? 0) > 0)) return true;
  for (const [uid, pods] of r.podsByRs) {
    if (uid === newRS?.metadata.uid) continue;
    if (pods.some((p) => p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded')) return true;
  }
  return false;
}

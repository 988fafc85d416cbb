// The RollingUpdate strategy (rolling.go): grow the new ReplicaSet up to
// replicas+maxSurge pods in total, shrink old ones while at least
// replicas-maxUnavailable pods stay available.

import type { ReplicaSet } from '../../api/types.js';
import type { Rollout } from './rollout.js';
import * as u from './util.js';

export async function rolloutRolling(r: Rollout): Promise<void> {
  let { newRS, oldRSs } = await r.newAndOld(true);
  const all = () => [...oldRSs, ...(newRS ? [newRS] : [])];

  if (newRS && (await reconcileNewReplicaSet(r, all(), newRS))) {
    newRS = r.rsList.find((rs) => rs.metadata.uid === newRS!.metadata.uid) ?? newRS;
    return r.syncRolloutStatus(newRS, all());
  }
  if (await reconcileOldReplicaSets(r, oldRSs, newRS)) {
    oldRSs = oldRSs.map((o) => r.rsList.find((rs) => rs.metadata.uid === o.metadata.uid) ?? o);
    return r.syncRolloutStatus(newRS, all());
  }
  const status = r.calculateStatus(newRS, all());
  if (u.deploymentComplete(r.d, status)) await r.cleanup(oldRSs);
  await r.syncRolloutStatus(newRS, all());
}

async function reconcileNewReplicaSet(r: Rollout, allRSs: ReplicaSet[], newRS: ReplicaSet): Promise<boolean> {
  const target = u.replicas(r.d);
  if (u.replicas(newRS) === target) return false;
  if (u.replicas(newRS) > target) return (await r.scaleReplicaSet(newRS, target)).scaled;
  return (await r.scaleReplicaSet(newRS, r.newReplicaCount(allRSs, newRS))).scaled;
}

async function reconcileOldReplicaSets(r: Rollout, oldRSs: ReplicaSet[], newRS: ReplicaSet | undefined): Promise<boolean> {
  if (u.sum(oldRSs, u.replicas) === 0) return false;
  const allCount = u.sum([...oldRSs, newRS], u.replicas);
  const minAvailable = u.replicas(r.d) - u.maxUnavailable(r.d);
  const newUnavailable = newRS ? u.replicas(newRS) - (newRS.status?.availableReplicas ?? 0) : 0;
  // Pods we may remove without going under minAvailable, not counting on new pods that are not up yet.
  const maxScaledDown = allCount - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return false;

  const { cleaned, remaining } = await cleanupUnhealthyReplicas(r, u.activeReplicaSets(oldRSs), maxScaledDown);
  const scaledDown = await scaleDownOldReplicaSets(r, remaining, newRS);
  return cleaned + scaledDown > 0;
}

/** Unavailable old pods cost nothing to remove: drop them first, oldest ReplicaSet first. */
async function cleanupUnhealthyReplicas(r: Rollout, oldRSs: ReplicaSet[], maxCleanup: number): Promise<{ cleaned: number; remaining: ReplicaSet[] }> {
  let total = 0;
  const remaining: ReplicaSet[] = [];
  for (const rs of [...oldRSs].sort(u.byCreation)) {
    const unhealthy = u.replicas(rs) - (rs.status?.availableReplicas ?? 0);
    if (total >= maxCleanup || u.replicas(rs) === 0 || unhealthy <= 0) {
      remaining.push(rs);
      continue;
    }
    const n = Math.min(maxCleanup - total, unhealthy);
    remaining.push((await r.scaleReplicaSet(rs, u.replicas(rs) - n)).rs);
    total += n;
  }
  return { cleaned: total, remaining };
}

/** Scale old ReplicaSets down by as many pods as are available above minAvailable. */
async function scaleDownOldReplicaSets(r: Rollout, oldRSs: ReplicaSet[], newRS: ReplicaSet | undefined): Promise<number> {
  const minAvailable = u.replicas(r.d) - u.maxUnavailable(r.d);
  const available = u.sum([...oldRSs, newRS], (rs) => rs.status?.availableReplicas);
  if (available <= minAvailable) return 0;
  const budget = available - minAvailable;
  let total = 0;
  for (const rs of [...oldRSs].sort(u.byCreation)) {
    if (total >= budget) break;
    if (u.replicas(rs) === 0) continue;
    const n = Math.min(u.replicas(rs), budget - total);
    await r.scaleReplicaSet(rs, u.replicas(rs) - n);
    total += n;
  }
  return total;
}

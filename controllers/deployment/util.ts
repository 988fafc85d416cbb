// Deployment helpers from pkg/controller/deployment/util: template hashing,
// revisions, surge/unavailable fenceposts, ReplicaSet orderings, conditions.

import type { Deployment, DeploymentCondition, DeploymentStatus, PodTemplateSpec, ReplicaSet } from '../../api/types.js';
import { canonicalJSON } from '../canonical.js';
import { metaTime } from '../../api/time.js';

export const REVISION = 'deployment.kubernetes.io/revision';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
export const HASH_LABEL = 'pod-template-hash';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
/** maxRevHistoryLengthInChars of sync.go: the revision-history annotation keeps the newest revisions that fit. */
export const MAX_REVISION_HISTORY_CHARS = 2000;

/** annotationsToSkip: never copied from a Deployment to its ReplicaSets (nor back on rollback). */
const ANNOTATIONS_TO_SKIP = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  'deprecated.deployment.rollback.to',
]);

/** copyDeploymentAnnotationsToReplicaSet: returns whether the ReplicaSet's annotations changed. */
export function copyDeploymentAnnotations(d: Deployment, rs: ReplicaSet): boolean {
  let changed = false;
  const a = { ...rs.metadata.annotations };
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (ANNOTATIONS_TO_SKIP.has(k) || (k in a && a[k] === v)) continue;
    a[k] = v;
    changed = true;
  }
  if (changed) rs.metadata.annotations = a;
  return changed;
}

/**
 * The revision half of SetNewReplicaSetAnnotations: a ReplicaSet gets the
 * new revision only when its own is lower; one that had a revision (a
 * rollback to it) keeps the old ones in revision-history, oldest dropped
 * first beyond the length limit. Returns whether anything changed.
 */
export function setNewRevision(rs: ReplicaSet, newRevision: string): boolean {
  const a = { ...rs.metadata.annotations };
  const old = a[REVISION];
  const oldN = old === undefined || old === '' ? 0 : Number(old);
  const newN = Number(newRevision);
  if (!Number.isInteger(oldN) || !Number.isInteger(newN) || oldN >= newN) return false;
  a[REVISION] = newRevision;
  if (old !== undefined) {
    const history = a[REVISION_HISTORY] ?? '';
    const revs = history.split(',');
    if (revs[0].length === 0) a[REVISION_HISTORY] = old;
    else {
      let total = history.length + old.length + 1;
      let start = 0;
      while (total > MAX_REVISION_HISTORY_CHARS && start < revs.length) total -= revs[start++].length + 1;
      if (total <= MAX_REVISION_HISTORY_CHARS) a[REVISION_HISTORY] = [...revs.slice(start), old].join(',');
    }
  }
  rs.metadata.annotations = a;
  return true;
}

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * The template as kube's Semantic.DeepEqual sees it once decoded into Go
 * structs: a null, an empty list or map, and an empty struct are the zero
 * value, the same as an absent field. Templates from different writers
 * (kubectl's rollback sends a Go-encoded one with `creationTimestamp: null`
 * and `resources: {}`) compare and hash by this form.
 */
export function semanticForm(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(semanticForm);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const y = semanticForm(x);
    if (y === null || y === undefined) continue;
    if (Array.isArray(y) && !y.length) continue;
    if (typeof y === 'object' && !Array.isArray(y) && !Object.keys(y as object).length) continue;
    out[k] = y;
  }
  return out;
}

/** controller.ComputeHash: fnv32a of the template (and collisionCount), as rand.SafeEncodeString of its decimal form. */
export function computeHash(template: PodTemplateSpec, collisionCount?: number): string {
  const bytes = [...Buffer.from(canonicalJSON(semanticForm(template)))];
  if (collisionCount !== undefined) {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(collisionCount >>> 0);
    bytes.push(...b);
  }
  let h = 0x811c9dc5;
  for (const byte of bytes) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return [...String(h)].map((c) => SAFE_ALPHABET[c.charCodeAt(0) % SAFE_ALPHABET.length]).join('');
}

/** EqualIgnoreHash: templates semantically equal apart from the pod-template-hash label. */
export function equalIgnoreHash(a: PodTemplateSpec, b: PodTemplateSpec): boolean {
  const strip = (t: PodTemplateSpec) => {
    const labels = { ...t.metadata?.labels };
    delete labels[HASH_LABEL];
    return canonicalJSON(semanticForm({ ...t, metadata: { ...t.metadata, labels } }));
  };
  return strip(a) === strip(b);
}

export function revision(rs: ReplicaSet): number {
  const v = Number(rs.metadata.annotations?.[REVISION]);
  return Number.isFinite(v) ? v : 0;
}

export const replicas = (o: ReplicaSet | Deployment): number => o.spec.replicas ?? 1;

/** intstr.GetScaledValueFromIntOrPercent. */
export function scaledValue(v: number | string | undefined, total: number, roundUp: boolean): number {
  if (v === undefined) v = '25%';
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return Number(v) || 0;
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

export function isRollingUpdate(d: Deployment): boolean {
  return (d.spec.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

/** ResolveFenceposts: surge rounds up, unavailable down; both zero would deadlock, so unavailable becomes 1. */
export function resolveFenceposts(d: Deployment): { maxSurge: number; maxUnavailable: number } {
  const ru = d.spec.strategy?.rollingUpdate;
  const desired = replicas(d);
  const maxSurge = scaledValue(ru?.maxSurge, desired, true);
  let maxUnavailable = scaledValue(ru?.maxUnavailable, desired, false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

export function maxSurge(d: Deployment): number {
  return isRollingUpdate(d) ? resolveFenceposts(d).maxSurge : 0;
}

export function maxUnavailable(d: Deployment): number {
  if (!isRollingUpdate(d) || replicas(d) === 0) return 0;
  return Math.min(resolveFenceposts(d).maxUnavailable, replicas(d));
}

const created = (rs: ReplicaSet) => Date.parse(rs.metadata.creationTimestamp ?? '') || 0;
/** ReplicaSetsByCreationTimestamp: oldest first, name breaking ties. */
export const byCreation = (a: ReplicaSet, b: ReplicaSet) => created(a) - created(b) || a.metadata.name!.localeCompare(b.metadata.name!);
/** ReplicaSetsBySizeNewer: largest first, then newest. */
export const bySizeNewer = (a: ReplicaSet, b: ReplicaSet) => replicas(b) - replicas(a) || byCreation(b, a);
/** ReplicaSetsBySizeOlder: largest first, then oldest. */
export const bySizeOlder = (a: ReplicaSet, b: ReplicaSet) => replicas(b) - replicas(a) || byCreation(a, b);

export const sum = (rss: (ReplicaSet | undefined)[], f: (rs: ReplicaSet) => number | undefined) =>
  rss.reduce((n, rs) => n + (rs ? f(rs) ?? 0 : 0), 0);

export const activeReplicaSets = (rss: ReplicaSet[]) => rss.filter((rs) => replicas(rs) > 0);

/** FindNewReplicaSet: the oldest ReplicaSet whose template is the Deployment's. */
export function findNewReplicaSet(d: Deployment, rss: ReplicaSet[]): ReplicaSet | undefined {
  return [...rss].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
}

export function getCondition(status: DeploymentStatus | undefined, type: string): DeploymentCondition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** SetDeploymentCondition: same status and reason is no change; same status keeps lastTransitionTime. */
export function setCondition(status: DeploymentStatus, cond: DeploymentCondition): void {
  const current = getCondition(status, cond.type);
  if (current && current.status === cond.status && current.reason === cond.reason) return;
  if (current && current.status === cond.status) cond.lastTransitionTime = current.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== cond.type), cond];
}

export function newCondition(type: string, status: DeploymentCondition['status'], reason: string, message: string, now: Date): DeploymentCondition {
  const t = metaTime(now);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

export function removeCondition(status: DeploymentStatus, type: string): void {
  status.conditions = (status.conditions ?? []).filter((c) => c.type !== type);
}

/** DeploymentComplete: everything updated, available and observed. */
export function deploymentComplete(d: Deployment, s: DeploymentStatus): boolean {
  const n = replicas(d);
  return s.updatedReplicas === n && s.replicas === n && s.availableReplicas === n && (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
}

/** DeploymentProgressing: more updated, fewer old, or more ready or available pods than last time. */
export function deploymentProgressing(d: Deployment, s: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) || newOld < oldOld || (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) || (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0);
}

export const hasProgressDeadline = (d: Deployment) => d.spec.progressDeadlineSeconds !== undefined && d.spec.progressDeadlineSeconds !== 2147483647;

export function deploymentTimedOut(d: Deployment, s: DeploymentStatus, now: Date): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = getCondition(s, 'Progressing');
  if (!c || c.reason === 'NewReplicaSetAvailable') return false;
  if (c.reason === 'ProgressDeadlineExceeded') return true;
  return Date.parse(c.lastUpdateTime ?? '') + d.spec.progressDeadlineSeconds! * 1000 < now.getTime();
}

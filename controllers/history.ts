// ControllerRevision history shared by the DaemonSet and StatefulSet
// controllers (pkg/controller/history, and the getPatch both use): a revision
// stores the patch that puts a template back, which is what `kubectl rollout
// undo` applies, and is named by a hash of that data.

import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../api/types.js';
import { controllerOf } from '../api/types.js';
import { controllerRefFor } from './ownership.js';
import type { LabelMatcher } from './selector.js';

export const controllerRevisionHashLabel = 'controller-revision-hash';

export interface ControllerRevision extends KubeObject {
  data?: unknown;
  revision?: number;
}

/** Keys sorted, so one template always hashes alike whatever order a client wrote it in. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

const alphanums = 'bcdfghjklmnpqrstvwxz2456789';

/** rand.SafeEncodeString: no vowels, no look-alikes, so a hash never spells a word. */
function safeEncode(s: string): string {
  return [...s].map((c) => alphanums[c.charCodeAt(0) % alphanums.length]).join('');
}

/** HashControllerRevision: FNV-1a (32 bit) over the data, then the collision count. */
export function hashRevisionData(data: unknown, collisionCount?: number): string {
  let h = 0x811c9dc5;
  const feed = (s: string) => {
    for (const b of Buffer.from(s, 'utf8')) {
      h ^= b;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  };
  feed(stable(data));
  if (collisionCount) feed(String(collisionCount));
  return safeEncode(String(h >>> 0));
}

/** getPatch: the template alone, marked to replace the whole template when applied as a strategic merge patch. */
export function templatePatch(parent: KubeObject): { spec: { template: Record<string, unknown> } } {
  const template = JSON.parse(JSON.stringify(parent.spec?.template ?? {}));
  template.$patch = 'replace';
  return { spec: { template } };
}

/** NewControllerRevision: named <parent>-<hash>, labelled like the template plus the hash, owned by the parent. */
export function newRevision(parent: KubeObject, owner: { apiVersion: string; kind: string }, revision: number, collisionCount?: number): ControllerRevision {
  const data = templatePatch(parent);
  const hash = hashRevisionData(data, collisionCount);
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: `${parent.metadata.name}-${hash}`,
      namespace: parent.metadata.namespace,
      labels: { ...(parent.spec?.template?.metadata?.labels ?? {}), [controllerRevisionHashLabel]: hash },
      ownerReferences: [controllerRefFor(parent, owner.apiVersion, owner.kind)],
    },
    data,
    revision,
  };
}

/** The revisions a parent controls (matching its selector), oldest revision first. */
export function ownedRevisions(all: readonly ControllerRevision[], parent: KubeObject, matches: LabelMatcher): ControllerRevision[] {
  return all
    .filter((r) => controllerOf(r)?.uid === parent.metadata.uid && matches(r.metadata.labels))
    .sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0) || (a.metadata.name! < b.metadata.name! ? -1 : 1));
}

export function sameData(a: ControllerRevision, b: ControllerRevision): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a.data ?? null)), JSON.parse(JSON.stringify(b.data ?? null)));
}

export function maxRevision(revs: readonly ControllerRevision[]): number {
  return revs.reduce((m, r) => Math.max(m, r.revision ?? 0), 0);
}


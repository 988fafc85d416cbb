// The resource table. Routes, storage keys, discovery, OpenAPI, validation and
// printing are all derived from its entries, each a kind's definition
// (api/kind.ts): the built-in kinds of api/kinds/<group>/, and custom
// resources registered while the API server runs.

import { apiVersionOf, kindOf, setKindDefinition, type KindDefinition, type ResourceInfo } from './kind.js';
import { builtinKinds } from './kinds/registry.js';

export type { ResourceInfo, KindDefinition } from './kind.js';
export { apiVersionOf, kindOf };

// Discovery lists groups in this order, core first, as kube's aggregator
// sorts them by priority (apiVersionPriorities in pkg/controlplane/apiserver/
// aggregator.go); a group kube does not know (a custom resource's) follows
// in the order its kind registers. Within a group version, resources are
// sorted by plural, as kube's API installer sorts its paths.
const groupPriority = ['', 'apiregistration.k8s.io', 'apps', 'events.k8s.io', 'authentication.k8s.io', 'authorization.k8s.io', 'autoscaling', 'batch',
  'certificates.k8s.io', 'networking.k8s.io', 'policy', 'rbac.authorization.k8s.io', 'storage.k8s.io', 'admissionregistration.k8s.io',
  'apiextensions.k8s.io', 'scheduling.k8s.io', 'coordination.k8s.io', 'node.k8s.io', 'discovery.k8s.io', 'flowcontrol.apiserver.k8s.io'];

function discoveryOrder(defs: readonly KindDefinition[]): KindDefinition[] {
  const groupRank = new Map(groupPriority.map((g, i) => [g, i]));
  const versionRank = new Map<string, number>();
  for (const { resource: r } of defs) {
    if (!groupRank.has(r.group)) groupRank.set(r.group, groupRank.size);
    if (!versionRank.has(apiVersionOf(r))) versionRank.set(apiVersionOf(r), versionRank.size);
  }
  return [...defs].sort(({ resource: a }, { resource: b }) =>
    groupRank.get(a.group)! - groupRank.get(b.group)!
    || versionRank.get(apiVersionOf(a))! - versionRank.get(apiVersionOf(b))!
    || (a.plural < b.plural ? -1 : a.plural > b.plural ? 1 : 0));
}

/** Every served resource, built-in and custom; registerKind and unregisterKind change it in place. */
export const resources: ResourceInfo[] = [];

/** Awaits every kind's load hook: the API server, before it validates anything. */
export async function loadKinds(): Promise<void> {
  await Promise.all(resources.map((r) => kindOf(r).load?.()));
}

/** Add a kind to the table (a built-in at load, a custom resource when its CRD is established). */
export function registerKind(def: KindDefinition): void {
  const r = def.resource;
  const at = resources.findIndex((x) => x.group === r.group && x.version === r.version && x.plural === r.plural);
  if (at >= 0) resources[at] = r;
  else resources.push(r);
  setKindDefinition(def);
  for (const fn of listeners) fn();
}

export function unregisterKind(r: Pick<ResourceInfo, 'group' | 'version' | 'plural'>): void {
  const at = resources.findIndex((x) => x.group === r.group && x.version === r.version && x.plural === r.plural);
  if (at >= 0) resources.splice(at, 1);
  for (const fn of listeners) fn();
}

// What generic code builds from the table once (discovery and OpenAPI documents, stores) listens here to
// follow kinds registered and removed while the server runs (custom resources, apiserver/crd).
const listeners = new Set<() => void>();

/** Call fn after every registerKind and unregisterKind; returns the unsubscribe. */
export function onTableChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => { listeners.delete(fn); };
}

for (const def of discoveryOrder(builtinKinds)) registerKind(def);


/** Storage key prefix, as kube-apiserver lays out etcd: /registry/<group-less plural>/<ns>/<name>. */
export function storagePrefix(r: ResourceInfo): string {
  if (r.storagePrefix) return r.storagePrefix;
  return r.group && r.group !== 'apps' && r.group !== '' ? `${r.group}/${r.plural}` : r.plural;
}

export function findByPlural(group: string, version: string, plural: string): ResourceInfo | undefined {
  return resources.find((r) => r.group === group && r.version === version && r.plural === plural);
}

export function findByKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return resources.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

export function groups(): { group: string; versions: string[] }[] {
  const out = new Map<string, Set<string>>();
  for (const r of resources) {
    if (!r.group) continue;
    if (!out.has(r.group)) out.set(r.group, new Set());
    out.get(r.group)!.add(r.version);
  }
  return [...out].map(([group, v]) => ({ group, versions: [...v] }));
}

/**
 * Shorthands for clients: client.resource(R.pods, 'default'). Built-in
 * resources by plural; when a plural is served at several versions, the
 * first registered (the preferred one).
 */
export const R: Readonly<Record<string, ResourceInfo>> = Object.fromEntries(
  [...resources].reverse().map((r) => [r.plural, r]),
);

// The resource table. Routes, storage keys, discovery, OpenAPI, validation and
// printing are all derived from its entries, each a kind's definition
// (api/kind.ts): the built-in kinds of api/kinds/<group>/, and custom
// resources registered while the API server runs.

import { apiVersionOf, entry, kindOf, setKindDefinition, type KindDefinition, type ResourceInfo } from './kind.js';
import { builtinKinds } from './kinds/registry.js';

export type { ResourceInfo, KindDefinition } from './kind.js';
export { apiVersionOf, kindOf };

// Kinds not yet moved into a module of api/kinds keep their entry here.
const tableEntries: ResourceInfo[] = [
  entry({ group: '', version: 'v1', kind: 'Pod', plural: 'pods', singular: 'pod', shortNames: ['po'], namespaced: true,
    subresources: ['status', 'binding', 'log', 'exec', 'portforward', 'eviction', 'attach', 'ephemeralcontainers', 'proxy'], hasStatus: true, categories: ['all'] }),
  entry({ group: '', version: 'v1', kind: 'Service', plural: 'services', singular: 'service', shortNames: ['svc'], namespaced: true,
    subresources: ['status', 'proxy'], hasStatus: true, categories: ['all'] }),
  entry({ group: '', version: 'v1', kind: 'Endpoints', listKind: 'EndpointsList', plural: 'endpoints', singular: 'endpoints', shortNames: ['ep'], namespaced: true }),
  entry({ group: '', version: 'v1', kind: 'Node', plural: 'nodes', singular: 'node', shortNames: ['no'], namespaced: false,
    subresources: ['status', 'proxy'], hasStatus: true }),
  entry({ group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', singular: 'namespace', shortNames: ['ns'], namespaced: false,
    subresources: ['status', 'finalize'], hasStatus: true, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] }),
  entry({ group: '', version: 'v1', kind: 'Event', plural: 'events', singular: 'event', shortNames: ['ev'], namespaced: true }),
  entry({ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', singular: 'configmap', shortNames: ['cm'], namespaced: true }),
  entry({ group: '', version: 'v1', kind: 'Secret', plural: 'secrets', singular: 'secret', namespaced: true }),
  entry({ group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', singular: 'serviceaccount', shortNames: ['sa'], namespaced: true,
    subresources: ['token'] }),
  entry({ group: 'apps', version: 'v1', kind: 'ReplicaSet', plural: 'replicasets', singular: 'replicaset', shortNames: ['rs'], namespaced: true,
    subresources: ['status', 'scale'], hasStatus: true, categories: ['all'] }),
  entry({ group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', singular: 'deployment', shortNames: ['deploy'], namespaced: true,
    subresources: ['status', 'scale'], hasStatus: true, categories: ['all'] }),
  entry({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', singular: 'lease', namespaced: true }),
  entry({ group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', plural: 'endpointslices', singular: 'endpointslice', namespaced: true }),
  entry({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', singular: 'clusterrole', namespaced: false }),
  entry({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', singular: 'clusterrolebinding', namespaced: false }),
  entry({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', singular: 'role', namespaced: true }),
  entry({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', singular: 'rolebinding', namespaced: true }),
  entry({ group: 'certificates.k8s.io', version: 'v1', kind: 'CertificateSigningRequest', plural: 'certificatesigningrequests', singular: 'certificatesigningrequest', shortNames: ['csr'], namespaced: false,
    subresources: ['status', 'approval'], hasStatus: true }),
  entry({ group: 'authorization.k8s.io', version: 'v1', kind: 'LocalSubjectAccessReview', plural: 'localsubjectaccessreviews', singular: 'localsubjectaccessreview', namespaced: true, verbs: ['create'], ephemeral: true }),
  entry({ group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectAccessReview', plural: 'selfsubjectaccessreviews', singular: 'selfsubjectaccessreview', namespaced: false, verbs: ['create'], ephemeral: true }),
  entry({ group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectRulesReview', plural: 'selfsubjectrulesreviews', singular: 'selfsubjectrulesreview', namespaced: false, verbs: ['create'], ephemeral: true }),
  entry({ group: 'authorization.k8s.io', version: 'v1', kind: 'SubjectAccessReview', plural: 'subjectaccessreviews', singular: 'subjectaccessreview', namespaced: false, verbs: ['create'], ephemeral: true }),
  entry({ group: 'authentication.k8s.io', version: 'v1', kind: 'SelfSubjectReview', plural: 'selfsubjectreviews', singular: 'selfsubjectreview', namespaced: false, verbs: ['create'], ephemeral: true }),
  entry({ group: 'authentication.k8s.io', version: 'v1', kind: 'TokenReview', plural: 'tokenreviews', singular: 'tokenreview', namespaced: false, verbs: ['create'], ephemeral: true }),
];

/** Every served resource, built-in and custom; registerKind and unregisterKind change it in place. */
export const resources: ResourceInfo[] = [];

/** Add a kind to the table (a built-in at load, a custom resource when its CRD is established). */
export function registerKind(def: KindDefinition): void {
  const r = def.resource;
  const at = resources.findIndex((x) => x.group === r.group && x.version === r.version && x.plural === r.plural);
  if (at >= 0) resources[at] = r;
  else resources.push(r);
  setKindDefinition(def);
}

export function unregisterKind(r: Pick<ResourceInfo, 'group' | 'version' | 'plural'>): void {
  const at = resources.findIndex((x) => x.group === r.group && x.version === r.version && x.plural === r.plural);
  if (at >= 0) resources.splice(at, 1);
}

for (const r of tableEntries) registerKind({ resource: r });
for (const def of builtinKinds) registerKind(def);


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

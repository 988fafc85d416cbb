// The resource table. Routes, storage keys, discovery, OpenAPI, validation and
// printing are all derived from these entries: adding a kind is one entry here
// plus its schema (api/schemas) and, where it has special rules, its strategy
// (apiserver/registry/strategies).

export interface ResourceInfo {
  group: string; // '' for the core group
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  /** Subresources served under .../{name}/{subresource}. */
  subresources: string[];
  /** Verbs advertised in discovery. */
  verbs: string[];
  categories?: string[];
  /** Whether spec changes bump metadata.generation (kinds with a spec/status split). */
  hasStatus: boolean;
  /**
   * POST returns an object computed from the request and nothing is stored
   * (kube's create-only "virtual" resources: SubjectAccessReview, TokenReview);
   * served by a handler of apiserver/handlers/ephemeral.ts, with no Store.
   */
  ephemeral?: boolean;
}

const allVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function entry(e: Omit<ResourceInfo, 'listKind' | 'verbs' | 'subresources' | 'shortNames' | 'hasStatus'> & Partial<ResourceInfo>): ResourceInfo {
  return {
    listKind: `${e.kind}List`,
    verbs: allVerbs,
    subresources: [],
    shortNames: [],
    hasStatus: false,
    ...e,
  };
}

export const resources: ResourceInfo[] = [
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

export function apiVersionOf(r: ResourceInfo): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** Storage key prefix, as kube-apiserver lays out etcd: /registry/<group-less plural>/<ns>/<name>. */
export function storagePrefix(r: ResourceInfo): string {
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

function must(plural: string): ResourceInfo {
  const r = resources.find((x) => x.plural === plural);
  if (!r) throw new Error(`no resource ${plural}`);
  return r;
}

/** Shorthands for clients: client.resource(R.pods, 'default'). */
export const R = {
  pods: must('pods'),
  services: must('services'),
  endpoints: must('endpoints'),
  nodes: must('nodes'),
  namespaces: must('namespaces'),
  events: must('events'),
  configmaps: must('configmaps'),
  secrets: must('secrets'),
  serviceaccounts: must('serviceaccounts'),
  replicasets: must('replicasets'),
  deployments: must('deployments'),
  leases: must('leases'),
  endpointslices: must('endpointslices'),
  clusterroles: must('clusterroles'),
  clusterrolebindings: must('clusterrolebindings'),
  roles: must('roles'),
  rolebindings: must('rolebindings'),
  certificatesigningrequests: must('certificatesigningrequests'),
  localsubjectaccessreviews: must('localsubjectaccessreviews'),
  selfsubjectaccessreviews: must('selfsubjectaccessreviews'),
  selfsubjectrulesreviews: must('selfsubjectrulesreviews'),
  subjectaccessreviews: must('subjectaccessreviews'),
  tokenreviews: must('tokenreviews'),
  selfsubjectreviews: must('selfsubjectreviews'),
};

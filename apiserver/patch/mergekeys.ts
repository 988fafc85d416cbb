// Patch strategies of list fields, from the Go struct tags of k8s.io/api
// (patchStrategy/patchMergeKey for strategic merge patch, listType and
// listMapKeys for server-side apply). Kept here rather than derived from
// api/schemas because those carry no patch metadata. Lists not named here are
// atomic: a strategic patch replaces them whole and server-side apply owns
// them as one field.

export interface ListStrategy {
  /** Strategic merge patch: merge by this key (undefined: a merged set of primitives). */
  mergeKey?: string;
  /** Server-side apply list map keys when they are more than the merge key. */
  applyKeys?: string[];
}

type Table = Record<string, ListStrategy>;

const container: Table = {
  ports: { mergeKey: 'containerPort', applyKeys: ['containerPort', 'protocol'] },
  env: { mergeKey: 'name' },
  volumeMounts: { mergeKey: 'mountPath' },
  volumeDevices: { mergeKey: 'devicePath' },
};

const podSpec: Table = {
  volumes: { mergeKey: 'name' },
  containers: { mergeKey: 'name' },
  initContainers: { mergeKey: 'name' },
  ephemeralContainers: { mergeKey: 'name' },
  imagePullSecrets: { mergeKey: 'name' },
  hostAliases: { mergeKey: 'ip' },
  topologySpreadConstraints: { mergeKey: 'topologyKey', applyKeys: ['topologyKey', 'whenUnsatisfiable'] },
  schedulingGates: { mergeKey: 'name' },
  resourceClaims: { mergeKey: 'name' },
  ...nest('containers', container),
  ...nest('initContainers', container),
  ...nest('ephemeralContainers', container),
};

const objectMeta: Table = {
  finalizers: {},
  ownerReferences: { mergeKey: 'uid' },
};

const conditions: Table = { 'status.conditions': { mergeKey: 'type' } };

const podTemplate: Table = nest('spec.template', { ...nest('spec', podSpec), ...nest('metadata', objectMeta) });

const byKind: Record<string, Table> = {
  Pod: { ...nest('spec', podSpec), ...conditions, 'status.podIPs': { mergeKey: 'ip' }, 'status.hostIPs': { mergeKey: 'ip' } },
  Service: { 'spec.ports': { mergeKey: 'port', applyKeys: ['port', 'protocol'] }, ...conditions },
  Node: { 'spec.podCIDRs': {}, ...conditions, 'status.addresses': { mergeKey: 'type' } },
  Namespace: conditions,
  Deployment: { ...podTemplate, ...conditions },
  ReplicaSet: { ...podTemplate, ...conditions },
};

const meta: Table = nest('metadata', objectMeta);

// Structs and maps marked +structType=atomic / +mapType=atomic: replaced and
// owned whole by server-side apply (metav1.LabelSelector, selectors, nodeSelector).
const podSpecAtomic = ['nodeSelector'];
const atomicByKind: Record<string, string[]> = {
  Pod: podSpecAtomic.map((p) => `spec.${p}`),
  Service: ['spec.selector'],
  Deployment: ['spec.selector', ...podSpecAtomic.map((p) => `spec.template.spec.${p}`)],
  ReplicaSet: ['spec.selector', ...podSpecAtomic.map((p) => `spec.template.spec.${p}`)],
};

function nest(prefix: string, t: Table): Table {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [`${prefix}.${k}`, v]));
}

/**
 * The strategy of the list at a dotted path of field names ("spec.containers",
 * list positions left out), or undefined for an atomic list.
 */
export function listStrategy(kind: string, path: string): ListStrategy | undefined {
  return byKind[kind]?.[path] ?? meta[path];
}

/** Server-side apply keys of a keyed list ([] for a set of primitives). */
export function applyKeys(s: ListStrategy): string[] {
  return s.applyKeys ?? (s.mergeKey ? [s.mergeKey] : []);
}

/** Whether the map or struct at path is owned and replaced as a whole by server-side apply. */
export function isAtomicMap(kind: string, path: string): boolean {
  return atomicByKind[kind]?.includes(path) ?? false;
}

/**
 * The kind's empty object as Go serializes its zero value: struct fields
 * without pointers are present as {}. Server-side apply compares a created
 * object against this, which is why kube's managedFields give f:spec no "."
 * while f:labels (omitempty) gets one.
 */
export function zeroObject(kind: string): Record<string, unknown> {
  switch (kind) {
    case 'Deployment':
      return { metadata: {}, spec: { selector: null, template: { metadata: {}, spec: { containers: null } }, strategy: {} }, status: {} };
    case 'ReplicaSet':
      return { metadata: {}, spec: { selector: null, template: { metadata: {}, spec: { containers: null } } }, status: {} };
    case 'Pod':
      return { metadata: {}, spec: { containers: null }, status: {} };
    case 'Namespace':
      return { metadata: {}, spec: {}, status: {} };
    case 'Service':
      return { metadata: {}, spec: {}, status: { loadBalancer: {} } };
    case 'Node':
      return { metadata: {}, spec: {}, status: { daemonEndpoints: { kubeletEndpoint: {} }, nodeInfo: {} } };
    case 'Lease':
      return { metadata: {}, spec: {} };
    case 'Event':
      return { metadata: {}, involvedObject: {}, source: {} };
    default:
      return { metadata: {} };
  }
}

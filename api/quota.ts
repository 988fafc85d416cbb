// Resource quota accounting shared by the ResourceQuota admission plugin and
// the resourcequota-controller, as kube shares pkg/quota/v1 (the evaluators:
// what an object of a kind uses, which resource names of a quota it touches,
// a pod's "must specify" constraints) between the two. Quantities are kept as
// milli-units so sums and comparisons are exact integers.

import type { Container, KubeObject, Pod } from './types.js';
import { milliValue, parseQuantity } from './quantity.js';

/** resource name -> quantity in milli-units. */
export type Usage = Record<string, number>;

const binarySuffix = /(Ki|Mi|Gi|Ti|Pi|Ei)$/;

export function toMilli(q: string | number | undefined | null): number {
  if (q === undefined || q === null) return 0;
  return milliValue(q);
}

/** Quantity.String(): the canonical form, binary ("128Mi") for a binary quantity, decimal SI ("500m", "2k") otherwise. */
export function formatQuantity(milli: number, binary = false): string {
  if (milli === 0) return '0';
  const neg = milli < 0 ? '-' : '';
  let m = Math.abs(milli);
  if (binary && m % 1000 === 0) {
    let n = m / 1000;
    const units = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
    let u = 0;
    while (n % 1024 === 0 && u < units.length - 1) { n /= 1024; u++; }
    // A binary quantity too small for a suffix prints as a plain integer, as kube's does.
    return `${neg}${n}${units[u]}`;
  }
  if (m % 1000 !== 0) return `${neg}${m}m`;
  m /= 1000;
  const units = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
  let u = 0;
  while (m % 1000 === 0 && u < units.length - 1) { m /= 1000; u++; }
  return `${neg}${m}${units[u]}`;
}

/** A quantity as kube re-serializes it ("1000m" -> "1", "1536Mi" stays). */
export function canonicalQuantity(q: string | number): string {
  return formatQuantity(toMilli(q), typeof q === 'string' && binarySuffix.test(q.trim()));
}

export function isBinaryQuantity(q: unknown): boolean {
  return typeof q === 'string' && binarySuffix.test(q.trim());
}

export function validQuantity(q: unknown): boolean {
  if (typeof q !== 'string' && typeof q !== 'number') return false;
  try {
    return Number.isFinite(parseQuantity(q));
  } catch {
    return false;
  }
}

const isObject = (x: unknown): x is Record<string, any> => typeof x === 'object' && x !== null && !Array.isArray(x);
const listOf = <T>(x: unknown): T[] => (Array.isArray(x) ? x.filter(isObject) : []) as T[];

function addTo(u: Usage, k: string, v: number): void {
  u[k] = (u[k] ?? 0) + v;
}

function resourceList(x: unknown): Usage {
  const out: Usage = {};
  if (!isObject(x)) return out;
  for (const [k, v] of Object.entries(x)) if (validQuantity(v)) out[k] = toMilli(v as string);
  return out;
}

/** resourcehelper.PodRequests / PodLimits: the sum over containers, at least each init container's, plus the overhead. */
export function podResources(pod: KubeObject, which: 'requests' | 'limits'): Usage {
  const spec = isObject(pod.spec) ? pod.spec : {};
  const sum: Usage = {};
  for (const c of listOf<Container>(spec.containers)) for (const [k, v] of Object.entries(resourceList(c.resources?.[which]))) addTo(sum, k, v);
  for (const c of listOf<Container>(spec.initContainers)) {
    const r = resourceList(c.resources?.[which]);
    // A restartable (sidecar) init container runs beside the app containers: it adds.
    if ((c as { restartPolicy?: string }).restartPolicy === 'Always') for (const [k, v] of Object.entries(r)) addTo(sum, k, v);
    else for (const [k, v] of Object.entries(r)) if ((sum[k] ?? 0) < v) sum[k] = v;
  }
  for (const [k, v] of Object.entries(resourceList(spec.overhead))) if (k in sum || which === 'requests') addTo(sum, k, v);
  return sum;
}

const isTerminal = (pod: KubeObject) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

/** QuotaV1Pod: whether a pod still counts against compute quota (not finished, not past its grace period). */
export function podCountsForQuota(pod: KubeObject, now = Date.now()): boolean {
  if (isTerminal(pod)) return false;
  const m = pod.metadata ?? {};
  if (m.deletionTimestamp && m.deletionGracePeriodSeconds !== undefined) {
    if (now > Date.parse(m.deletionTimestamp) + m.deletionGracePeriodSeconds * 1000) return false;
  }
  return true;
}

const computeNames = ['cpu', 'memory', 'ephemeral-storage'];
const isHugePages = (k: string) => k.startsWith('hugepages-');
const isNativeCompute = (k: string) => computeNames.includes(k) || isHugePages(k);

/** PodUsageFunc: the object count always; pods and compute only while the pod runs. */
export function podUsage(pod: KubeObject, now = Date.now()): Usage {
  const u: Usage = { 'count/pods': 1000 };
  if (!podCountsForQuota(pod, now)) return u;
  u.pods = 1000;
  const requests = podResources(pod, 'requests');
  const limits = podResources(pod, 'limits');
  for (const [k, v] of Object.entries(requests)) {
    if (isNativeCompute(k)) {
      u[`requests.${k}`] = v;
      if (!isHugePages(k)) u[k] = v;
    } else if (k.includes('/') && !k.startsWith('kubernetes.io/')) {
      // Extended resources are quota'd by their requests only.
      u[`requests.${k}`] = v;
    }
  }
  for (const [k, v] of Object.entries(limits)) if (computeNames.includes(k)) u[`limits.${k}`] = v;
  return u;
}

/** The object count name of a resource: count/<plural> for the core group, count/<plural>.<group> otherwise. */
export function countName(plural: string, group: string): string {
  return group ? `count/${plural}.${group}` : `count/${plural}`;
}

/** The legacy object-count names of the core kinds (kube's ResourcePods, ResourceServices, ...). */
const legacyCounts: Record<string, string> = {
  services: 'services', configmaps: 'configmaps', secrets: 'secrets', replicationcontrollers: 'replicationcontrollers',
  resourcequotas: 'resourcequotas', persistentvolumeclaims: 'persistentvolumeclaims',
};

/** What one object of a resource uses, as kube's evaluator for it says (the generic object count for the rest). */
export function usageOf(r: { plural: string; group: string }, obj: KubeObject, now = Date.now()): Usage {
  if (r.group === '' && r.plural === 'pods') return podUsage(obj, now);
  const u: Usage = { [countName(r.plural, r.group)]: 1000 };
  if (r.group !== '') return u;
  const legacy = legacyCounts[r.plural];
  if (legacy) u[legacy] = 1000;
  if (r.plural === 'services') {
    const type = obj.spec?.type;
    if (type === 'LoadBalancer') u['services.loadbalancers'] = 1000;
    if (type === 'NodePort' || type === 'LoadBalancer') u['services.nodeports'] = 1000 * listOf(obj.spec?.ports).length;
  }
  if (r.plural === 'persistentvolumeclaims') {
    const storage = obj.spec?.resources?.requests?.storage;
    const milli = validQuantity(storage) ? toMilli(storage) : 0;
    u['requests.storage'] = milli;
    const cls = obj.spec?.storageClassName;
    if (typeof cls === 'string' && cls) {
      u[`${cls}.storageclass.storage.k8s.io/requests.storage`] = milli;
      u[`${cls}.storageclass.storage.k8s.io/persistentvolumeclaims`] = 1000;
    }
  }
  return u;
}

/**
 * The resource a quota's resource name is counted on (which objects the
 * controller lists for it): undefined for a name no evaluator knows.
 */
export function resourceForQuotaName(name: string): { plural: string; group: string } | undefined {
  const count = /^count\/([^.]+)(?:\.(.+))?$/.exec(name);
  if (count) return { plural: count[1], group: count[2] ?? '' };
  if (name === 'requests.storage' || /\.storageclass\.storage\.k8s\.io\/(requests\.storage|persistentvolumeclaims)$/.test(name)) return { plural: 'persistentvolumeclaims', group: '' };
  const compute = name.replace(/^(requests|limits)\./, '');
  if (name === 'pods' || isNativeCompute(compute) || (name.startsWith('requests.') && compute.includes('/'))) return { plural: 'pods', group: '' };
  if (name.startsWith('services')) return { plural: 'services', group: '' };
  for (const [plural, legacy] of Object.entries(legacyCounts)) if (name === legacy) return { plural, group: '' };
  return undefined;
}

/** The pod evaluator's validationSet: the compute names each container must state when a quota limits them. */
const validationSet = new Set(['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory']);

/** podEvaluator.Constraints: "must specify requests.cpu for: app; limits.memory for: app", or undefined. */
export function podConstraints(required: string[], pod: KubeObject): string | undefined {
  const needed = required.filter((n) => validationSet.has(n));
  if (!needed.length) return undefined;
  const missing = new Map<string, Set<string>>();
  const spec = isObject(pod.spec) ? pod.spec : {};
  for (const c of [...listOf<Container>(spec.containers), ...listOf<Container>(spec.initContainers)]) {
    const have = new Set<string>();
    for (const k of Object.keys(resourceList(c.resources?.requests))) { have.add(k); have.add(`requests.${k}`); }
    for (const k of Object.keys(resourceList(c.resources?.limits))) have.add(`limits.${k}`);
    for (const n of needed) if (!have.has(n)) {
      if (!missing.has(n)) missing.set(n, new Set());
      missing.get(n)!.add(c.name);
    }
  }
  if (!missing.size) return undefined;
  return `must specify ${[...missing.keys()].sort().map((n) => `${n} for: ${[...missing.get(n)!].sort().join(',')}`).join('; ')}`;
}

const podScopes = ['Terminating', 'NotTerminating', 'BestEffort', 'NotBestEffort', 'PriorityClass', 'CrossNamespacePodAffinity'];
export const standardQuotaScopes = podScopes;

function isBestEffort(pod: KubeObject): boolean {
  const spec = isObject(pod.spec) ? pod.spec : {};
  return [...listOf<Container>(spec.containers), ...listOf<Container>(spec.initContainers)].every((c) =>
    Object.keys(resourceList(c.resources?.requests)).every((k) => !isNativeCompute(k) || k === 'ephemeral-storage')
    && Object.keys(resourceList(c.resources?.limits)).every((k) => !isNativeCompute(k) || k === 'ephemeral-storage'));
}

function podMatchesScope(scope: string, pod: KubeObject, op = 'Exists', values: string[] = []): boolean {
  const spec = isObject(pod.spec) ? pod.spec : {};
  switch (scope) {
    case 'Terminating': return typeof spec.activeDeadlineSeconds === 'number' && spec.activeDeadlineSeconds >= 0;
    case 'NotTerminating': return !(typeof spec.activeDeadlineSeconds === 'number' && spec.activeDeadlineSeconds >= 0);
    case 'BestEffort': return isBestEffort(pod);
    case 'NotBestEffort': return !isBestEffort(pod);
    case 'PriorityClass': {
      const pc: string = spec.priorityClassName ?? '';
      switch (op) {
        case 'In': return values.includes(pc);
        case 'NotIn': return !values.includes(pc);
        case 'DoesNotExist': return pc === '';
        default: return pc !== '';
      }
    }
    case 'CrossNamespacePodAffinity': {
      const terms = [...listOf<any>(spec.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution),
        ...listOf<any>(spec.affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution).map((t) => t.podAffinityTerm),
        ...listOf<any>(spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution),
        ...listOf<any>(spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution).map((t) => t.podAffinityTerm)];
      return terms.some((t) => isObject(t) && (listOf(t.namespaces).length > 0 || (Array.isArray(t.namespaces) && t.namespaces.length > 0) || isObject(t.namespaceSelector)));
    }
    default: return false;
  }
}

/**
 * Whether a quota applies to an object (its scopes and scope selector): the
 * pod evaluator honors scopes; every other evaluator matches only unscoped quotas.
 */
export function quotaMatches(quota: KubeObject, r: { plural: string; group: string }, obj: KubeObject): boolean {
  const scopes: string[] = Array.isArray(quota.spec?.scopes) ? quota.spec.scopes : [];
  const selector: { scopeName: string; operator: string; values?: string[] }[] = listOf(quota.spec?.scopeSelector?.matchExpressions);
  if (!scopes.length && !selector.length) return true;
  if (!(r.group === '' && r.plural === 'pods')) return false;
  return scopes.every((s) => podMatchesScope(s, obj)) && selector.every((e) => podMatchesScope(e.scopeName, obj, e.operator, e.values ?? []));
}

/** The quota's names an object's usage touches, without zeros (quota.Mask + RemoveZeros). */
export function maskUsage(u: Usage, names: Iterable<string>): Usage {
  const out: Usage = {};
  for (const n of names) if (u[n]) out[n] = u[n];
  return out;
}

/** prettyPrint of a ResourceList: "limits.cpu=1,pods=1". */
export function prettyPrint(u: Usage, binary: (name: string) => boolean = () => false): string {
  return Object.keys(u).sort().map((k) => `${k}=${formatQuantity(u[k], binary(k))}`).join(',');
}

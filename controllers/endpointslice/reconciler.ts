// The EndpointSlice reconciler (k8s.io/endpointslice reconciler.go): turns
// the pods a Service selects into the slices that should exist, and the
// slices that do exist into creates, updates and deletes. Endpoints are
// grouped by the ports they resolve to (a named targetPort can differ per
// pod), each group is packed into slices of at most maxEndpointsPerSlice,
// and existing slices are changed in place before new ones are made, so
// consumers see as few writes as possible.

import type { EndpointSlice, Node, Pod, Service, SliceEndpoint, SlicePort } from '../../api/types.js';
import { deepCopy } from '../../api/types.js';
import { isDNS1123Subdomain } from '../../api/labels.js';
import { canonicalJSON } from '../canonical.js';
import { findPort, isPodReady } from '../podutil.js';
import { serviceNameLabel } from './tracker.js';

export const managedByLabel = 'endpointslice.kubernetes.io/managed-by';
export const controllerName = 'endpointslice-controller.k8s.io';
const headlessLabel = 'service.kubernetes.io/headless';
const zoneLabel = 'topology.kubernetes.io/zone';
const reserved = new Set([serviceNameLabel, managedByLabel, headlessLabel]);

type AddressType = 'IPv4' | 'IPv6';

export interface Plan {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
  /** Pods left out because their node is not known yet; the sync retries. */
  skipped: string[];
}

/** Service families (getAddressTypesForService): spec.ipFamilies, else the ClusterIP's, else both for headless. */
export function addressTypes(svc: Service): Set<AddressType> {
  const out = new Set<AddressType>();
  for (const f of svc.spec.ipFamilies ?? []) if (f === 'IPv4' || f === 'IPv6') out.add(f);
  if (out.size) return out;
  const ip = svc.spec.clusterIP;
  if (ip && ip !== 'None') return new Set([ip.includes(':') ? 'IPv6' : 'IPv4']);
  return new Set(['IPv4', 'IPv6']);
}

/** ShouldPodBeInEndpoints with terminating pods included: an IP, and not finished. */
function podIncluded(pod: Pod): boolean {
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return false;
  return !!(pod.status?.podIP || pod.status?.podIPs?.length);
}

/** getEndpointPorts: the Service's ports this pod resolves; the ones it cannot are left out, not the pod. */
export function endpointPorts(svc: Service, pod: Pod): SlicePort[] {
  const out: SlicePort[] = [];
  for (const sp of svc.spec.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const appProtocol = (sp as { appProtocol?: string }).appProtocol;
    out.push({ name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP', ...(appProtocol ? { appProtocol } : {}) });
  }
  return out;
}

/** NewPortMapKey: independent of port order. */
const portMapKey = (ports: readonly SlicePort[] | null | undefined) => (ports ?? []).map((p) => canonicalJSON(p)).sort().join('|');

/** An endpoint's identity within a Service (hashEndpoint): its addresses, hostname and pod. */
const endpointKey = (e: SliceEndpoint) =>
  canonicalJSON({ a: [...e.addresses].sort(), h: e.hostname ?? '', ns: e.targetRef?.namespace ?? '', n: e.targetRef?.name ?? '' });

function podAddresses(pod: Pod, type: AddressType): string[] {
  const ips = pod.status?.podIPs?.length ? pod.status.podIPs.map((p) => p.ip) : [pod.status!.podIP!];
  return ips.filter((ip) => (ip.includes(':') ? 'IPv6' : 'IPv4') === type);
}

/** podToEndpoint: ready only when serving and not terminating, unless the Service publishes not-ready addresses. */
export function podToEndpoint(pod: Pod, node: Node | undefined, svc: Service, type: AddressType): SliceEndpoint {
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata.deletionTimestamp;
  const ready = !!svc.spec.publishNotReadyAddresses || (serving && !terminating);
  const e: SliceEndpoint = {
    addresses: podAddresses(pod, type),
    conditions: { ready, serving, terminating },
    targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name!, uid: pod.metadata.uid },
  };
  if (pod.spec.nodeName) e.nodeName = pod.spec.nodeName;
  const zone = node?.metadata.labels?.[zoneLabel];
  if (zone) e.zone = zone;
  const spec = pod.spec as { hostname?: string; subdomain?: string };
  if (spec.hostname && spec.subdomain === svc.metadata.name && pod.metadata.namespace === svc.metadata.namespace) e.hostname = spec.hostname;
  return e;
}

/** setEndpointSliceLabels: the Service's labels plus the reserved ones; `changed` ignores the reserved keys. */
export function sliceLabels(current: Record<string, string> | undefined, svc: Service): { labels: Record<string, string>; changed: boolean } {
  const mine = Object.fromEntries(Object.entries(current ?? {}).filter(([k]) => !reserved.has(k)));
  const labels = Object.fromEntries(Object.entries(svc.metadata.labels ?? {}).filter(([k]) => !reserved.has(k)));
  const changed = canonicalJSON(mine) !== canonicalJSON(labels);
  const ipSet = !!svc.spec.clusterIP && svc.spec.clusterIP !== 'None';
  if (!ipSet) labels[headlessLabel] = '';
  labels[serviceNameLabel] = svc.metadata.name!;
  labels[managedByLabel] = controllerName;
  return { labels, changed };
}

export function ownedBy(slice: EndpointSlice, svc: Service): boolean {
  return (slice.metadata.ownerReferences ?? []).some((o) => o.uid === svc.metadata.uid && o.kind === 'Service' && o.apiVersion === 'v1');
}

function newSlice(svc: Service, type: AddressType, ports: SlicePort[] | undefined): EndpointSlice {
  const prefix = `${svc.metadata.name}-`;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      // getEndpointSlicePrefix: the dash only when the prefix stays a valid subdomain (a trailing dash is fine in a prefix).
      generateName: isDNS1123Subdomain(`${prefix.slice(0, -1)}a`).length ? svc.metadata.name : prefix,
      namespace: svc.metadata.namespace,
      labels: sliceLabels(undefined, svc).labels,
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc.metadata.name!, uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true }],
    },
    addressType: type,
    endpoints: [],
    ...(ports ? { ports } : {}),
  };
}

/** A placeholder as the controller would write it: no endpoints, no ports, the Service's labels and owner. */
function isPlaceholder(slice: EndpointSlice, svc: Service, type: AddressType): boolean {
  return slice.addressType === type && !slice.endpoints?.length && !slice.ports?.length && ownedBy(slice, svc) &&
    canonicalJSON(slice.metadata.labels ?? {}) === canonicalJSON(sliceLabels(undefined, svc).labels);
}

/** getSliceToFill: the unchanged slice that ends up closest to full. */
function sliceToFill(candidates: EndpointSlice[], n: number, max: number): EndpointSlice | undefined {
  let best: EndpointSlice | undefined;
  let closest = max;
  for (const s of candidates) {
    const diff = max - (n + (s.endpoints?.length ?? 0));
    if (diff >= 0 && diff < closest) {
      closest = diff;
      best = s;
      if (diff === 0) break;
    }
  }
  return best;
}

export interface ReconcileInput {
  service: Service;
  pods: readonly Pod[];
  /** The Service's slices managed by this controller, without ones pending deletion. */
  slices: readonly EndpointSlice[];
  nodes: (name: string) => Node | undefined;
  maxEndpointsPerSlice: number;
}

/** Reconcile (all address types): what to create, update and delete. */
export function reconcile(input: ReconcileInput): Plan {
  const { service } = input;
  const types = addressTypes(service);
  const plan: Plan = { create: [], update: [], delete: [], skipped: [] };
  const byType = new Map<AddressType, EndpointSlice[]>();
  for (const s of input.slices) {
    if (!types.has(s.addressType as AddressType)) plan.delete.push(s);
    else byType.set(s.addressType as AddressType, [...(byType.get(s.addressType as AddressType) ?? []), s]);
  }
  for (const type of types) {
    const p = reconcileByAddressType(input, type, byType.get(type) ?? []);
    plan.create.push(...p.create);
    plan.update.push(...p.update);
    plan.delete.push(...p.delete);
    for (const s of p.skipped) if (!plan.skipped.includes(s)) plan.skipped.push(s);
  }
  return plan;
}

function reconcileByAddressType(input: ReconcileInput, type: AddressType, existing: EndpointSlice[]): Plan {
  const { service: svc, maxEndpointsPerSlice: max } = input;
  const plan: Plan = { create: [], update: [], delete: [], skipped: [] };
  const existingByPorts = new Map<string, EndpointSlice[]>();
  for (const s of existing) {
    if (!ownedBy(s, svc)) {
      plan.delete.push(s);
      continue;
    }
    const k = portMapKey(s.ports);
    existingByPorts.set(k, [...(existingByPorts.get(k) ?? []), s]);
  }

  const desired = new Map<string, { ports: SlicePort[]; endpoints: Map<string, SliceEndpoint> }>();
  for (const pod of input.pods) {
    if (!podIncluded(pod)) continue;
    const ports = endpointPorts(svc, pod);
    const k = portMapKey(ports);
    if (!desired.has(k)) desired.set(k, { ports, endpoints: new Map() });
    const node = pod.spec.nodeName ? input.nodes(pod.spec.nodeName) : undefined;
    // A pod on a node the cache does not know yet is left out and the sync retried, unless not-ready addresses are published anyway.
    if (!node && !svc.spec.publishNotReadyAddresses) {
      plan.skipped.push(pod.metadata.name!);
      continue;
    }
    const e = podToEndpoint(pod, node, svc, type);
    if (e.addresses.length) desired.get(k)!.endpoints.set(endpointKey(e), e);
  }

  for (const [k, want] of desired) {
    const p = reconcileByPortMapping(svc, type, existingByPorts.get(k) ?? [], want.endpoints, want.ports, max);
    plan.create.push(...p.create);
    plan.update.push(...p.update);
    plan.delete.push(...p.delete);
  }
  for (const [k, slices] of existingByPorts) if (!desired.has(k)) plan.delete.push(...slices);

  // A Service without any endpoints keeps one placeholder slice, so consumers can tell "none" from "not yet".
  if (existing.length === plan.delete.length && plan.create.length === 0) {
    if (plan.delete.length === 1 && isPlaceholder(plan.delete[0], svc, type)) plan.delete = [];
    else {
      const placeholder = newSlice(svc, type, undefined);
      placeholder.endpoints = null;
      plan.create.push(placeholder);
    }
  }

  // Creates become updates of slices that would otherwise be deleted (finalize).
  for (let i = 0; i < plan.delete.length && plan.create.length;) {
    const victim = plan.delete[i];
    if (victim.addressType === type && ownedBy(victim, svc)) {
      const slice = plan.create.pop()!;
      // The new slice's metadata under the old name; its resourceVersion keeps the write conditional on what we saw.
      const { generateName: _g, ...meta } = slice.metadata;
      slice.metadata = { ...meta, name: victim.metadata.name, uid: victim.metadata.uid, resourceVersion: victim.metadata.resourceVersion };
      plan.update.push(slice);
      plan.delete.splice(i, 1);
    } else {
      i++;
    }
  }
  return plan;
}

function reconcileByPortMapping(svc: Service, type: AddressType, existing: EndpointSlice[], want: Map<string, SliceEndpoint>,
  ports: SlicePort[], max: number): { create: EndpointSlice[]; update: EndpointSlice[]; delete: EndpointSlice[] } {
  const byName = new Map<string, EndpointSlice>();
  const unchanged = new Set<string>();
  const toUpdate = new Set<string>();
  const toDelete = new Set<string>();

  // 1. Drop endpoints no longer wanted and refresh changed ones, in the slice that holds them.
  for (const s of existing) {
    const name = s.metadata.name!;
    byName.set(name, s);
    const keep: SliceEndpoint[] = [];
    let changed = false;
    for (const e of s.endpoints ?? []) {
      const k = endpointKey(e);
      const got = want.get(k);
      if (!got) continue;
      keep.push(got);
      if (canonicalJSON(got) !== canonicalJSON(e)) changed = true;
      want.delete(k);
    }
    const { labels, changed: labelsChanged } = sliceLabels(s.metadata.labels, svc);
    if (changed || keep.length !== (s.endpoints?.length ?? 0)) {
      if (!keep.length) toDelete.add(name);
      else {
        byName.set(name, { ...deepCopy(s), metadata: { ...deepCopy(s.metadata), labels }, endpoints: keep });
        toUpdate.add(name);
      }
    } else if (labelsChanged) {
      byName.set(name, { ...deepCopy(s), metadata: { ...deepCopy(s.metadata), labels } });
      toUpdate.add(name);
    } else {
      unchanged.add(name);
    }
  }

  const rest = [...want.values()];
  // 2. Top up the slices being written anyway, fullest first.
  if (rest.length && toUpdate.size) {
    const slices = [...toUpdate].map((n) => byName.get(n)!).sort((a, b) => (b.endpoints?.length ?? 0) - (a.endpoints?.length ?? 0));
    for (const s of slices) {
      while (rest.length && s.endpoints!.length < max) s.endpoints!.push(rest.shift()!);
    }
  }

  // 3. Fit what is left into one unchanged slice if it can take all of it, else into new slices.
  const create: EndpointSlice[] = [];
  while (rest.length) {
    let fill: EndpointSlice | undefined;
    if (rest.length < max && unchanged.size) {
      const found = sliceToFill([...unchanged].map((n) => byName.get(n)!), rest.length, max);
      if (found) {
        fill = deepCopy(found);
        fill.endpoints = fill.endpoints ?? [];
        byName.set(fill.metadata.name!, fill);
      }
    }
    fill ??= newSlice(svc, type, ports);
    while (rest.length && fill.endpoints!.length < max) fill.endpoints!.push(rest.shift()!);
    if (fill.metadata.name) {
      toUpdate.add(fill.metadata.name);
      unchanged.delete(fill.metadata.name);
    } else {
      create.push(fill);
    }
  }
  return {
    create,
    update: [...toUpdate].map((n) => byName.get(n)!),
    delete: [...toDelete].map((n) => byName.get(n)!),
  };
}

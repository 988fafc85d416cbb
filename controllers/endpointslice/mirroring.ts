// The EndpointSlice mirroring controller (pkg/controller/endpointslicemirroring):
// a Service without a selector gets its endpoints from an Endpoints object
// someone else writes; kubectl 1.32 and other slice readers see them only
// once they are mirrored into EndpointSlices. One slice per address family
// and port set, at most --mirroring-max-endpoints-per-subset endpoints each,
// owned by the Endpoints. Endpoints labelled
// endpointslice.kubernetes.io/skip-mirror=true (the API server's own) and
// leader-election records are not mirrored.

import net from 'node:net';
import { isNotFound } from '../../api/errors.js';
import { isDNS1123Subdomain } from '../../api/labels.js';
import { R } from '../../api/resources.js';
import type { EndpointAddress, EndpointPort, Endpoints, EndpointSlice, Service, SliceEndpoint, SlicePort } from '../../api/types.js';
import { deepCopy, objectKey, splitKey } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { counter } from '../../lib/metrics.js';
import { canonicalJSON } from '../canonical.js';
import { QueueController, type EventRecorder } from '../controller.js';
import { managedByLabel } from './reconciler.js';
import { serviceNameLabel, SliceTracker } from './tracker.js';

export const mirroringControllerName = 'endpointslicemirroring-controller.k8s.io';
const skipMirrorLabel = 'endpointslice.kubernetes.io/skip-mirror';
const leaderAnnotation = 'control-plane.alpha.kubernetes.io/leader';
const triggerTimeAnnotation = 'endpoints.kubernetes.io/last-change-trigger-time';
const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

const changes = counter({ name: 'endpoint_slice_mirroring_controller_changes', help: 'Number of EndpointSlice changes', labelNames: ['operation'] as const });

export interface MirroringControllerOptions {
  client: Client;
  informers: InformerFactory;
  recorder: EventRecorder;
  /** --mirroring-max-endpoints-per-subset */
  maxEndpointsPerSubset?: number;
}

const mirrored = (s: EndpointSlice) => s.metadata.labels?.[managedByLabel] === mirroringControllerName;
const shouldMirror = (ep: Endpoints | undefined) =>
  !!ep && ep.metadata.labels?.[skipMirrorLabel] !== 'true' && !(ep.metadata.annotations && leaderAnnotation in ep.metadata.annotations);

/** The slice endpoint for one Endpoints address, with its family; none for an address that is not an IP. */
function addressToEndpoint(a: EndpointAddress, ready: boolean): { e: SliceEndpoint; type: 'IPv4' | 'IPv6' } | undefined {
  const family = net.isIP(a.ip ?? '');
  if (!family) return undefined;
  const e: SliceEndpoint = { addresses: [a.ip], conditions: { ready } };
  if (a.targetRef) e.targetRef = a.targetRef;
  if (a.nodeName) e.nodeName = a.nodeName;
  if (a.hostname) e.hostname = a.hostname;
  return { e, type: family === 6 ? 'IPv6' : 'IPv4' };
}

const toSlicePorts = (ports: EndpointPort[] | undefined): SlicePort[] =>
  (ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP', ...((p as { appProtocol?: string }).appProtocol ? { appProtocol: (p as { appProtocol?: string }).appProtocol } : {}) }));
const portKey = (type: string, ports: readonly SlicePort[] | null | undefined) => `${type}-${(ports ?? []).map((p) => canonicalJSON(p)).sort().join('|')}`;
const endpointKey = (e: SliceEndpoint) => canonicalJSON({ a: e.addresses, h: e.hostname ?? '', ns: e.targetRef?.namespace ?? '', n: e.targetRef?.name ?? '' });
const withoutKeys = (m: Record<string, string> | undefined, ...keys: string[]) => Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => !keys.includes(k)));

export class EndpointSliceMirroringController extends QueueController {
  private readonly client: Client;
  private readonly recorder: EventRecorder;
  private readonly services: Informer<Service>;
  private readonly endpoints: Informer<Endpoints>;
  private readonly slices: Informer<EndpointSlice>;
  private readonly tracker = new SliceTracker();
  private readonly maxEndpointsPerSubset: number;

  constructor(o: MirroringControllerOptions) {
    super('endpoint_slice_mirroring', logger('endpointslice-mirroring-controller'));
    this.client = o.client;
    this.recorder = o.recorder;
    this.maxEndpointsPerSubset = o.maxEndpointsPerSubset ?? 1000;
    this.services = o.informers.informerFor<Service>(R.services);
    this.endpoints = o.informers.informerFor<Endpoints>(R.endpoints);
    this.slices = o.informers.informerFor<EndpointSlice>(R.endpointslices);
    const enqueue = (o: Service | Endpoints) => this.queue.add(objectKey(o));
    this.services.addEventHandler({ onAdd: enqueue, onUpdate: (_, s) => enqueue(s), onDelete: enqueue });
    this.endpoints.addEventHandler({
      onAdd: (ep) => {
        if (shouldMirror(ep)) enqueue(ep);
      },
      onUpdate: (old, ep) => {
        if (shouldMirror(old) || shouldMirror(ep)) enqueue(ep);
      },
      onDelete: enqueue,
    });
    const sliceChanged = (s: EndpointSlice) => {
      const name = s.metadata.labels?.[serviceNameLabel];
      if (name) this.queue.add(`${s.metadata.namespace}/${name}`);
    };
    this.slices.addEventHandler({
      onAdd: (s) => {
        if (mirrored(s) && this.tracker.shouldSync(s)) sliceChanged(s);
      },
      onUpdate: (old, s) => {
        if (mirrored(old) !== mirrored(s) || old.metadata.labels?.[serviceNameLabel] !== s.metadata.labels?.[serviceNameLabel]) {
          sliceChanged(old);
          sliceChanged(s);
        } else if (mirrored(s) && this.tracker.shouldSync(s)) {
          sliceChanged(s);
        }
      },
      onDelete: (s) => {
        if (mirrored(s) && this.tracker.has(s) && !this.tracker.handleDeletion(s)) sliceChanged(s);
      },
    });
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const ep = this.endpoints.lister.get(key);
    const svc = this.services.lister.get(key);
    const existing = this.slices.lister
      .list({ namespace, labelSelector: `${serviceNameLabel}=${name},${managedByLabel}=${mirroringControllerName}` })
      .filter((s) => !s.metadata.deletionTimestamp);
    // Mirrored slices go once there is nothing left to mirror: no Endpoints, no Service, or a selector (the EndpointSlice controller's then).
    if (!ep || !svc || !shouldMirror(ep) || svc.spec.selector) {
      if (!ep || !svc) this.tracker.deleteService(key);
      await this.remove(namespace!, existing);
      return;
    }
    if (this.tracker.stale(key, existing)) throw new Error(`EndpointSlice informer cache is out of date for ${key}`);

    // Desired endpoints per address family and port set.
    const desired = new Map<string, { type: 'IPv4' | 'IPv6'; ports: SlicePort[]; endpoints: Map<string, SliceEndpoint> }>();
    let invalid = 0;
    let skipped = 0;
    for (const subset of ep.subsets ?? []) {
      const ports = toSlicePorts(subset.ports);
      const all: [EndpointAddress, boolean][] = [...(subset.addresses ?? []).map((a): [EndpointAddress, boolean] => [a, true]), ...(subset.notReadyAddresses ?? []).map((a): [EndpointAddress, boolean] => [a, false])];
      let added = 0;
      for (const [a, ready] of all) {
        // At most maxEndpointsPerSubset per subset, so one subset maps onto one slice.
        if (added >= this.maxEndpointsPerSubset) break;
        const got = addressToEndpoint(a, ready);
        if (!got) {
          invalid++;
          continue;
        }
        const k = portKey(got.type, ports);
        if (!desired.has(k)) desired.set(k, { type: got.type, ports, endpoints: new Map() });
        desired.get(k)!.endpoints.set(endpointKey(got.e), got.e);
        added++;
      }
      skipped += all.length - added;
    }
    if (invalid) this.recorder.event(ep, 'Warning', 'InvalidIPAddress', `Skipped ${invalid} invalid IP addresses when mirroring to EndpointSlices`);
    if (skipped > invalid) this.recorder.event(ep, 'Warning', 'TooManyAddressesToMirror', `A max of ${this.maxEndpointsPerSubset} addresses can be mirrored to EndpointSlices per Endpoints subset. ${skipped - invalid} addresses were skipped`);

    const byKey = new Map<string, EndpointSlice[]>();
    for (const s of existing) byKey.set(portKey(s.addressType, s.ports), [...(byKey.get(portKey(s.addressType, s.ports)) ?? []), s]);
    const create: EndpointSlice[] = [];
    const update: EndpointSlice[] = [];
    const del: EndpointSlice[] = [];
    const annotations = withoutKeys(ep.metadata.annotations, triggerTimeAnnotation, lastAppliedAnnotation);
    for (const [k, want] of desired) {
      const have = byKey.get(k) ?? [];
      // One slice per port mapping: keep the first, drop the rest.
      del.push(...have.slice(1));
      const first = have[0];
      const endpoints = [...want.endpoints.values()].slice(0, this.maxEndpointsPerSubset);
      const next = this.newSlice(ep, want.type, want.ports, endpoints, annotations, first?.metadata.name);
      if (first && canonicalJSON(first.endpoints ?? []) === canonicalJSON(endpoints) &&
        canonicalJSON(first.metadata.labels ?? {}) === canonicalJSON(next.metadata.labels) &&
        canonicalJSON(first.metadata.annotations ?? {}) === canonicalJSON(annotations) &&
        (first.metadata.ownerReferences ?? []).some((o) => o.uid === ep.metadata.uid)) continue;
      if (first) {
        next.metadata.uid = first.metadata.uid;
        next.metadata.resourceVersion = first.metadata.resourceVersion;
        update.push(next);
      } else {
        create.push(next);
      }
    }
    for (const [k, have] of byKey) if (!desired.has(k)) del.push(...have);
    // Creates become updates of slices about to be deleted with the same address type.
    for (let i = 0; i < del.length && create.length;) {
      const j = create.findIndex((c) => c.addressType === del[i].addressType);
      if (j < 0) {
        i++;
        continue;
      }
      const [slice] = create.splice(j, 1);
      const { generateName: _g, ...meta } = slice.metadata;
      slice.metadata = { ...meta, name: del[i].metadata.name, uid: del[i].metadata.uid, resourceVersion: del[i].metadata.resourceVersion };
      update.push(slice);
      del.splice(i, 1);
    }

    const client = this.client.resource<EndpointSlice>(R.endpointslices, namespace);
    for (const s of create) {
      this.tracker.update(await client.create(s));
      changes.inc({ operation: 'create' });
    }
    for (const s of update) {
      this.tracker.update(await client.update(s));
      changes.inc({ operation: 'update' });
    }
    await this.remove(namespace!, del);
  }

  private async remove(namespace: string, slices: readonly EndpointSlice[]): Promise<void> {
    const client = this.client.resource<EndpointSlice>(R.endpointslices, namespace);
    for (const s of slices) {
      this.tracker.expectDeletion(s);
      await client.delete(s.metadata.name!).catch((err) => {
        if (!isNotFound(err)) throw err;
      });
      changes.inc({ operation: 'delete' });
    }
  }

  private newSlice(ep: Endpoints, type: 'IPv4' | 'IPv6', ports: SlicePort[], endpoints: SliceEndpoint[], annotations: Record<string, string>, name?: string): EndpointSlice {
    const prefix = `${ep.metadata.name}-`;
    const metadata: EndpointSlice['metadata'] = {
      namespace: ep.metadata.namespace,
      labels: { ...ep.metadata.labels, [serviceNameLabel]: ep.metadata.name!, [managedByLabel]: mirroringControllerName },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Endpoints', name: ep.metadata.name!, uid: ep.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      ...(Object.keys(annotations).length ? { annotations: deepCopy(annotations) } : {}),
    };
    if (name) metadata.name = name;
    else metadata.generateName = isDNS1123Subdomain(`${prefix.slice(0, -1)}a`).length ? ep.metadata.name : prefix;
    return { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata, addressType: type, endpoints, ports };
  }
}

// The Endpoints controller (pkg/controller/endpoint): for every Service with
// a selector, an Endpoints object of the same name listing the selected pods.
// It writes only on change: kube-proxy reprograms on every write.

import { isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { EndpointAddress, EndpointPort, Endpoints, EndpointSubset, Pod, Service } from '../../api/types.js';
import { deepCopy, splitKey } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController } from '../controller.js';
import { findPort, isPodReady, queueServicesOfPods, serviceSelects } from '../podutil.js';
import { canonicalJSON } from '../canonical.js';

export interface EndpointsControllerOptions {
  client: Client;
  informers: InformerFactory;
}

export class EndpointsController extends QueueController {
  private readonly client: Client;
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly endpoints: Informer<Endpoints>;

  constructor(o: EndpointsControllerOptions) {
    super('endpoint', logger('endpoints-controller'));
    this.client = o.client;
    this.services = o.informers.informerFor<Service>(R.services);
    this.pods = o.informers.informerFor<Pod>(R.pods);
    this.endpoints = o.informers.informerFor<Endpoints>(R.endpoints);
    queueServicesOfPods(this.services, this.pods, this.queue);
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const client = this.client.resource<Endpoints>(R.endpoints, namespace);
    const svc = this.services.lister.get(key);
    if (!svc) {
      // The Service is gone; so is what we published for it.
      await client.delete(name).catch((err) => {
        if (!isNotFound(err)) throw err;
      });
      return;
    }
    // Without a selector the Endpoints are the user's to manage.
    if (!svc.spec.selector) return;

    const pods = this.pods.lister.list({ namespace }).filter((p) => serviceSelects(svc, p));
    const subsets = endpointSubsets(svc, pods);
    const labels: Record<string, string> = { ...svc.metadata.labels };
    if (svc.spec.clusterIP === 'None') labels['service.kubernetes.io/headless'] = '';

    const current = this.endpoints.lister.get(key);
    if (current && canonicalJSON(current.subsets ?? []) === canonicalJSON(subsets) && canonicalJSON(current.metadata.labels ?? {}) === canonicalJSON(labels)) return;
    if (current) {
      await client.update({ ...deepCopy(current), metadata: { ...deepCopy(current.metadata), labels }, subsets });
    } else {
      await client.create({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace, labels }, subsets });
    }
  }
}

/** ShouldPodBeInEndpoints: has an IP, is not finished, and is not terminating unless not-ready addresses are published. */
function podIncluded(pod: Pod, publishNotReady: boolean): boolean {
  if (!pod.status?.podIP) return false;
  if (pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed') return false;
  return publishNotReady || !pod.metadata.deletionTimestamp;
}

/** Addresses grouped into subsets by the ports they resolve to (RepackSubsets), sorted for a stable comparison. */
export function endpointSubsets(svc: Service, pods: Pod[]): EndpointSubset[] {
  const publishNotReady = !!svc.spec.publishNotReadyAddresses;
  const groups = new Map<string, { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }>();
  for (const pod of pods) {
    if (!podIncluded(pod, publishNotReady)) continue;
    const ports: EndpointPort[] = [];
    let resolved = true;
    for (const sp of svc.spec.ports ?? []) {
      const port = findPort(pod, sp);
      if (port === undefined) {
        resolved = false;
        break;
      }
      ports.push({ ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol ?? 'TCP' });
    }
    if (!resolved) continue;
    const key = canonicalJSON(ports);
    const g = groups.get(key) ?? { ports, ready: [], notReady: [] };
    groups.set(key, g);
    const address: EndpointAddress = {
      ip: pod.status!.podIP!,
      ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name!, uid: pod.metadata.uid },
    };
    (publishNotReady || isPodReady(pod) ? g.ready : g.notReady).push(address);
  }
  const byIp = (a: EndpointAddress, b: EndpointAddress) => a.ip.localeCompare(b.ip, 'en', { numeric: true });
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, g]) => ({
      ...(g.ready.length ? { addresses: g.ready.sort(byIp) } : {}),
      ...(g.notReady.length ? { notReadyAddresses: g.notReady.sort(byIp) } : {}),
      ...(g.ports.length ? { ports: g.ports } : {}),
    }));
}

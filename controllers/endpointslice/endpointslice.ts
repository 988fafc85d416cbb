// The EndpointSlice controller (pkg/controller/endpointslice): for every
// Service with a selector, discovery.k8s.io/v1 EndpointSlices listing the
// selected pods, labelled kubernetes.io/service-name and owned by the
// Service, so the garbage collector removes them with it. kubectl describe
// service reads only these. The reconciler decides the writes; this file
// turns informer events into Service keys and carries the plan out.

import { isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { EndpointSlice, Node, Pod, Service } from '../../api/types.js';
import { splitKey } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { counter } from '../../lib/metrics.js';
import { QueueController } from '../controller.js';
import { queueServicesOfPods, serviceSelects } from '../podutil.js';
import { controllerName, managedByLabel, reconcile } from './reconciler.js';
import { serviceNameLabel, SliceTracker } from './tracker.js';
import { rfc3339Nano, triggerTimeAnnotation, TriggerTimeTracker } from './triggertime.js';

const changes = counter({ name: 'endpoint_slice_controller_changes', help: 'Number of EndpointSlice changes', labelNames: ['operation'] as const });
const syncs = counter({ name: 'endpoint_slice_controller_syncs', help: 'Number of EndpointSlice syncs', labelNames: ['result'] as const });

export interface EndpointSliceControllerOptions {
  client: Client;
  informers: InformerFactory;
  /** --max-endpoints-per-slice */
  maxEndpointsPerSlice?: number;
}

/** The cache does not show our last writes yet; the key is retried with backoff. */
class StaleInformerCache extends Error {}

export class EndpointSliceController extends QueueController {
  private readonly client: Client;
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly slices: Informer<EndpointSlice>;
  private readonly tracker = new SliceTracker();
  private readonly triggerTimes = new TriggerTimeTracker();
  private readonly maxEndpointsPerSlice: number;

  constructor(o: EndpointSliceControllerOptions) {
    super('endpoint_slice', logger('endpointslice-controller'));
    this.client = o.client;
    this.maxEndpointsPerSlice = o.maxEndpointsPerSlice ?? 100;
    this.services = o.informers.informerFor<Service>(R.services);
    this.pods = o.informers.informerFor<Pod>(R.pods);
    this.nodes = o.informers.informerFor<Node>(R.nodes);
    this.slices = o.informers.informerFor<EndpointSlice>(R.endpointslices);
    queueServicesOfPods(this.services, this.pods, this.queue);
    this.slices.addEventHandler({
      onAdd: (s) => {
        if (managed(s) && this.tracker.shouldSync(s)) this.sliceChanged(s);
      },
      onUpdate: (old, s) => {
        // A slice taken over or handed back, or moved to another Service, concerns both sides.
        if (managed(old) !== managed(s) || old.metadata.labels?.[serviceNameLabel] !== s.metadata.labels?.[serviceNameLabel]) {
          this.sliceChanged(old);
          this.sliceChanged(s);
        } else if (managed(s) && this.tracker.shouldSync(s)) {
          this.sliceChanged(s);
        }
      },
      onDelete: (s) => {
        // A deletion we did not make (kubectl delete endpointslice) is repaired.
        if (managed(s) && this.tracker.has(s) && !this.tracker.handleDeletion(s)) this.sliceChanged(s);
      },
    });
  }

  private sliceChanged(s: EndpointSlice): void {
    const name = s.metadata.labels?.[serviceNameLabel];
    if (name) this.queue.add(`${s.metadata.namespace}/${name}`);
  }

  async sync(key: string): Promise<void> {
    try {
      await this.syncService(key);
      syncs.inc({ result: 'success' });
    } catch (e) {
      syncs.inc({ result: e instanceof StaleInformerCache ? 'stale' : 'error' });
      throw e;
    }
  }

  private async syncService(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = this.services.lister.get(key);
    if (!svc) {
      // The garbage collector deletes the slices through their ownerReference.
      this.tracker.deleteService(key);
      this.triggerTimes.deleteService(key);
      return;
    }
    // ExternalName Services get no endpoints; selector-less ones get slices written by someone else.
    if (svc.spec.type === 'ExternalName' || !svc.spec.selector) return;

    const pods = this.pods.lister.list({ namespace }).filter((p) => serviceSelects(svc, p));
    const slices = this.slices.lister
      .list({ namespace, labelSelector: `${serviceNameLabel}=${name},${managedByLabel}=${controllerName}` })
      .filter((s) => !s.metadata.deletionTimestamp);
    if (this.tracker.stale(key, slices)) throw new StaleInformerCache(`EndpointSlice informer cache is out of date for ${key}`);

    const triggerTime = this.triggerTimes.compute(key, svc, pods);
    const plan = reconcile({ service: svc, pods, slices, nodes: (n) => this.nodes.lister.get(n), maxEndpointsPerSlice: this.maxEndpointsPerSlice });
    // Every slice written carries this sync's trigger time, or none when nothing the tracker follows changed (addTriggerTimeAnnotation).
    for (const s of [...plan.create, ...plan.update]) {
      const annotations = { ...s.metadata.annotations };
      if (triggerTime) annotations[triggerTimeAnnotation] = rfc3339Nano(triggerTime);
      else delete annotations[triggerTimeAnnotation];
      if (Object.keys(annotations).length) s.metadata.annotations = annotations;
      else delete s.metadata.annotations;
    }
    const client = this.client.resource<EndpointSlice>(R.endpointslices, namespace);
    // No new slices for a Service on its way out: the garbage collector would race them.
    if (!svc.metadata.deletionTimestamp) {
      for (const s of plan.create) {
        this.tracker.update(await client.create(s));
        changes.inc({ operation: 'create' });
      }
    }
    for (const s of plan.update) {
      this.tracker.update(await client.update(s));
      changes.inc({ operation: 'update' });
    }
    for (const s of plan.delete) {
      this.tracker.expectDeletion(s);
      await client.delete(s.metadata.name!).catch((err) => {
        if (!isNotFound(err)) throw err;
      });
      changes.inc({ operation: 'delete' });
    }
    if (plan.skipped.length) throw new Error(`skipped pods ${plan.skipped.join(', ')} of Service ${key}: their Node is not known`);
  }
}

function managed(s: EndpointSlice): boolean {
  return s.metadata.labels?.[managedByLabel] === controllerName;
}

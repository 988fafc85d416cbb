// The node IPAM controller with kube's RangeAllocator
// (pkg/controller/nodeipam/ipam/range_allocator.go): every Node without
// spec.podCIDRs gets the next free node-sized subnet of --cluster-cidr. The
// bitmap lives in memory, so it is rebuilt from the Nodes in the cache
// before the first allocation, and a deleted Node's CIDR is released.
//
// One worker, always: with the bitmap in this process and a single worker
// taking one Node at a time, two Nodes registering at once cannot be handed
// the same subnet. The write is a CAS (the patch carries the resourceVersion
// the decision was made on), so a Node that got a CIDR some other way in the
// meantime keeps it and ours goes back to the pool.

import { isConflict, isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { KubeObject, Node } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController, type EventRecorder } from '../controller.js';
import { CIDRSet } from './cidrset.js';

/** kube's cidrUpdateRetries. */
const updateRetries = 3;

export interface NodeIpamOptions {
  client: Client;
  informers: InformerFactory;
  /** --cluster-cidr. */
  clusterCIDR: string;
  /** --node-cidr-mask-size. */
  nodeCIDRMaskSize: number;
  /** --service-cluster-ip-range: subnets overlapping it are never handed out (kube's filterOutServiceRange). */
  serviceCIDR?: string;
  /** Reports as cidrAllocator: CIDRNotAvailable, CIDRAssignmentFailed. */
  recorder?: EventRecorder;
}

export class NodeIpamController extends QueueController {
  private readonly client: Client;
  private readonly nodes: Informer<Node>;
  private readonly set: CIDRSet;
  private readonly serviceCIDR?: string;
  private readonly recorder?: EventRecorder;

  constructor(o: NodeIpamOptions) {
    super('node-ipam', logger('node-ipam-controller'));
    this.client = o.client;
    this.set = new CIDRSet(o.clusterCIDR, o.nodeCIDRMaskSize);
    this.serviceCIDR = o.serviceCIDR || undefined;
    this.recorder = o.recorder;
    this.nodes = o.informers.informerFor<Node>(R.nodes);
    this.nodes.addEventHandler({
      onAdd: (n) => this.queue.add(n.metadata.name!),
      onUpdate: (_, n) => this.queue.add(n.metadata.name!),
      // Nodes have no finalizer: the delete is the last we hear of it, so the release happens here.
      onDelete: (n) => {
        this.release(n);
        this.queue.add(n.metadata.name!);
      },
    });
  }

  /** The allocator's bitmap, for tests and metrics. */
  get cidrs(): CIDRSet {
    return this.set;
  }

  /** Always one worker, whatever is asked: the in-memory bitmap is the lock. */
  override run(_workers: number): Promise<void> {
    this.rebuild();
    return super.run(1);
  }

  /** NewCIDRRangeAllocator's start: occupy every CIDR the cached Nodes hold, and the service range. */
  rebuild(): void {
    if (this.serviceCIDR) {
      try {
        this.set.occupy(this.serviceCIDR);
      } catch {
        // No overlap with the cluster CIDR: nothing to keep out.
      }
    }
    for (const node of this.nodes.lister.list()) {
      try {
        this.occupy(node);
      } catch (e) {
        // kube refuses to start here; one bad Node must not stop every other controller of this process.
        this.log.error('node holds a pod CIDR outside the cluster CIDR; left alone', { node: node.metadata.name, podCIDRs: node.spec.podCIDRs, error: (e as Error).message });
      }
    }
  }

  private occupy(node: Node): void {
    for (const cidr of podCIDRsOf(node)) this.set.occupy(cidr);
  }

  private release(node: Node): void {
    for (const cidr of podCIDRsOf(node)) {
      try {
        this.set.release(cidr);
      } catch (e) {
        this.log.warn('could not release CIDR', { node: node.metadata.name, cidr, error: (e as Error).message });
      }
    }
  }

  async sync(key: string): Promise<void> {
    const node = this.nodes.lister.get(key);
    if (!node) return;
    if (node.metadata.deletionTimestamp) {
      this.release(node);
      return;
    }
    if (podCIDRsOf(node).length) {
      this.occupy(node);
      return;
    }
    let cidr: string;
    try {
      cidr = this.set.allocateNext();
    } catch (e) {
      this.statusEvent(node, 'CIDRNotAvailable');
      throw new Error(`failed to allocate cidr from cluster cidr at idx:0: ${(e as Error).message}`);
    }
    await this.assign(node, cidr);
  }

  /** updateCIDRsAllocation, with the resourceVersion the decision was made on as the precondition. */
  private async assign(cached: Node, cidr: string): Promise<void> {
    const nodes = this.client.resource<Node>(R.nodes);
    let node = cached;
    let err: unknown;
    for (let attempt = 0; attempt < updateRetries; attempt++) {
      const held = podCIDRsOf(node);
      if (held.length) {
        if (held[0] !== cidr) {
          // Someone else set it first: theirs stands, ours goes back.
          this.log.info('node already has a CIDR allocated; releasing the new one', { node: node.metadata.name, podCIDRs: held });
          this.set.release(cidr);
          this.occupy(node);
        }
        return;
      }
      try {
        await nodes.patch(node.metadata.name!, 'merge', { metadata: { resourceVersion: node.metadata.resourceVersion }, spec: { podCIDR: cidr, podCIDRs: [cidr] } });
        this.log.info('set node PodCIDR', { node: node.metadata.name, podCIDRs: [cidr] });
        return;
      } catch (e) {
        err = e;
        if (isNotFound(e)) {
          this.set.release(cidr);
          return;
        }
        if (!isConflict(e)) break;
        try {
          node = await nodes.get(node.metadata.name!);
        } catch (ge) {
          if (isNotFound(ge)) {
            this.set.release(cidr);
            return;
          }
          err = ge;
          break;
        }
      }
    }
    this.log.error('failed to update node PodCIDR after multiple attempts', { node: cached.metadata.name, podCIDRs: [cidr], error: (err as Error)?.message });
    this.statusEvent(cached, 'CIDRAssignmentFailed');
    // As kube: a write that may have landed (a timeout) keeps its CIDR reserved; anything else gives it back.
    if ((err as { code?: number })?.code !== 504) this.set.release(cidr);
    throw err instanceof Error ? err : new Error(String(err));
  }

  /** nodeutil.RecordNodeStatusChange. */
  private statusEvent(node: Node, status: string): void {
    const ref = { apiVersion: 'v1', kind: 'Node', metadata: { name: node.metadata.name, uid: node.metadata.uid } } as KubeObject;
    this.recorder?.event(ref, 'Warning', status, `Node ${node.metadata.name} status is now: ${status}`);
  }
}

function podCIDRsOf(node: Node): string[] {
  return node.spec?.podCIDRs?.length ? node.spec.podCIDRs : node.spec?.podCIDR ? [node.spec.podCIDR] : [];
}

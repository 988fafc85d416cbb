// The taint-eviction controller (pkg/controller/tainteviction): pods on a
// node with NoExecute taints are deleted once their tolerations run out.
// Keys are pods; a pod that may stay for a while is simply re-queued for the
// moment its toleration expires, so the queue is the timer.

import { isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { Node, Pod } from '../../api/types.js';
import { objectKey } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController, type EventRecorder } from '../controller.js';
import { canonicalJSON } from '../canonical.js';
import { evictionTime } from './taints.js';

export interface TaintEvictionOptions {
  client: Client;
  informers: InformerFactory;
  recorder: EventRecorder;
  now?: () => number;
}

const noExecute = (n: Node | undefined) => (n?.spec.taints ?? []).filter((t) => t.effect === 'NoExecute');

export class TaintEvictionController extends QueueController {
  private readonly client: Client;
  private readonly recorder: EventRecorder;
  private readonly now: () => number;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;

  constructor(o: TaintEvictionOptions) {
    super('taint-eviction', logger('taint-eviction-controller'));
    this.client = o.client;
    this.recorder = o.recorder;
    this.now = o.now ?? Date.now;
    this.pods = o.informers.informerFor<Pod>(R.pods);
    this.nodes = o.informers.informerFor<Node>(R.nodes);
    const podChanged = (p: Pod) => {
      if (p.spec.nodeName && noExecute(this.nodes.lister.get(p.spec.nodeName)).length) this.queue.add(objectKey(p));
    };
    this.pods.addEventHandler({ onAdd: podChanged, onUpdate: (_, p) => podChanged(p) });
    const nodeChanged = (n: Node) => {
      for (const p of this.pods.lister.byIndex('nodeName', n.metadata.name!)) this.queue.add(objectKey(p));
    };
    this.nodes.addEventHandler({
      onAdd: nodeChanged,
      onUpdate: (old, n) => {
        if (canonicalJSON(noExecute(old)) !== canonicalJSON(noExecute(n))) nodeChanged(n);
      },
    });
  }

  async sync(key: string): Promise<void> {
    const pod = this.pods.lister.get(key);
    if (!pod?.spec.nodeName || pod.metadata.deletionTimestamp) return;
    const taints = noExecute(this.nodes.lister.get(pod.spec.nodeName));
    if (taints.length === 0) return;
    const now = this.now();
    const at = evictionTime(taints, pod.spec.tolerations ?? [], now);
    if (at === undefined) return;
    if (at > now) {
      this.queue.addAfter(key, at - now);
      return;
    }
    this.recorder.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
    await this.client
      .resource(R.pods, pod.metadata.namespace)
      .delete(pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } })
      .catch((err) => {
        if (!isNotFound(err)) throw err;
      });
  }
}

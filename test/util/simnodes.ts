// Simulated nodes for controller integration tests: Node objects that a
// helper keeps Ready (heartbeating their Lease and Ready condition), and a
// stand-in kubelet that marks pods bound to them Running and Ready with a
// pod IP through the status subresource, and confirms graceful deletions.
// With `bind`, it also plays a round-robin scheduler.

import { isAlreadyExists, isConflict, isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { Lease, Node, Pod } from '../../api/types.js';
import { deepCopy, objectKey } from '../../api/types.js';
import type { Client } from '../../client/interfaces.js';
import { SharedInformerFactory } from '../../client/informer.js';
import { newRateLimitingQueue, runWorkers } from '../../client/workqueue.js';
import { logger } from '../../lib/log.js';

export interface SimNodesOptions {
  count: number;
  prefix?: string;
  heartbeatMs?: number;
  /** Bind pending pods to the nodes round-robin (when no scheduler runs). */
  bind?: boolean;
}

export interface SimNodes {
  names: string[];
  /** Stop heartbeating one node, as if its kubelet died. */
  silence(name: string): void;
  stop(): Promise<void>;
}

const microTime = (ms = Date.now()) => new Date(ms).toISOString().replace(/Z$/, '000Z');
const seconds = (ms = Date.now()) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

export async function startSimNodes(client: Client, o: SimNodesOptions): Promise<SimNodes> {
  const prefix = o.prefix ?? 'sim';
  const names = Array.from({ length: o.count }, (_, i) => `${prefix}-${i}`);
  const silenced = new Set<string>();
  await client.resource(R.namespaces).create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-node-lease' } }).catch((e) => {
    if (!isAlreadyExists(e)) throw e;
  });
  for (const [i, name] of names.entries()) {
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name } },
      spec: {},
    };
    const created = await client.resource<Node>(R.nodes).create(node);
    created.status = {
      capacity: { cpu: '64', memory: '256Gi', pods: '2000' },
      allocatable: { cpu: '64', memory: '256Gi', pods: '2000' },
      addresses: [{ type: 'InternalIP', address: `127.0.1.${i + 1}` }, { type: 'Hostname', address: name }],
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: seconds(), lastTransitionTime: seconds() }],
    };
    await client.resource<Node>(R.nodes).updateStatus(created);
    await client.resource<Lease>(R.leases, 'kube-node-lease').create({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: 'kube-node-lease' },
      spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime() },
    });
  }

  const heartbeat = setInterval(() => {
    for (const name of names) {
      if (silenced.has(name)) continue;
      const leases = client.resource<Lease>(R.leases, 'kube-node-lease');
      leases
        .get(name)
        .then((l) => leases.update({ ...l, spec: { ...l.spec, renewTime: microTime() } }))
        .catch(() => {});
    }
  }, o.heartbeatMs ?? 2000);

  // The kubelet side: one queue of pod keys, a few workers, level-based like a controller.
  const informers = new SharedInformerFactory(client);
  const pods = informers.informerFor<Pod>(R.pods);
  const queue = newRateLimitingQueue({ name: 'simnodes' });
  const enqueue = (p: Pod) => queue.add(objectKey(p));
  pods.addEventHandler({ onAdd: enqueue, onUpdate: (_, p) => enqueue(p) });
  let next = 0;
  let ip = 0;
  const reconcile = async (key: string) => {
    const pod = pods.lister.get(key);
    if (!pod) return;
    const c = client.resource<Pod>(R.pods, pod.metadata.namespace);
    const node = pod.spec.nodeName;
    if (!node) {
      if (!o.bind) return;
      const target = names.filter((n) => !silenced.has(n))[next++ % (names.length - silenced.size || 1)];
      await c.createSubresource(pod.metadata.name!, 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: pod.metadata.name }, target: { apiVersion: 'v1', kind: 'Node', name: target } });
      return;
    }
    if (!names.includes(node) || silenced.has(node)) return;
    if (pod.metadata.deletionTimestamp) {
      await c.delete(pod.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
      return;
    }
    if (pod.status?.phase === 'Running') return;
    const copy = deepCopy(pod);
    const n = ++ip;
    copy.status = {
      ...copy.status,
      phase: 'Running',
      podIP: `10.244.${(n >> 8) & 255}.${n & 255}`,
      hostIP: '127.0.1.1',
      startTime: seconds(),
      conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True' as const, lastTransitionTime: seconds() })),
    };
    await c.updateStatus(copy);
  };
  informers.start();
  await informers.waitForCacheSync();
  const workers = runWorkers(
    queue,
    8,
    (key) =>
      reconcile(key).catch((e) => {
        if (isNotFound(e) || isConflict(e)) return;
        throw e;
      }),
    logger('simnodes'),
  );

  return {
    names,
    silence: (name) => silenced.add(name),
    async stop() {
      clearInterval(heartbeat);
      queue.shutDown();
      informers.stop();
      await workers;
    },
  };
}

// The network agent's loop, after kindnetd and flannel's host-gw backend:
// watch the Nodes, and keep this namespace's routes and rules at what they
// say. For every other node with a pod CIDR and an InternalIP, a route to
// that CIDR via that address; for the whole cluster CIDR an unreachable
// route, so a packet for a pod CIDR no node holds (yet, or any more) is
// refused here rather than sent to the default gateway, off the machine.
// Level-based: each sync computes the whole wanted state from the cache and
// changes only what differs, on every Node event and periodically (a route
// someone deleted comes back).
//
// Without a node name it runs as the control-plane host's agent: routes
// only, no rules (the host's pods, if any, are not in the cluster CIDR).

import { R } from '../api/resources.js';
import type { Node } from '../api/types.js';
import type { Informer, InformerFactory } from '../client/interfaces.js';
import { newRateLimitingQueue, runWorkers } from '../client/workqueue.js';
import { cidrContainsIP, formatCIDR, intToIp, isIPv4, parseCIDR } from '../lib/ipv4.js';
import { logger } from '../lib/log.js';
import { routeKey, type NetBackend, type Route } from './backend.js';

const log = logger('netagent');
const KEY = 'routes';

export interface NetAgentOptions {
  informers: InformerFactory;
  backend: NetBackend;
  /** --cluster-cidr: every pod CIDR is in it. */
  clusterCIDR: string;
  /** This node's name; empty on the control-plane host. */
  nodeName?: string;
  /** How often the whole state is checked again without a Node event. */
  resyncMs?: number;
}

/** The routes this namespace should have, from the Nodes. */
export function desiredRoutes(nodes: readonly Node[], clusterCIDR: string, nodeName?: string): Route[] {
  const cluster = parseCIDR(clusterCIDR);
  const self = nodeName ? nodes.find((n) => n.metadata.name === nodeName) : undefined;
  const ownCIDRs = new Set(podCIDRs(self).map((c) => { try { return formatCIDR(parseCIDR(c)); } catch { return c; } }));
  const ownIP = self && internalIP(self);
  const routes = new Map<string, Route>();
  for (const node of [...nodes].sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!))) {
    if (node.metadata.name === nodeName) continue;
    const via = internalIP(node);
    // A node whose address is ours (or none) cannot be a next hop; a CIDR outside the cluster CIDR is not ours to route.
    if (!via || via === ownIP) continue;
    for (const cidr of podCIDRs(node)) {
      let dst: string;
      try {
        const n = parseCIDR(cidr);
        if (n.bits < cluster.bits || !cidrContainsIP(cluster, intToIp(n.network))) continue;
        dst = formatCIDR(n);
      } catch {
        continue;
      }
      if (ownCIDRs.has(dst) || routes.has(dst)) continue;
      routes.set(dst, { dst, type: 'unicast', via });
    }
  }
  return [...routes.values(), { dst: formatCIDR(cluster), type: 'unreachable' }];
}

function podCIDRs(node: Node | undefined): string[] {
  if (!node) return [];
  return (node.spec.podCIDRs?.length ? node.spec.podCIDRs : node.spec.podCIDR ? [node.spec.podCIDR] : []).filter((c) => !c.includes(':'));
}

function internalIP(node: Node): string | undefined {
  const a = node.status?.addresses?.find((x) => x.type === 'InternalIP' && isIPv4(x.address));
  return a?.address;
}

export class NetAgent {
  private readonly nodes: Informer<Node>;
  private readonly queue = newRateLimitingQueue({ name: 'netagent' });
  private readonly clusterCIDR: string;
  private timer?: NodeJS.Timeout;
  private readonly synced: Array<() => void> = [];
  /** How many syncs have completed, for tests and logs. */
  syncs = 0;

  constructor(private readonly o: NetAgentOptions) {
    // Normalized (host bits cleared), so the unreachable route compares equal to what ip lists.
    this.clusterCIDR = formatCIDR(parseCIDR(o.clusterCIDR));
    this.nodes = o.informers.informerFor<Node>(R.nodes);
    const add = () => this.queue.add(KEY);
    this.nodes.addEventHandler({ onAdd: add, onUpdate: add, onDelete: add });
  }

  /** Runs until stop(): waits for the Node cache, then syncs on every change and every resync period. */
  async run(): Promise<void> {
    if (this.o.nodeName) await this.o.backend.enableForwarding();
    this.o.informers.start();
    await this.o.informers.waitForCacheSync();
    this.queue.add(KEY);
    const period = this.o.resyncMs ?? 30_000;
    this.timer = setInterval(() => this.queue.add(KEY), period);
    this.timer.unref?.();
    await runWorkers(this.queue, 1, () => this.sync(), log);
  }

  stop(): void {
    clearInterval(this.timer);
    this.queue.shutDown();
  }

  /** Resolves after the next sync that completes. */
  nextSync(): Promise<void> {
    return new Promise((r) => this.synced.push(r));
  }

  async sync(): Promise<void> {
    const want = desiredRoutes(this.nodes.lister.list(), this.clusterCIDR, this.o.nodeName);
    const have = await this.o.backend.listRoutes();
    const wanted = new Map(want.map((r) => [r.dst, r]));
    for (const r of have) {
      const w = wanted.get(r.dst);
      if (w && routeKey(w) === routeKey(r)) {
        wanted.delete(r.dst);
        continue;
      }
      if (!w) {
        await this.o.backend.deleteRoute(r);
        log.info('removed route', { route: routeKey(r) });
      }
    }
    for (const r of wanted.values()) {
      await this.o.backend.replaceRoute(r);
      log.info('set route', { route: routeKey(r) });
    }
    if (this.o.nodeName) await this.o.backend.syncRules({ clusterCIDR: this.clusterCIDR });
    this.syncs++;
    for (const r of this.synced.splice(0)) r();
  }
}

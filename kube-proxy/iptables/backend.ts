// The iptables backend: each sync is one iptables-restore transaction of the
// chains that changed. The first sync (and any after a failure) is full: it
// rewrites every chain of ours, removes service chains the kernel still holds
// from an earlier run, and makes sure the jumps from the built-in chains exist.

import { logger } from '../../lib/log.js';
import { gauge } from '../../lib/metrics.js';
import type { Backend, ServicePortInfo } from '../backend.js';
import { builtinChainRules, chainExists, chainsIn, hostLock, iptablesRestore, iptablesSave, setSysctl, startRestore } from './executor.js';
import { buildRules, buildRulesStepwise, chainNames, jumpRulesFor, missingJumps, renderRestore, restoreParts, ruleCount, type RuleOptions, type RuleSet } from './rules.js';

const log = logger('kube-proxy');

const rulesTotal = gauge({ name: 'kubeproxy_sync_proxy_rules_iptables_total', help: 'Total number of iptables rules owned by kube-proxy', labelNames: ['table'] as const });

export class IptablesBackend implements Backend {
  readonly mode = 'iptables' as const;
  private previous?: RuleSet;
  /**
   * What the last sync wrote, kept over a periodic full resync (forceFullSync):
   * the chains in the kernel are then known without an iptables-save of the
   * whole nat table (3 MB at 1,000 Services), as kube skips that save in
   * large clusters. Dropped whenever the kernel may hold something else.
   */
  private known?: RuleSet;
  private canaryTimer?: ReturnType<typeof setInterval>;

  constructor(private readonly opts: RuleOptions = {}) {}

  /**
   * Watch for our rules vanishing (another cluster's kube-proxy --cleanup on
   * this host, an admin's flush): partial syncs would never notice, so a full
   * one is forced, as kube does with its canary chain.
   */
  monitorCanary(everyMs: number, onLost: () => void): void {
    let checking = false;
    this.canaryTimer = setInterval(() => {
      if (checking || !this.previous) return;
      checking = true;
      chainExists('nat', chainNames(this.opts.chainPrefix).canary).then((ok) => {
        if (!ok && this.previous) {
          log.warn('kube-proxy rules were removed by someone else; doing a full sync');
          this.previous = undefined;
          this.known = undefined;
          onLost();
        }
      }).finally(() => { checking = false; });
    }, everyMs);
    this.canaryTimer.unref();
  }

  async init(): Promise<void> {
    // NodePorts on 127.0.0.1 are DNATed to pod IPs; the kernel drops such packets unless loopback sources may be routed.
    if (!(await setSysctl('net.ipv4.conf.all.route_localnet', '1'))) log.warn('could not set net.ipv4.conf.all.route_localnet=1; NodePorts on 127.0.0.1 will not work');
    // Pod-to-Service traffic that is DNATed back onto the same bridge must be seen by iptables on the way back.
    await setSysctl('net.bridge.bridge-nf-call-iptables', '1');
  }

  async sync(ports: ServicePortInfo[]): Promise<void> {
    let desired: RuleSet;
    try {
      desired = this.previous ? await this.partialSync(ports) : await this.fullSync(ports);
    } catch (e) {
      this.previous = undefined;
      this.known = undefined;
      throw e;
    }
    this.previous = desired;
    this.known = desired;
    rulesTotal.set({ table: 'filter' }, ruleCount(desired, 'filter'));
    rulesTotal.set({ table: 'nat' }, ruleCount(desired, 'nat'));
  }

  private async partialSync(ports: ServicePortInfo[]): Promise<RuleSet> {
    const desired = buildRules(ports, this.opts);
    await iptablesRestore(renderRestore(desired, { previous: this.previous }));
    return desired;
  }

  /**
   * Every chain rewritten, stale service chains removed and missing jumps
   * from the built-in chains inserted, all in one transaction per table. The
   * kernel is read under the host lock, so that two proxies' full syncs do
   * not both insert a jump the other's save did not show yet. The work
   * overlaps: flock and iptables-restore start at once, iptables-restore
   * parses each batch of service chains while the next is built, the saves
   * run meanwhile, and only the stale chains, the jumps and the COMMITs wait
   * for them.
   */
  private async fullSync(ports: ServicePortInfo[]): Promise<RuleSet> {
    const lock = hostLock();
    const restore = startRestore();
    try {
      const { rules: desired, steps } = buildRulesStepwise(ports, this.opts);
      const parts = restoreParts(desired, {}, steps);
      // Read under the lock; the head may be written before it is held, as nothing commits before the tail.
      // Only nat holds service chains (as kube reads only nat).
      const jumps = jumpRulesFor(this.opts.chainPrefix);
      const known = this.known;
      const reading = lock.held.then(async () => {
        if (known) {
          // A periodic resync: our chains are the ones we wrote; only the built-in chains are read, for the jumps.
          const builtin = await builtinChainRules(jumps).catch(() => undefined);
          if (builtin !== undefined) return { nat: [...known.nat.keys()], save: builtin };
        }
        const [nat, filter] = await Promise.all([iptablesSave('nat'), iptablesSave('filter')]);
        return { nat: chainsIn(nat), save: nat + filter };
      });
      reading.catch(() => { /* awaited below */ });
      await restore.write(parts.head);
      const kernel = await reading;
      await restore.end(parts.tail({ existing: { filter: [], nat: kernel.nat }, jumps: missingJumps(kernel.save, jumps) }));
      return desired;
    } catch (e) {
      // Nothing commits before the tail is written: killed here, the restore changes nothing.
      await restore.abort();
      throw e;
    } finally {
      await lock.release();
    }
  }

  /** The next sync rewrites everything (kube's periodic full sync). */
  forceFullSync(): void {
    this.previous = undefined;
  }

  async stop(): Promise<void> {
    if (this.canaryTimer) clearInterval(this.canaryTimer);
    // Rules stay in the kernel: forwarding keeps working while kube-proxy restarts.
  }
}

// Informers -> service map -> backend.sync, coalesced. Any number of Service
// and Endpoints events between two syncs become one sync of the whole map,
// rebuilt from the caches (level-based: nothing depends on event order).
// Syncs are rate-limited as kube's BoundedFrequencyRunner does for the
// iptables proxier: at most one per --min-sync-period on average with a burst
// of two, so an isolated change is applied at once and a storm is batched.
// A failed sync is retried, and --sync-period forces one even when idle.

import type { Endpoints, Service } from '../api/types.js';
import { R } from '../api/resources.js';
import type { InformerFactory, Lister } from '../client/interfaces.js';
import { logger } from '../lib/log.js';
import { counter, gauge, histogram } from '../lib/metrics.js';
import { buildServiceMap, type Backend, type ServicePortInfo } from './backend.js';

const log = logger('kube-proxy');

const exp = (start: number, factor: number, n: number) => Array.from({ length: n }, (_, i) => start * factor ** i);

const syncDuration = histogram({ name: 'kubeproxy_sync_proxy_rules_duration_seconds', help: 'SyncProxyRules latency in seconds', buckets: exp(0.001, 2, 15) });
const lastSync = gauge({ name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds', help: 'The last time proxy rules were successfully synced' });
const lastQueued = gauge({ name: 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds', help: 'The last time a sync of proxy rules was queued' });
const endpointChanges = counter({ name: 'kubeproxy_sync_proxy_rules_endpoint_changes_total', help: 'Cumulative proxy rules Endpoint changes' });
const endpointChangesPending = gauge({ name: 'kubeproxy_sync_proxy_rules_endpoint_changes_pending', help: 'Pending proxy rules Endpoint changes' });
const serviceChanges = counter({ name: 'kubeproxy_sync_proxy_rules_service_changes_total', help: 'Cumulative proxy rules Service changes' });
const serviceChangesPending = gauge({ name: 'kubeproxy_sync_proxy_rules_service_changes_pending', help: 'Pending proxy rules Service changes' });
const restoreFailures = counter({ name: 'kubeproxy_sync_proxy_rules_iptables_restore_failures_total', help: 'Cumulative proxy iptables restore failures' });
// Not kube metrics (kube has no per-proxy totals); named in its style.
const servicePortsGauge = gauge({ name: 'kubeproxy_sync_proxy_rules_service_ports', help: 'Service ports programmed by the last sync, by whether they have ready endpoints', labelNames: ['has_endpoints'] as const });
const endpointsGauge = gauge({ name: 'kubeproxy_sync_proxy_rules_endpoints', help: 'Ready endpoints programmed by the last sync' });

export interface ProxierOptions {
  informers: InformerFactory;
  backend: Backend;
  /** --min-sync-period. */
  minSyncPeriodMs?: number;
  /** --sync-period: the longest time between syncs. */
  syncPeriodMs?: number;
  /**
   * Syncs allowed back to back before the rate limit applies. Kube's iptables
   * proxier uses 2; a partial sync here is one small iptables-restore, so a
   * deeper bucket keeps a scale-up's handful of Endpoints updates each applied
   * at once, and only a sustained storm is held to one sync per period.
   */
  burst?: number;
}

export class Proxier {
  private readonly services: Lister<Service>;
  private readonly endpoints: Lister<Endpoints>;
  private readonly backend: Backend;
  private readonly minSyncMs: number;
  private readonly syncPeriodMs: number;
  private readonly burst: number;
  private tokens: number;
  private lastRefill = Date.now();
  private running = false;
  private pending = false;
  private timer?: ReturnType<typeof setTimeout>;
  private periodic?: ReturnType<typeof setInterval>;
  private stopped = false;
  private synced = false;
  private pendingSvc = 0;
  private pendingEp = 0;
  private lastOk = 0;
  /** Resolvers waiting for the next sync that starts after they asked. */
  private waiters: (() => void)[] = [];
  lastMap: ServicePortInfo[] = [];

  constructor(private readonly o: ProxierOptions) {
    this.backend = o.backend;
    this.minSyncMs = o.minSyncPeriodMs ?? 1000;
    this.syncPeriodMs = o.syncPeriodMs ?? 30_000;
    this.burst = o.burst ?? 10;
    this.tokens = this.burst;
    const svcInf = o.informers.informerFor<Service>(R.services);
    const epInf = o.informers.informerFor<Endpoints>(R.endpoints);
    this.services = svcInf.lister;
    this.endpoints = epInf.lister;
    svcInf.addEventHandler({
      onAdd: () => this.changed('svc'),
      onUpdate: (a, b) => { if (JSON.stringify(a.spec) !== JSON.stringify(b.spec)) this.changed('svc'); },
      onDelete: () => this.changed('svc'),
    });
    epInf.addEventHandler({
      onAdd: () => this.changed('ep'),
      onUpdate: (a, b) => { if (JSON.stringify(a.subsets) !== JSON.stringify(b.subsets)) this.changed('ep'); },
      onDelete: () => this.changed('ep'),
    });
  }

  /** Starts the informers, waits for their caches, and syncs for the first time. */
  async run(): Promise<void> {
    this.o.informers.start();
    await this.o.informers.waitForCacheSync();
    this.synced = true;
    await this.syncNow();
    this.periodic = setInterval(() => this.requestSync(), this.syncPeriodMs);
  }

  /** True once a sync has succeeded and the last one attempted did not fail long ago. */
  healthy(): boolean {
    return this.lastOk > 0;
  }

  private changed(kind: 'svc' | 'ep'): void {
    if (kind === 'svc') {
      serviceChanges.inc();
      serviceChangesPending.set(++this.pendingSvc);
    } else {
      endpointChanges.inc();
      endpointChangesPending.set(++this.pendingEp);
    }
    if (this.synced) this.requestSync();
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.lastRefill) / this.minSyncMs);
    this.lastRefill = now;
  }

  /** Ask for a sync; returns when one that started after this call has finished (successfully or not). */
  requestSync(): Promise<void> {
    lastQueued.set(Date.now() / 1000);
    const p = new Promise<void>((r) => this.waiters.push(r));
    this.schedule();
    return p;
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.running) {
      this.pending = true;
      return;
    }
    if (this.timer) return;
    this.refill();
    // A few milliseconds batch the events of one watch chunk (a Service and its Endpoints) into one sync.
    const delay = this.tokens >= 1 ? 5 : Math.ceil((1 - this.tokens) * this.minSyncMs);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refill();
      this.tokens = Math.max(0, this.tokens - 1);
      void this.syncNow();
    }, delay);
  }

  private async syncNow(): Promise<void> {
    if (this.stopped) return;
    this.running = true;
    this.pending = false;
    const waiters = this.waiters;
    this.waiters = [];
    const started = process.hrtime.bigint();
    const pendingSvc = this.pendingSvc;
    const pendingEp = this.pendingEp;
    try {
      const map = buildServiceMap(this.services.list(), (k) => this.endpoints.get(k));
      await this.backend.sync(map);
      this.lastMap = map;
      this.pendingSvc -= pendingSvc;
      this.pendingEp -= pendingEp;
      serviceChangesPending.set(this.pendingSvc);
      endpointChangesPending.set(this.pendingEp);
      const secs = Number(process.hrtime.bigint() - started) / 1e9;
      syncDuration.observe(secs);
      this.lastOk = Date.now();
      lastSync.set(this.lastOk / 1000);
      let withEp = 0;
      let eps = 0;
      for (const sp of map) {
        if (sp.endpoints.length) withEp++;
        eps += sp.endpoints.length;
      }
      servicePortsGauge.set({ has_endpoints: 'true' }, withEp);
      servicePortsGauge.set({ has_endpoints: 'false' }, map.length - withEp);
      endpointsGauge.set(eps);
      log.debug('synced proxy rules', { seconds: secs, servicePorts: map.length, endpoints: eps });
    } catch (e) {
      restoreFailures.inc();
      log.error('sync failed; retrying', { err: String((e as Error).message ?? e) });
      if (!this.stopped) setTimeout(() => this.requestSync(), Math.max(this.minSyncMs, 1000)).unref();
    } finally {
      this.running = false;
      for (const w of waiters) w();
      if (this.pending) this.schedule();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.periodic) clearInterval(this.periodic);
    for (const w of this.waiters.splice(0)) w();
    this.o.informers.stop();
    await this.backend.stop();
  }
}

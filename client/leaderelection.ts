// Leader election over coordination.k8s.io/v1 Leases, as client-go's
// tools/leaderelection does it. Candidates never compare clocks: a lease is
// taken over only after it has not changed for leaseDuration as measured on
// this candidate's own clock from when it last observed a change. Writes are
// guarded by resourceVersion, so of two candidates racing for an expired
// lease exactly one update succeeds. A leader renews with one update of the
// lease it last wrote, as client-go's fast path does, and reads the lease
// first only when that update fails: every leader in a cluster renews every
// retryPeriod, and a read before each write doubled that traffic.

import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { isNotFound } from '../api/errors.js';
import { R } from '../api/resources.js';
import type { Lease, LeaseSpec } from '../api/types.js';
import { parseDuration } from '../lib/flags.js';
import { logger } from '../lib/log.js';
import { gauge } from '../lib/metrics.js';
import type { Client } from './interfaces.js';

const log = logger('leaderelection');
const masterStatus = gauge({ name: 'leader_election_master_status', help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.', labelNames: ['name'] as const });

/** Flag defaults for components' main.ts: `...leaderElectionFlags`; set leaderElectResourceName to the component's lease (kube-scheduler, kube-controller-manager). */
export const leaderElectionFlags = {
  leaderElect: true,
  leaderElectLeaseDuration: '15s',
  leaderElectRenewDeadline: '10s',
  leaderElectRetryPeriod: '2s',
  leaderElectResourceNamespace: 'kube-system',
  leaderElectResourceName: '',
};

export interface LeaderCallbacks {
  /** Leading has begun; the signal aborts when it ends. */
  onStartedLeading(signal: AbortSignal): void;
  /** Called once when run() ends, whether or not this candidate ever led. */
  onStoppedLeading(): void;
  onNewLeader?(identity: string): void;
}

export interface LeaderElectionConfig {
  client: Client;
  namespace: string;
  name: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** On stop(), clear holderIdentity so a successor need not wait out the lease. */
  releaseOnCancel?: boolean;
  callbacks: LeaderCallbacks;
  /** Injectable for tests. */
  now?: () => number;
}

/** The config from parsed leaderElectionFlags. */
export function leaderElectionConfigFromFlags(f: typeof leaderElectionFlags): Pick<LeaderElectionConfig, 'namespace' | 'name' | 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'> {
  return {
    namespace: f.leaderElectResourceNamespace,
    name: f.leaderElectResourceName,
    leaseDurationMs: parseDuration(f.leaderElectLeaseDuration),
    renewDeadlineMs: parseDuration(f.leaderElectRenewDeadline),
    retryPeriodMs: parseDuration(f.leaderElectRetryPeriod),
  };
}

/** metav1.MicroTime. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

/** client-go's JitterFactor for the acquire loop. */
const jitterFactor = 1.2;

export class LeaderElector {
  readonly identity: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly now: () => number;
  private observed?: { record: LeaseSpec; raw: string };
  /** The lease as last read or written: the leader's fast path updates it without reading first. */
  private lease?: Lease;
  private observedTime = 0;
  private reportedLeader = '';
  private stopped = false;
  private wake?: () => void;
  private finished?: Promise<void>;

  constructor(private readonly cfg: LeaderElectionConfig) {
    this.identity = cfg.identity ?? `${os.hostname()}_${randomUUID()}`;
    this.leaseDurationMs = cfg.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = cfg.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = cfg.retryPeriodMs ?? 2_000;
    this.now = cfg.now ?? Date.now;
    if (this.leaseDurationMs <= this.renewDeadlineMs) throw new Error('leaseDuration must be greater than renewDeadline');
    if (this.renewDeadlineMs <= jitterFactor * this.retryPeriodMs) throw new Error('renewDeadline must be greater than retryPeriod*JitterFactor');
  }

  isLeader(): boolean {
    return this.observed?.record.holderIdentity === this.identity;
  }

  /** The last observed holder. */
  getLeader(): string {
    return this.observed?.record.holderIdentity ?? '';
  }

  /** Campaign, lead until the lease is lost or stop() is called, then return. */
  run(): Promise<void> {
    this.finished ??= this.campaign();
    return this.finished;
  }

  /** Stop campaigning or leading; releases the lease if configured. Resolves when run() has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.finished;
  }

  private async campaign(): Promise<void> {
    const name = this.cfg.name;
    try {
      if (!(await this.acquire())) return;
      const leading = new AbortController();
      masterStatus.set({ name }, 1);
      log.info('successfully acquired lease', { lease: `${this.cfg.namespace}/${name}`, identity: this.identity });
      this.cfg.callbacks.onStartedLeading(leading.signal);
      await this.renew();
      leading.abort();
      masterStatus.set({ name }, 0);
      if (this.stopped && this.cfg.releaseOnCancel) await this.release();
    } finally {
      this.cfg.callbacks.onStoppedLeading();
    }
  }

  private async acquire(): Promise<boolean> {
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew()) return true;
      await this.sleep(this.retryPeriodMs * (1 + Math.random() * (jitterFactor - 1)));
    }
    return false;
  }

  /** Renew every retryPeriod; leadership is lost when no renewal succeeds within renewDeadline. */
  private async renew(): Promise<void> {
    let lastRenew = this.now();
    while (!this.stopped) {
      await this.sleep(this.retryPeriodMs);
      if (this.stopped) return;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = this.now();
      } else if (this.now() - lastRenew >= this.renewDeadlineMs) {
        log.info('failed to renew lease', { lease: `${this.cfg.namespace}/${this.cfg.name}`, identity: this.identity });
        return;
      }
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const leases = this.cfg.client.resource<Lease>(R.leases, this.cfg.namespace);
    const now = this.now();
    const desired: LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.round(this.leaseDurationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    // 1. The leader's fast path: the lease is most likely as this candidate last wrote it.
    if (this.isLeader() && this.lease && this.observedTime + this.leaseDurationMs > now) {
      try {
        const updated = await leases.update({ ...this.lease, spec: { ...desired, acquireTime: this.observed!.record.acquireTime, leaseTransitions: this.observed!.record.leaseTransitions ?? 0 } });
        this.observe(updated, now);
        return true;
      } catch (e) {
        // A Conflict when someone else wrote it since; the slow path reads it and decides.
        log.debug('failed to update lease optimistically, falling back to slow path', { error: (e as Error).message });
      }
    }
    // 2. Read the lease, creating it if there is none.
    let current: Lease;
    try {
      current = await leases.get(this.cfg.name);
    } catch (e) {
      if (!isNotFound(e)) {
        log.warn('error retrieving lease', { lease: `${this.cfg.namespace}/${this.cfg.name}`, error: (e as Error).message });
        return false;
      }
      try {
        const created = await leases.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.cfg.name, namespace: this.cfg.namespace }, spec: desired });
        this.observe(created, now);
        return true;
      } catch (err) {
        log.warn('error creating lease', { error: (err as Error).message });
        return false;
      }
    }

    const record = current.spec ?? {};
    this.lease = current;
    if (!this.observed || this.observed.raw !== JSON.stringify(record)) this.observe(current, now);
    const held = !!record.holderIdentity && record.holderIdentity !== this.identity;
    const durationMs = (record.leaseDurationSeconds ?? 0) * 1000;
    if (held && this.observedTime + durationMs > now) return false;

    if (record.holderIdentity === this.identity) {
      desired.acquireTime = record.acquireTime;
      desired.leaseTransitions = record.leaseTransitions ?? 0;
    } else {
      desired.leaseTransitions = (record.leaseTransitions ?? 0) + 1;
    }
    try {
      const updated = await leases.update({ ...current, spec: desired });
      this.observe(updated, now);
      return true;
    } catch (e) {
      // Usually a Conflict: another candidate wrote first.
      log.debug('failed to update lease', { error: (e as Error).message });
      return false;
    }
  }

  private observe(lease: Lease, at: number): void {
    this.lease = lease;
    const record = lease.spec ?? {};
    this.observed = { record, raw: JSON.stringify(record) };
    this.observedTime = at;
    const holder = record.holderIdentity ?? '';
    if (holder && holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      this.cfg.callbacks.onNewLeader?.(holder);
    }
  }

  private async release(): Promise<void> {
    if (!this.isLeader()) return;
    const leases = this.cfg.client.resource<Lease>(R.leases, this.cfg.namespace);
    try {
      const current = await leases.get(this.cfg.name);
      const now = microTime(this.now());
      await leases.update({ ...current, spec: { leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: current.spec?.leaseTransitions ?? 0 } });
      log.info('released lease', { lease: `${this.cfg.namespace}/${this.cfg.name}`, identity: this.identity });
    } catch (e) {
      log.warn('failed to release lease', { error: (e as Error).message });
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }
}

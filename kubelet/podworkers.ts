// One worker per pod (by UID), as the kubelet's podWorkers: syncs of a pod
// never overlap; updates that arrive during a sync collapse into one more sync
// afterwards (level-based: each sync reads the latest desired and actual state
// itself), and a pod can ask to be synced again after a delay (back-off,
// probes, pulls). Different pods sync in parallel.

import { logger } from '../lib/log.js';
import { histogram } from '../lib/metrics.js';

const log = logger('pod-workers');

const workerDuration = histogram({
  name: 'kubelet_pod_worker_duration_seconds',
  help: 'Duration in seconds to sync a single pod. Broken down by operation type: create, update, or sync',
  labelNames: ['operation_type'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});

interface WorkerState {
  running: boolean;
  pending: boolean;
  synced: boolean;
  timer?: NodeJS.Timeout;
  due?: number;
  idle?: Promise<void>;
  resolveIdle?: () => void;
}

export class PodWorkers {
  private workers = new Map<string, WorkerState>();
  private stopped = false;

  constructor(private readonly sync: (uid: string) => Promise<void>, private readonly errorRetryMs = 1000) {}

  /** Sync the pod now, or right after the sync in progress. */
  update(uid: string): void {
    if (this.stopped) return;
    const st = this.state(uid);
    if (st.running) {
      st.pending = true;
      return;
    }
    void this.run(uid, st);
  }

  /** Sync the pod again after delayMs (an earlier request wins). */
  enqueueAfter(uid: string, delayMs: number): void {
    if (this.stopped) return;
    const st = this.state(uid);
    const due = Date.now() + delayMs;
    if (st.timer && st.due! <= due) return;
    clearTimeout(st.timer);
    st.due = due;
    st.timer = setTimeout(() => {
      st.timer = undefined;
      st.due = undefined;
      this.update(uid);
    }, Math.max(0, delayMs));
    st.timer.unref?.();
  }

  /** Drop the worker of a pod that is gone for good. */
  forget(uid: string): void {
    const st = this.workers.get(uid);
    if (!st) return;
    clearTimeout(st.timer);
    if (!st.running) this.workers.delete(uid);
  }

  known(): string[] {
    return [...this.workers.keys()];
  }

  isBusy(uid: string): boolean {
    return !!this.workers.get(uid)?.running;
  }

  /** Resolves when the pod has no sync in progress. */
  async idle(uid: string): Promise<void> {
    const st = this.workers.get(uid);
    if (st?.running) await st.idle;
  }

  stop(): void {
    this.stopped = true;
    for (const st of this.workers.values()) clearTimeout(st.timer);
  }

  private state(uid: string): WorkerState {
    let st = this.workers.get(uid);
    if (!st) this.workers.set(uid, (st = { running: false, pending: false, synced: false }));
    return st;
  }

  private async run(uid: string, st: WorkerState): Promise<void> {
    st.running = true;
    st.idle = new Promise((r) => (st.resolveIdle = r));
    try {
      do {
        st.pending = false;
        const started = performance.now();
        try {
          await this.sync(uid);
        } catch (e) {
          log.warn('error syncing pod, retrying', { uid, error: (e as Error).message });
          this.enqueueAfter(uid, this.errorRetryMs);
        }
        workerDuration.observe({ operation_type: st.synced ? 'sync' : 'create' }, (performance.now() - started) / 1000);
        st.synced = true;
      } while (st.pending && !this.stopped);
    } finally {
      st.running = false;
      st.resolveIdle?.();
    }
  }
}

// client-go's flowcontrol.Backoff as the kubelet uses it: per key, a delay
// that starts at 10 s and doubles to 5 minutes; an entry untouched for twice
// the maximum starts over. Container restarts ask IsInBackOffSince(finishedAt)
// (so the wait counts from when the container died), image pulls ask
// IsInBackOffSinceUpdate (from the failed pull).

interface Entry { backoffMs: number; lastUpdate: number }

export class Backoff {
  private entries = new Map<string, Entry>();

  constructor(readonly initialMs = 10_000, readonly maxMs = 300_000, private readonly now: () => number = Date.now) {}

  /** Record a failure at eventTime and grow the key's delay. */
  next(key: string, eventTime = this.now()): void {
    const e = this.entries.get(key);
    if (!e || this.expired(e, eventTime)) {
      this.entries.set(key, { backoffMs: this.initialMs, lastUpdate: eventTime });
      return;
    }
    e.lastUpdate = eventTime;
    e.backoffMs = Math.min(e.backoffMs * 2, this.maxMs);
  }

  get(key: string): number {
    return this.entries.get(key)?.backoffMs ?? 0;
  }

  /** True while now is within the key's delay of eventTime. */
  isInBackOffSince(key: string, eventTime: number): boolean {
    const e = this.entries.get(key);
    if (!e || this.expired(e, this.now())) return false;
    return this.now() - eventTime < e.backoffMs;
  }

  isInBackOffSinceUpdate(key: string): boolean {
    const e = this.entries.get(key);
    if (!e || this.expired(e, this.now())) return false;
    return this.now() - e.lastUpdate < e.backoffMs;
  }

  /** How long until eventTime + delay, for scheduling the next attempt. */
  remaining(key: string, eventTime: number): number {
    const e = this.entries.get(key);
    return e ? Math.max(0, eventTime + e.backoffMs - this.now()) : 0;
  }

  remainingSinceUpdate(key: string): number {
    const e = this.entries.get(key);
    return e ? Math.max(0, e.lastUpdate + e.backoffMs - this.now()) : 0;
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Drop keys with a prefix (a pod's, once it is gone). */
  resetPrefix(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }

  gc(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (this.expired(e, now)) this.entries.delete(k);
  }

  private expired(e: Entry, at: number): boolean {
    return at - e.lastUpdate > 2 * this.maxMs;
  }
}

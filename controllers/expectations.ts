// ControllerExpectations (pkg/controller/controller_utils.go): a controller
// records how many creates and which deletes it has issued for a key, and
// does not act on that key again until the informer has shown it all of them.
// Without this, a sync running before its own creates reach the cache would
// count too few pods and create again.

/** Expectations older than this are treated as satisfied, as kube's ExpectationsTimeout. */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60 * 1000;

interface Expectation {
  add: number;
  /** Keys ("namespace/name") of pods whose deletion is still to be observed. */
  deletes: Set<string>;
  timestamp: number;
}

export class ControllerExpectations {
  private items = new Map<string, Expectation>();

  constructor(private clock: () => number = Date.now) {}

  /** True when nothing is outstanding (or never recorded, or expired): sync may act. */
  satisfied(key: string): boolean {
    const e = this.items.get(key);
    if (!e) return true;
    if (e.add <= 0 && e.deletes.size === 0) return true;
    return this.clock() - e.timestamp > EXPECTATIONS_TIMEOUT_MS;
  }

  expectCreations(key: string, n: number): void {
    this.items.set(key, { add: n, deletes: new Set(), timestamp: this.clock() });
  }

  expectDeletions(key: string, podKeys: string[]): void {
    this.items.set(key, { add: 0, deletes: new Set(podKeys), timestamp: this.clock() });
  }

  /** Creates and deletes issued in one pass (the DaemonSet controller's syncNodes), awaited together. */
  expect(key: string, adds: number, podKeys: string[]): void {
    this.items.set(key, { add: adds, deletes: new Set(podKeys), timestamp: this.clock() });
  }

  /** A create was seen by the informer, or was never going to happen (it failed). */
  creationObserved(key: string): void {
    const e = this.items.get(key);
    if (e) e.add--;
  }

  deletionObserved(key: string, podKey: string): void {
    this.items.get(key)?.deletes.delete(podKey);
  }

  delete(key: string): void {
    this.items.delete(key);
  }
}

// What the controller last wrote, per Service: slice uid -> generation
// (EndpointSliceTracker in k8s.io/endpointslice/util). The informer cache
// trails our own writes; reconciling from a cache that does not yet show
// them would create duplicate slices or undo updates. A sync that finds the
// cache older than the tracker gives up and retries with backoff, and slice
// events that only echo our own writes do not requeue the Service.

import type { EndpointSlice } from '../../api/types.js';

const deletionExpected = -1;
export const serviceNameLabel = 'kubernetes.io/service-name';

function serviceKeyOf(slice: EndpointSlice): string | undefined {
  const name = slice.metadata.labels?.[serviceNameLabel];
  return name ? `${slice.metadata.namespace}/${name}` : undefined;
}

export class SliceTracker {
  private readonly byService = new Map<string, Map<string, number>>();

  private generations(slice: EndpointSlice, create: boolean): Map<string, number> | undefined {
    const key = serviceKeyOf(slice);
    if (!key) return undefined;
    let m = this.byService.get(key);
    if (!m && create) this.byService.set(key, (m = new Map()));
    return m;
  }

  has(slice: EndpointSlice): boolean {
    return !!slice.metadata.uid && !!this.generations(slice, false)?.has(slice.metadata.uid);
  }

  /** A slice changed by someone else, or newer than anything we wrote. */
  shouldSync(slice: EndpointSlice): boolean {
    const g = slice.metadata.uid ? this.generations(slice, false)?.get(slice.metadata.uid) : undefined;
    return g === undefined || (slice.metadata.generation ?? 0) > g;
  }

  /** Whether the cached slices of a Service lag behind what this controller wrote. */
  stale(serviceKey: string, slices: readonly EndpointSlice[]): boolean {
    const m = this.byService.get(serviceKey);
    if (!m) return false;
    const byUid = new Map(slices.map((s) => [s.metadata.uid, s]));
    for (const [uid, g] of m) {
      const s = byUid.get(uid);
      if (g === deletionExpected) {
        if (s) return true;
      } else if (!s || (s.metadata.generation ?? 0) < g) {
        return true;
      }
    }
    return false;
  }

  update(slice: EndpointSlice): void {
    if (slice.metadata.uid) this.generations(slice, true)?.set(slice.metadata.uid, slice.metadata.generation ?? 0);
  }

  expectDeletion(slice: EndpointSlice): void {
    if (slice.metadata.uid) this.generations(slice, true)?.set(slice.metadata.uid, deletionExpected);
  }

  /** Forget a deleted slice; true when this controller deleted it. */
  handleDeletion(slice: EndpointSlice): boolean {
    const m = this.generations(slice, false);
    const uid = slice.metadata.uid;
    if (!m || !uid || !m.has(uid)) return false;
    const expected = m.get(uid) === deletionExpected;
    m.delete(uid);
    return expected;
  }

  deleteService(serviceKey: string): void {
    this.byService.delete(serviceKey);
  }
}

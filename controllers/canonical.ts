// Comparing and hashing objects that came from different writers (the API
// server's JSON, our own builders) must not depend on key order.

/** Key-order independent JSON, so equal templates hash and compare equal whatever produced them. */
export function canonicalJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJSON).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as any)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJSON((v as any)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

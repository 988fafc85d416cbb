// Times as Kubernetes serialises metav1.Time: RFC 3339 in UTC, whole seconds.

export function metaTime(t: Date | number = new Date()): string {
  return (typeof t === 'number' ? new Date(t) : t).toISOString().replace(/\.\d+Z$/, 'Z');
}

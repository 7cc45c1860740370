// Whether a live object already holds everything the operator would apply. Server-side apply of an
// unchanged object changes nothing in etcd, but it is still a write request; comparing first keeps a
// resync of a healthy fleet at zero writes. The API server adds defaults (protocol: TCP, a
// terminationMessagePath, …), so the check is "the live object contains the desired one", field by
// field; a field someone removed or changed by hand makes it false and the object is applied again.

/**
 * True when every field of `desired` is present in `live` with the same value; lists must match in
 * length and order. An empty map or list matches an absent field: the API server omits empty ones
 * (`matchLabels: {}`, `ingress: []`).
 */
export function containsDesired(desired: unknown, live: unknown): boolean {
  if (desired === null || typeof desired !== 'object') return sameScalar(desired, live);
  if (live === undefined && (Array.isArray(desired) ? desired.length === 0 : Object.keys(desired).length === 0)) return true;
  if (Array.isArray(desired)) {
    return Array.isArray(live) && live.length === desired.length && desired.every((item, i) => containsDesired(item, live[i]));
  }
  if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
  const liveRecord = live as Record<string, unknown>;
  return Object.entries(desired as Record<string, unknown>).every(([key, value]) => value === undefined || containsDesired(value, liveRecord[key]));
}

// Kubernetes keeps int-or-string values as given, but a quantity may come back canonicalised ("1024Mi"
// stays, "1.5Gi" becomes "1536Mi"); the desired-state builders use canonical forms, so equality is exact
// apart from numbers given as strings.
function sameScalar(desired: unknown, live: unknown): boolean {
  if (desired === live) return true;
  return typeof desired === 'number' && typeof live === 'string' && String(desired) === live;
}

// Per-person, per-tool rate limits: a token bucket per (person, tool) that refills at the tool's rate
// per minute and holds at most one minute's worth. Buckets live in this replica's memory (bounded,
// idle ones evicted), so N replicas allow up to N times the rate in total; a shared limiter would cost
// a database or cache round trip on every call.
import { LRUCache } from 'lru-cache';

export interface RateLimiter {
  /** Takes one call from the bucket; returns the seconds to wait when it is empty, or 0 when allowed. */
  take(personId: string, toolId: string, perMinute: number): number;
}

interface Bucket { tokens: number; at: number }

export function createRateLimiter(options: { now?: () => number; maxBuckets?: number } = {}): RateLimiter {
  const now = options.now ?? Date.now;
  const buckets = new LRUCache<string, Bucket>({ max: options.maxBuckets ?? 100_000 });
  return {
    take(personId, toolId, perMinute) {
      const key = `${toolId}\n${personId}`;
      const at = now();
      const perMs = perMinute / 60_000;
      const bucket = buckets.get(key) ?? { tokens: perMinute, at };
      bucket.tokens = Math.min(perMinute, bucket.tokens + (at - bucket.at) * perMs);
      bucket.at = at;
      buckets.set(key, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
    },
  };
}

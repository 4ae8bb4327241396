// Token buckets keyed by client address or instance: `perMinute` sustained, bursts up to the
// same number. Idle buckets are full again, so they are dropped to keep memory bounded.

export type RateLimiter = (
  key: string,
  now?: number,
) => { ok: true } | { ok: false; retryAfterS: number }

const MAX_KEYS = 100_000

export function createRateLimiter(perMinute: number): RateLimiter {
  if (perMinute === 0) return () => ({ ok: true })
  const refillPerMs = perMinute / 60_000
  const buckets = new Map<string, { tokens: number; at: number }>()

  const sweep = (now: number) => {
    for (const [key, bucket] of buckets) {
      if (bucket.tokens + (now - bucket.at) * refillPerMs >= perMinute) buckets.delete(key)
    }
    // Still full of busy keys (an address sweep): make room rather than grow without bound.
    if (buckets.size >= MAX_KEYS) buckets.clear()
  }

  return (key, now = Date.now()) => {
    let bucket = buckets.get(key)
    if (!bucket) {
      if (buckets.size >= MAX_KEYS) sweep(now)
      bucket = { tokens: perMinute, at: now }
      buckets.set(key, bucket)
    }
    bucket.tokens = Math.min(perMinute, bucket.tokens + (now - bucket.at) * refillPerMs)
    bucket.at = now
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return { ok: true }
    }
    return { ok: false, retryAfterS: Math.ceil((1 - bucket.tokens) / refillPerMs / 1000) }
  }
}

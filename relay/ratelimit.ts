// Token buckets keyed by client address, instance, or (address, instance): `perMinute`
// sustained, bursts up to the same number. Idle buckets are full again, so they are dropped;
// under pressure the least recently used go first, so a sweep of made-up keys cannot reset the
// buckets of busy clients.

export type Verdict = { ok: true } | { ok: false; retryAfterS: number }
export type RateLimiter = {
  /** Spends one token for `key`. */
  take(key: string, now?: number): Verdict
  /** Whether `key` has a token left, without spending it. */
  peek(key: string, now?: number): Verdict
}

const MAX_KEYS = 100_000

export function createRateLimiter(perMinute: number, maxKeys = MAX_KEYS): RateLimiter {
  if (perMinute === 0) return { take: () => ({ ok: true }), peek: () => ({ ok: true }) }
  const refillPerMs = perMinute / 60_000
  // A Map iterates in insertion order: re-inserting on each use keeps the oldest use first.
  const buckets = new Map<string, { tokens: number; at: number }>()

  const current = (key: string, now: number) => {
    const bucket = buckets.get(key)
    if (!bucket) return perMinute
    return Math.min(perMinute, bucket.tokens + (now - bucket.at) * refillPerMs)
  }
  const verdict = (tokens: number): Verdict =>
    tokens >= 1
      ? { ok: true }
      : { ok: false, retryAfterS: Math.ceil((1 - tokens) / refillPerMs / 1000) }

  return {
    peek: (key, now = Date.now()) => verdict(current(key, now)),
    take(key, now = Date.now()) {
      const tokens = current(key, now)
      buckets.delete(key)
      if (tokens < 1) {
        buckets.set(key, { tokens, at: now })
        return verdict(tokens)
      }
      buckets.set(key, { tokens: tokens - 1, at: now })
      for (const [oldest, bucket] of buckets) {
        if (buckets.size <= maxKeys && bucket.tokens + (now - bucket.at) * refillPerMs < perMinute)
          break
        buckets.delete(oldest)
      }
      return { ok: true }
    },
  }
}

// Requests and errors per app in 10-second buckets over the last 10 minutes, for the dashboard's
// chart (Prometheus keeps the long history; this is what the agent can show without one).

export const BUCKET_MS = 10_000
const BUCKETS = 60

/** One bucket: requests answered, and of them errors (5xx). */
export type TrafficPoint = { at: number; requests: number; errors: number }

export type TrafficHistory = ReturnType<typeof createTrafficHistory>

export function createTrafficHistory(now: () => number = Date.now) {
  const series = new Map<string, TrafficPoint[]>()
  return {
    count(app: string, status: number): void {
      const at = Math.floor(now() / BUCKET_MS) * BUCKET_MS
      const points = series.get(app) ?? []
      series.set(app, points)
      let last = points.at(-1)
      if (!last || last.at !== at) {
        last = { at, requests: 0, errors: 0 }
        points.push(last)
        while (
          points.length > BUCKETS ||
          (points[0] as TrafficPoint).at <= at - BUCKETS * BUCKET_MS
        )
          points.shift()
      }
      last.requests += 1
      if (status >= 500) last.errors += 1
    },
    /** The last 10 minutes, one point per bucket (empty buckets as zeros), oldest first. */
    series(app: string): TrafficPoint[] {
      const end = Math.floor(now() / BUCKET_MS) * BUCKET_MS
      const known = new Map((series.get(app) ?? []).map((point) => [point.at, point]))
      return Array.from({ length: BUCKETS }, (_, i) => {
        const at = end - (BUCKETS - 1 - i) * BUCKET_MS
        return known.get(at) ?? { at, requests: 0, errors: 0 }
      })
    },
    forget(app: string): void {
      series.delete(app)
    },
  }
}

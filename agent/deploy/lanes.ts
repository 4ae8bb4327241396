// Per app one lane: one deployment runs at a time, and one pending slot holds the next. A newer
// request replaces the pending one (newest wins; the replaced one is superseded), and an optional
// debounce waits for a burst of pushes to end before the pending one starts.
import type { Deployment } from '../api/contract.ts'

export type LaneOptions<R> = {
  /** Runs one deployment; `signal` aborts it (the app was removed, the agent is stopping). */
  run(deployment: Deployment, request: R, signal: AbortSignal): Promise<void>
  /** The pending `replaced` made way for `by`. */
  superseded(replaced: Deployment, by: Deployment): void
  debounceMs(app: string): number
  /** A run that threw instead of recording its own failure. */
  crashed(app: string, error: Error): void
}

type Lane<R> = {
  pending: { deployment: Deployment; request: R } | null
  running: Promise<void> | null
  abort: AbortController | null
  debounce: NodeJS.Timeout | null
}

export function createLanes<R>(options: LaneOptions<R>) {
  const lanes = new Map<string, Lane<R>>()
  let closed = false

  function pump(app: string): void {
    const lane = lanes.get(app)
    if (!lane?.pending || lane.running || lane.debounce || closed) return
    const { deployment, request } = lane.pending
    lane.pending = null
    const abort = new AbortController()
    lane.abort = abort
    lane.running = options
      .run(deployment, request, abort.signal)
      .catch((error: Error) => options.crashed(app, error))
      .finally(() => {
        lane.running = null
        lane.abort = null
        pump(app)
      })
  }

  const end = async (lane: Lane<R>) => {
    if (lane.debounce) clearTimeout(lane.debounce)
    lane.debounce = null
    lane.abort?.abort()
    await lane.running
  }

  return {
    enqueue(deployment: Deployment, request: R): void {
      const { app } = deployment
      let lane = lanes.get(app)
      if (!lane) {
        lane = { pending: null, running: null, abort: null, debounce: null }
        lanes.set(app, lane)
      }
      if (lane.pending) options.superseded(lane.pending.deployment, deployment)
      lane.pending = { deployment, request }
      if (lane.debounce) clearTimeout(lane.debounce)
      lane.debounce = null
      const wait = options.debounceMs(app)
      if (wait <= 0) {
        pump(app)
        return
      }
      const debounced = lane
      debounced.debounce = setTimeout(() => {
        debounced.debounce = null
        pump(app)
      }, wait)
    },
    /** The app is gone: drop its pending deployment, abort and await the running one. */
    async forget(app: string): Promise<void> {
      const lane = lanes.get(app)
      lanes.delete(app)
      if (lane) await end(lane)
    },
    /** Nothing starts from now on; running deployments are aborted and awaited. */
    async close(): Promise<void> {
      closed = true
      await Promise.all([...lanes.values()].map(end))
    },
  }
}

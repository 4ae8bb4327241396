// The lazy boundary of prom-client, for the relay's and the agent's metrics alike. prom-client
// (with @opentelemetry/api and the default metrics' timers) costs an idle daemon ~1-2 MiB and
// ~90 modules, and an idle daemon records nothing: gauges of state are read at a scrape. So the
// metrics are defined here but made at their first use (a record or a scrape). Recording is
// synchronous, so prom-client (CommonJS) is loaded with require(), not import().
import { createRequire } from 'node:module'
import type * as Prom from 'prom-client'

const requireHere = createRequire(import.meta.url)

/**
 * `define(prom)` runs once, at the first call on any metric it returns (or its registry).
 * Until then each `metrics.name` is a stand-in whose property reads go to the real one.
 */
export function lazyMetrics<T extends Record<string, object>>(define: (prom: typeof Prom) => T): T {
  let made: T | null = null
  const real = () => {
    made ??= define(requireHere('prom-client') as typeof Prom)
    return made
  }
  const standIns = new Map<string | symbol, object>()
  const standIn = (name: string | symbol) =>
    new Proxy(
      {},
      {
        get(_, property) {
          const metric = real()[name as keyof T] as Record<string | symbol, unknown>
          const value = metric[property]
          return typeof value === 'function' ? value.bind(metric) : value
        },
      },
    )
  return new Proxy({} as T, {
    get(_, name) {
      let found = standIns.get(name)
      if (!found) {
        found = standIn(name)
        standIns.set(name, found)
      }
      return found
    },
  })
}

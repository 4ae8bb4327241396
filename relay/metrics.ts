// The relay's Prometheus metrics, on a registry of its own so several relays can share a process,
// made at their first use (shared/metrics.ts): an idle relay records nothing until a scrape.
import { Hono } from 'hono'
import { lazyMetrics } from '../shared/metrics.ts'
import { sameSecret } from '../shared/secrets.ts'
import type { Store } from './store.ts'

export type DeliveryOutcome =
  | 'answered' // the agent replied within the reply timeout
  | 'queued' // stored sealed for later
  | 'replayed' // a queued delivery acknowledged by the agent
  | 'expired' // dropped after RELAY_QUEUE_TTL
  | 'unknown_instance'
  | 'too_large'
  | 'queue_full'
  | 'storage_full' // RELAY_DATA_MAX_BYTES reached, or the disk itself
  | 'busy' // RELAY_INFLIGHT_BYTES spent: too many bytes in memory at once

export type RelayMetrics = ReturnType<typeof createRelayMetrics>

/** `agents` counts the open tunnels: read at a scrape, not recorded. */
export function createRelayMetrics(store: Store, agents: () => number) {
  return lazyMetrics(({ Counter, collectDefaultMetrics, Gauge, Histogram, Registry }) => {
    const registry = new Registry()
    collectDefaultMetrics({ register: registry, prefix: 'toehold_relay_' })
    // Made in the order they were always registered, which is the order of the exposition.
    const agentsConnected = new Gauge({
      name: 'toehold_relay_agents_connected',
      help: 'Agents with an open tunnel.',
      registers: [registry],
      collect() {
        this.set(agents())
      },
    })
    const deliveries = new Counter({
      name: 'toehold_relay_deliveries_total',
      help: 'Webhook deliveries by outcome.',
      labelNames: ['outcome'] as const,
      registers: [registry],
    })
    const counted = (outcome: DeliveryOutcome) => deliveries.labels({ outcome })
    return {
      registry,
      agentsConnected,
      deliveries,
      // Bound once: labelling a counter on every webhook costs more than the count itself.
      outcomes: {
        answered: counted('answered'),
        queued: counted('queued'),
        unknownInstance: counted('unknown_instance'),
        tooLarge: counted('too_large'),
        queueFull: counted('queue_full'),
        storageFull: counted('storage_full'),
        busy: counted('busy'),
      },
      forwardDuration: new Histogram({
        name: 'toehold_relay_forward_duration_seconds',
        help: 'From receiving a webhook to having the agent reply, for live deliveries.',
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      }),
      rateLimited: new Counter({
        name: 'toehold_relay_rate_limited_total',
        help: 'Requests refused with 429.',
        labelNames: ['scope'] as const,
        registers: [registry],
      }),
      queueDepth: new Gauge({
        name: 'toehold_relay_queue_depth',
        help: 'Deliveries stored for agents, all instances.',
        registers: [registry],
        collect() {
          this.set(store.total().count)
        },
      }),
      queueOldestAge: new Gauge({
        name: 'toehold_relay_queue_oldest_age_seconds',
        help: 'Age of the oldest stored delivery (0 when the queue is empty).',
        registers: [registry],
        collect() {
          const oldest = store.oldest()
          this.set(oldest === null ? 0 : (Date.now() - oldest) / 1000)
        },
      }),
    }
  })
}

/**
 * GET /metrics, behind `Authorization: Bearer <token>` when a token is set. Served by the
 * public app, or alone on RELAY_METRICS_ADDR (a private address) when that is set.
 */
export function createMetricsApp(metrics: RelayMetrics, token: string | null) {
  return new Hono().get('/metrics', async (c) => {
    if (token && !sameSecret(c.req.header('authorization') ?? '', `Bearer ${token}`)) {
      return c.json({ error: 'unauthorized' }, 401)
    }
    return c.text(await metrics.registry.metrics(), 200, {
      'content-type': metrics.registry.contentType,
    })
  })
}

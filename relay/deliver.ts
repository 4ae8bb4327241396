// The one place that decides what happens to an accepted webhook: forwarded live to a
// connected agent that answers in time, else sealed and stored for the agent's next tunnel,
// else refused (queue or storage full, memory budget spent) so the sender retries later.
import type { Logger } from 'pino'
import type { Delivery } from '../shared/protocol.ts'
import { SEAL_OVERHEAD, sealInPlace, sealingKey } from '../shared/seal.ts'
import type { Lease } from './budget.ts'
import type { RelayMetrics } from './metrics.ts'
import type { Quota, Refusal } from './quota.ts'
import type { Reply, Sessions } from './sessions.ts'
import type { Instance, Store } from './store.ts'

export type Outcome =
  | { kind: 'answered'; reply: Reply }
  | { kind: 'queued' }
  | { kind: 'refused'; error: Refusal | 'relay busy' }

/** SQLite's "database or disk is full". */
const SQLITE_FULL = 13

type Deps = {
  store: Store
  sessions: Sessions
  quota: Quota
  metrics: RelayMetrics
  log: Logger
  replyTimeoutMs: number
}

export function createDeliver({ store, sessions, quota, metrics, log, replyTimeoutMs }: Deps) {
  const keys = new Map<string, { x: unknown; key: Promise<CryptoKey> }>()
  const keyOf = (instance: Instance) => {
    const cached = keys.get(instance.id)
    if (cached && cached.x === instance.sealingJwk.x) return cached.key
    const key = sealingKey(instance.sealingJwk)
    keys.set(instance.id, { x: instance.sealingJwk.x, key })
    return key
  }

  /** `frame` is the whole `delivery` frame (header + body), held under `lease`. */
  return async function deliver(
    instance: Instance,
    delivery: Delivery,
    frame: Buffer,
    lease: Lease,
  ): Promise<Outcome> {
    const started = performance.now()
    const reply = await sessions.forward(instance.id, delivery.id, frame, lease, replyTimeoutMs)
    if (reply) {
      metrics.forwardDuration.observe((performance.now() - started) / 1000)
      return { kind: 'answered', reply }
    }

    // Reserved before the first await, so concurrent webhooks cannot all see the same room.
    const stored = frame.length + SEAL_OVERHEAD
    const room = quota.reserve(instance.id, stored)
    if ('refused' in room) {
      log.warn({ instance: instance.id, reason: room.refused }, 'refusing delivery')
      return { kind: 'refused', error: room.refused }
    }
    try {
      // Sealed in place, unless a tunnel's socket is still writing this frame (the agent was
      // too slow to read it): then a copy is sealed, if the budget has room for one.
      let plaintext = frame
      if (lease.shared()) {
        if (!lease.grow(frame.length)) return { kind: 'refused', error: 'relay busy' }
        plaintext = Buffer.allocUnsafeSlow(frame.length)
        frame.copy(plaintext)
      }
      const { head, tag } = await sealInPlace(plaintext, await keyOf(instance))
      store.enqueue(instance.id, {
        id: delivery.id,
        receivedAt: delivery.receivedAt,
        head,
        rest: [plaintext, tag],
      })
    } catch (error) {
      if ((error as { errcode?: number }).errcode !== SQLITE_FULL) throw error
      log.error({ instance: instance.id }, 'disk full: refusing deliveries until space frees up')
      return { kind: 'refused', error: 'relay storage full' }
    } finally {
      room.release()
    }
    sessions.kick(instance.id)
    return { kind: 'queued' }
  }
}

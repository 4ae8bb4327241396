// Room in the queue, reserved before any await: per instance (count and stored bytes) and for
// the data directory as a whole. A reservation counts as stored until it is released, which
// happens right after the store write (then the store's own usage counts it) or its failure,
// so any number of concurrent requests can never leave more stored than the limits allow.
import type { Store, Usage } from './store.ts'

export type QuotaLimits = {
  /** Deliveries per instance. */
  count: number
  /** Stored (sealed) bytes per instance. */
  bytes: number
  /** Stored bytes of all instances together: RELAY_DATA_MAX_BYTES. */
  totalBytes: number
}

export type Refusal = 'queue full' | 'relay storage full'
export type Reservation = { release(): void }
export type Quota = ReturnType<typeof createQuota>

export function createQuota(store: Store, limits: QuotaLimits) {
  const reserved = new Map<string, Usage>()
  let reservedBytes = 0

  return {
    reserve(instance: string, bytes: number): Reservation | { refused: Refusal } {
      const stored = store.usage(instance)
      const pending = reserved.get(instance) ?? { count: 0, bytes: 0 }
      if (
        stored.count + pending.count + 1 > limits.count ||
        stored.bytes + pending.bytes + bytes > limits.bytes
      ) {
        return { refused: 'queue full' }
      }
      if (store.total().bytes + reservedBytes + bytes > limits.totalBytes) {
        return { refused: 'relay storage full' }
      }
      pending.count += 1
      pending.bytes += bytes
      reserved.set(instance, pending)
      reservedBytes += bytes
      let released = false
      return {
        release() {
          if (released) return
          released = true
          pending.count -= 1
          pending.bytes -= bytes
          reservedBytes -= bytes
          if (pending.count === 0) reserved.delete(instance)
        },
      }
    },
  }
}

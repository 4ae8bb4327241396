// What arrived is written down: a row in the state (the de-duplication memory and the history the
// dashboard shows), a counter and a log line. A delivery that starts a deployment is written
// before it is answered. The rest (ignored, duplicate, refused) change nothing, so they are
// written together just after their answers went out, keeping SQLite and the log off the round
// trip; until then `seen` finds them in memory, so a duplicate in the same burst is still caught.
// If the agent dies in between, only such no-op rows are lost, and a redelivery of one is again
// a no-op.
import type { Logger } from 'pino'
import type { AgentMetrics } from '../core/metrics.ts'
import type { Db } from '../state/db.ts'
import { type DeliveryRecord, recordDelivery, seenDelivery } from '../state/deliveries.ts'

export type DeliveryRecorder = ReturnType<typeof createDeliveryRecorder>

export function createDeliveryRecorder(deps: { db: Db; metrics: AgentMetrics; log: Logger }) {
  const { db, metrics, log } = deps
  let pending: DeliveryRecord[] = []

  /** Writes what is pending; throws when the rows could not be written. */
  function write() {
    if (pending.length === 0) return
    const batch = pending
    pending = []
    try {
      db.exec('BEGIN')
      try {
        for (const record of batch) recordDelivery(db, record)
        db.exec('COMMIT')
      } catch (error) {
        db.exec('ROLLBACK')
        throw error
      }
    } finally {
      // The counter and the log line report the delivery even when its row could not be written.
      for (const { app, relayId, providerId, event, status, result } of batch) {
        metrics.webhooks.inc({ app, result })
        log.info({ app, delivery: relayId, providerId, event, status, result }, 'webhook')
      }
    }
  }

  const flush = () => {
    try {
      write()
    } catch (error) {
      log.error({ err: error }, 'could not record deliveries')
    }
  }

  return {
    /** `now`: written before returning (a delivery that changes something); else just after. */
    record(record: DeliveryRecord, now: boolean) {
      pending.push(record)
      if (now) write()
      else if (pending.length === 1) setImmediate(flush)
    },
    /**
     * True when a verified delivery with this relay id was seen, or one for the app with this
     * provider id or (where the id is unsigned) this body.
     */
    seen(delivery: Pick<DeliveryRecord, 'app' | 'relayId' | 'providerId' | 'bodyDigest'>): boolean {
      const { app, relayId, providerId, bodyDigest } = delivery
      const match = (r: DeliveryRecord) =>
        r.verified &&
        (r.relayId === relayId ||
          (r.app === app &&
            ((providerId !== null && r.providerId === providerId) ||
              (bodyDigest !== null && r.bodyDigest === bodyDigest))))
      return pending.some(match) || seenDelivery(db, delivery)
    },
    /** Writes what is pending now (before the state closes); a failure is logged. */
    flush,
  }
}

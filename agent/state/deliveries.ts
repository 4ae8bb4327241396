// Every delivery the agent answered: what the webhook status shows, and (for verified ones) the
// memory that catches a redelivery.
import type { DeliverySummary } from '../api/contract.ts'
import { type Db, statement } from './db.ts'

export type DeliveryRecord = {
  app: string
  relayId: string
  providerId: string | null
  /** sha256 of the body, for schemes whose id the signature does not cover; else null. */
  bodyDigest: string | null
  provider: string | null
  event: string | null
  verified: boolean
  status: number
  result: string
  deployment: number | null
}

export function recordDelivery(db: Db, record: DeliveryRecord): void {
  statement(
    db,
    `INSERT INTO deliveries (app, relay_id, provider_id, body_digest, provider, event, verified, status, result, deployment, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    record.app,
    record.relayId,
    record.providerId,
    record.bodyDigest,
    record.provider,
    record.event,
    record.verified ? 1 : 0,
    record.status,
    record.result,
    record.deployment,
    Date.now(),
  )
}

/**
 * True when a verified delivery with this relay id was seen, or one for the app with this
 * provider id, or with this body digest.
 */
export function seenDelivery(
  db: Db,
  delivery: Pick<DeliveryRecord, 'app' | 'relayId' | 'providerId' | 'bodyDigest'>,
): boolean {
  const { app, relayId, providerId, bodyDigest } = delivery
  const seen = (sql: string, ...values: string[]) =>
    statement(db, `SELECT 1 FROM deliveries WHERE ${sql} AND verified = 1 LIMIT 1`).get(
      ...values,
    ) !== undefined
  return (
    seen('relay_id = ?', relayId) ||
    (providerId !== null && seen('app = ? AND provider_id = ?', app, providerId)) ||
    (bodyDigest !== null && seen('app = ? AND body_digest = ?', app, bodyDigest))
  )
}

export function recentDeliveries(db: Db, app: string, limit = 20): DeliverySummary[] {
  const rows = statement(
    db,
    'SELECT received_at, event, status, result, deployment, provider_id FROM deliveries WHERE app = ? ORDER BY id DESC LIMIT ?',
  ).all(app, limit) as {
    received_at: number
    event: string | null
    status: number
    result: string
    deployment: number | null
    provider_id: string | null
  }[]
  return rows.map((row) => ({
    at: new Date(row.received_at).toISOString(),
    event: row.event,
    status: row.status,
    result: row.result,
    deployment: row.deployment,
    deliveryId: row.provider_id,
  }))
}

/**
 * Verified deliveries (the de-duplication memory) are kept 8 days: GitHub redelivers for 3.
 * Unverified ones are only for troubleshooting, so a flood of them is capped per app.
 */
const KEEP_MS = 8 * 24 * 3_600_000
const KEEP_UNVERIFIED_PER_APP = 1_000

export function pruneDeliveries(db: Db, now = Date.now()): void {
  statement(db, 'DELETE FROM deliveries WHERE received_at < ?').run(now - KEEP_MS)
  statement(
    db,
    `DELETE FROM deliveries WHERE id IN (
       SELECT id FROM (
         SELECT id, row_number() OVER (PARTITION BY app ORDER BY id DESC) AS r FROM deliveries WHERE verified = 0
       ) WHERE r > ?)`,
  ).run(KEEP_UNVERIFIED_PER_APP)
}

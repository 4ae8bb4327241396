// Per-app webhook settings: provider, secret, enabled; and the record of what arrived.
import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { AppError, requireApp } from './apps.ts'
import type { Db } from './db.ts'

export const PROVIDERS = ['github', 'gitlab', 'bitbucket', 'rev', 'standard'] as const
export const Provider = z.enum(PROVIDERS)
export type Provider = z.infer<typeof Provider>

/** Providers whose secret follows the Standard Webhooks format (`whsec_` + base64). */
const STANDARD = new Set<Provider>(['rev', 'standard'])

/** 32 random bytes: `whsec_`+base64 for Standard Webhooks providers, base64url for the others. */
export function newSecret(provider: Provider): string {
  const bytes = randomBytes(32)
  return STANDARD.has(provider) ? `whsec_${bytes.toString('base64')}` : bytes.toString('base64url')
}

export type Webhook = {
  app: string
  enabled: boolean
  provider: Provider
  secret: string
  updatedAt: number
}

/** What the intake needs to judge a delivery for `app`, in one query; undefined unless its webhook is on. */
export function webhookTarget(
  db: Db,
  app: string,
): { app: string; branch: string; provider: Provider; secret: string } | undefined {
  return db
    .prepare(
      `SELECT a.name AS app, a.branch, w.provider, w.secret FROM apps a
       JOIN webhooks w ON w.app = a.name WHERE a.name = ? AND w.enabled = 1`,
    )
    .get(app) as { app: string; branch: string; provider: Provider; secret: string } | undefined
}

export function getWebhook(db: Db, app: string): Webhook | undefined {
  const row = db.prepare('SELECT * FROM webhooks WHERE app = ?').get(app) as
    | { app: string; enabled: number; provider: Provider; secret: string; updated_at: number }
    | undefined
  return (
    row && {
      app: row.app,
      enabled: row.enabled === 1,
      provider: row.provider,
      secret: row.secret,
      updatedAt: row.updated_at,
    }
  )
}

function save(db: Db, hook: Omit<Webhook, 'updatedAt'>): Webhook {
  db.prepare(
    `INSERT INTO webhooks (app, enabled, provider, secret, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (app) DO UPDATE SET enabled = excluded.enabled, provider = excluded.provider,
       secret = excluded.secret, updated_at = excluded.updated_at`,
  ).run(hook.app, hook.enabled ? 1 : 0, hook.provider, hook.secret, Date.now())
  return getWebhook(db, hook.app) as Webhook
}

const MIN_SECRET = 16
const MAX_SECRET = 1024

function checkSecret(secret: string): string {
  if (secret.length < MIN_SECRET)
    throw new AppError(`the secret must be at least ${MIN_SECRET} characters`)
  if (secret.length > MAX_SECRET || /[\s\0]/.test(secret))
    throw new AppError('the secret must be one line without spaces')
  return secret
}

/**
 * Enables the app's webhook. A given secret (one the git host generated) is kept; otherwise the
 * existing secret is reused when the provider is unchanged, else a new one is made.
 */
export function enableWebhook(
  db: Db,
  app: string,
  options: { provider?: Provider; secret?: string },
): Webhook {
  requireApp(db, app)
  const current = getWebhook(db, app)
  const provider = options.provider ?? current?.provider ?? 'github'
  const secret =
    options.secret !== undefined
      ? checkSecret(options.secret)
      : current && current.provider === provider
        ? current.secret
        : newSecret(provider)
  return save(db, { app, enabled: true, provider, secret })
}

export function disableWebhook(db: Db, app: string): Webhook {
  requireApp(db, app)
  const current = getWebhook(db, app)
  if (!current) throw new AppError(`app "${app}" has no webhook`, 404)
  return save(db, { ...current, enabled: false })
}

/** A new secret (and optionally a new provider); the old secret stops working at once. */
export function rotateWebhook(db: Db, app: string, provider?: Provider): Webhook {
  requireApp(db, app)
  const current = getWebhook(db, app)
  if (!current) throw new AppError(`app "${app}" has no webhook: enable it first`, 404)
  const next = provider ?? current.provider
  return save(db, { app, enabled: current.enabled, provider: next, secret: newSecret(next) })
}

/** What the user must know when choosing a provider whose secret travels through the relay. */
export function providerNotes(provider: Provider): string[] {
  const bearer =
    'A CI trigger (Authorization: Bearer <secret>) shows the secret to the relay in transit; at worst that lets the relay ask for a redeploy of the branch head.'
  if (provider === 'gitlab') {
    return [
      "GitLab's plain X-Gitlab-Token travels through the relay in clear (it never logs it and stores it only sealed). Prefer GitLab's signing token: paste it with `webhook enable --secret-stdin`.",
      bearer,
    ]
  }
  return [bearer]
}

export type DeliveryRecord = {
  app: string
  relayId: string
  providerId: string | null
  provider: string | null
  event: string | null
  verified: boolean
  status: number
  result: string
  deployment: number | null
}

export function recordDelivery(db: Db, record: DeliveryRecord): void {
  db.prepare(
    `INSERT INTO deliveries (app, relay_id, provider_id, provider, event, verified, status, result, deployment, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    record.app,
    record.relayId,
    record.providerId,
    record.provider,
    record.event,
    record.verified ? 1 : 0,
    record.status,
    record.result,
    record.deployment,
    Date.now(),
  )
}

/** True when a verified delivery with this relay id, or this provider id for the app, was seen. */
export function seenDelivery(
  db: Db,
  app: string,
  relayId: string,
  providerId: string | null,
): boolean {
  const byRelay = db
    .prepare('SELECT 1 FROM deliveries WHERE relay_id = ? AND verified = 1 LIMIT 1')
    .get(relayId)
  if (byRelay || providerId === null) return Boolean(byRelay)
  return Boolean(
    db
      .prepare(
        'SELECT 1 FROM deliveries WHERE app = ? AND provider_id = ? AND verified = 1 LIMIT 1',
      )
      .get(app, providerId),
  )
}

export type DeliverySummary = {
  at: string
  event: string | null
  status: number
  result: string
  deployment: number | null
  deliveryId: string | null
}

export function recentDeliveries(db: Db, app: string, limit = 20): DeliverySummary[] {
  const rows = db
    .prepare(
      'SELECT received_at, event, status, result, deployment, provider_id FROM deliveries WHERE app = ? ORDER BY id DESC LIMIT ?',
    )
    .all(app, limit) as {
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
  db.prepare('DELETE FROM deliveries WHERE received_at < ?').run(now - KEEP_MS)
  db.prepare(
    `DELETE FROM deliveries WHERE id IN (
       SELECT id FROM (
         SELECT id, row_number() OVER (PARTITION BY app ORDER BY id DESC) AS r FROM deliveries WHERE verified = 0
       ) WHERE r > ?)`,
  ).run(KEEP_UNVERIFIED_PER_APP)
}

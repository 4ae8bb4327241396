// Per-app webhook settings: provider, secret, enabled.
import { randomBytes } from 'node:crypto'
import type { Provider } from '../api/contract.ts'
import { AppError } from '../core/errors.ts'
import { requireApp } from './apps.ts'
import { type Db, statement } from './db.ts'

/** Providers whose secret follows the Standard Webhooks format (`whsec_` + base64). */
const STANDARD = new Set<Provider>(['rev', 'standard'])

/** 32 random bytes: `whsec_`+base64 for Standard Webhooks providers, base64url for the others. */
export function newSecret(provider: Provider): string {
  const bytes = randomBytes(32)
  return STANDARD.has(provider) ? `whsec_${bytes.toString('base64')}` : bytes.toString('base64url')
}

/** A CI trigger's bearer token: 32 random bytes, prefixed so nobody takes it for a signing secret. */
export const newTriggerToken = () => `tht_${randomBytes(32).toString('hex')}`

export type Webhook = {
  app: string
  enabled: boolean
  provider: Provider
  secret: string
  /** `Authorization: Bearer` for CI triggers; never the signing secret (the relay sees it). */
  triggerToken: string
  updatedAt: number
}

export type WebhookTarget = {
  app: string
  branch: string
  /** `tags:GLOB` for a tag-tracked app (state/apps.ts). */
  track: string | null
  prereleases: boolean
  provider: Provider
  secret: string
  /** The CI trigger's bearer token, apart from the signing secret. */
  triggerToken: string
}

/** What the intake needs to judge a delivery for `app`, in one query; undefined unless its webhook is on. */
export function webhookTarget(db: Db, app: string): WebhookTarget | undefined {
  const row = statement(
    db,
    `SELECT a.name AS app, a.branch, a.track, a.prereleases, w.provider, w.secret,
       w.trigger_token AS triggerToken FROM apps a
       JOIN webhooks w ON w.app = a.name WHERE a.name = ? AND w.enabled = 1`,
  ).get(app) as (Omit<WebhookTarget, 'prereleases'> & { prereleases: number }) | undefined
  return row && { ...row, prereleases: row.prereleases === 1 }
}

export function getWebhook(db: Db, app: string): Webhook | undefined {
  const row = statement(db, 'SELECT * FROM webhooks WHERE app = ?').get(app) as
    | {
        app: string
        enabled: number
        provider: Provider
        secret: string
        trigger_token: string
        updated_at: number
      }
    | undefined
  return (
    row && {
      app: row.app,
      enabled: row.enabled === 1,
      provider: row.provider,
      secret: row.secret,
      triggerToken: row.trigger_token,
      updatedAt: row.updated_at,
    }
  )
}

function save(db: Db, hook: Omit<Webhook, 'updatedAt'>): Webhook {
  statement(
    db,
    `INSERT INTO webhooks (app, enabled, provider, secret, trigger_token, updated_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (app) DO UPDATE SET enabled = excluded.enabled, provider = excluded.provider,
       secret = excluded.secret, trigger_token = excluded.trigger_token, updated_at = excluded.updated_at`,
  ).run(hook.app, hook.enabled ? 1 : 0, hook.provider, hook.secret, hook.triggerToken, Date.now())
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
  const triggerToken = current?.triggerToken || newTriggerToken()
  return save(db, { app, enabled: true, provider, secret, triggerToken })
}

export function disableWebhook(db: Db, app: string): Webhook {
  requireApp(db, app)
  const current = getWebhook(db, app)
  if (!current) throw new AppError(`app "${app}" has no webhook`, 404)
  return save(db, { ...current, enabled: false })
}

/** A new secret and trigger token (optionally for a new provider); the old ones stop working at once. */
export function rotateWebhook(db: Db, app: string, provider?: Provider): Webhook {
  requireApp(db, app)
  const current = getWebhook(db, app)
  if (!current) throw new AppError(`app "${app}" has no webhook: enable it first`, 404)
  const next = provider ?? current.provider
  return save(db, {
    app,
    enabled: current.enabled,
    provider: next,
    secret: newSecret(next),
    triggerToken: newTriggerToken(),
  })
}

/** What the user must know when choosing a provider whose secret travels through the relay. */
export function providerNotes(provider: Provider): string[] {
  const bearer =
    'A CI trigger (Authorization: Bearer <trigger token>) shows that token to the relay in transit; at worst that lets the relay ask for a redeploy of the branch head. It never signs deliveries.'
  if (provider === 'gitlab') {
    return [
      "GitLab's plain X-Gitlab-Token travels through the relay in clear (it never logs it and stores it only sealed). Prefer GitLab's signing token: paste it with `webhook enable --secret-stdin`.",
      bearer,
    ]
  }
  return [bearer]
}

/** Apps whose webhook is on: the ones convergence looks at after the tunnel (re)connects. */
export function webhookApps(db: Db): string[] {
  return (
    statement(db, 'SELECT app FROM webhooks WHERE enabled = 1 ORDER BY app').all() as {
      app: string
    }[]
  ).map((row) => row.app)
}

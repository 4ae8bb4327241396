// /apps/:app/webhook: enable, disable, rotate, status, and registration on the git host. The
// secret appears only in the answers to enable and rotate.
import { Hono } from 'hono'
import * as v from 'valibot'
import { requireApp } from '../state/apps.ts'
import { getRegistration } from '../state/hooks.ts'
import {
  disableWebhook,
  enableWebhook,
  providerNotes,
  rotateWebhook,
  type Webhook,
} from '../state/webhooks.ts'
import { type ApiDeps, readJson } from './context.ts'
import { PROVIDERS, type RegisterOutcome, type WebhookIssued } from './contract.ts'
import { webhookStatus, webhookUrl } from './status.ts'

/** A webhook as the answers that issue its secret show it (enable, rotate, apply). */
export const issuedWebhook = (
  deps: ApiDeps,
  hook: Webhook,
  registration: RegisterOutcome | null = null,
): WebhookIssued => ({
  app: hook.app,
  url: webhookUrl(deps, hook.app),
  secret: hook.secret,
  triggerToken: hook.triggerToken,
  provider: hook.provider,
  enabled: hook.enabled,
  notes: providerNotes(hook.provider),
  registration,
})

export function webhookRoutes(deps: ApiDeps) {
  const { db, hooks } = deps
  const withSecret = (hook: Webhook, registration: RegisterOutcome | null) =>
    issuedWebhook(deps, hook, registration)
  /** Registers, then waits a few seconds for the host's test delivery to come back. */
  const register = async (app: string, poll: boolean) => {
    const since = Date.now()
    const outcome = await hooks.register(app, { poll })
    if (outcome.mode === 'auto' && outcome.test.event) {
      outcome.test.arrived = await hooks.waitForTest(app, since)
    }
    return outcome
  }
  return new Hono()
    .get('/apps/:app/webhook', async (c) => {
      const app = requireApp(db, c.req.param('app')).name
      // ?check=1 asks the host whether the hook is still there (a person is looking).
      if (c.req.query('check') === '1') await hooks.check(app)
      return c.json(webhookStatus(deps, app))
    })
    .post('/apps/:app/webhook/enable', async (c) => {
      const body = await readJson(
        c,
        v.object({
          provider: v.optional(v.picklist(PROVIDERS)),
          secret: v.optional(v.string()),
          register: v.optional(v.boolean(), false),
          poll: v.optional(v.boolean(), false),
        }),
      )
      const hook = enableWebhook(db, c.req.param('app'), body)
      const registration = body.register || body.poll ? await register(hook.app, body.poll) : null
      return c.json(withSecret(hook, registration))
    })
    .post('/apps/:app/webhook/disable', async (c) => {
      const hook = disableWebhook(db, c.req.param('app'))
      const note = await hooks.deregister(hook.app)
      return c.json({
        app: hook.app,
        enabled: false,
        provider: hook.provider,
        url: webhookUrl(deps, hook.app),
        notes: note ? [note] : [],
      })
    })
    .post('/apps/:app/webhook/rotate', async (c) => {
      const body = await readJson(c, v.object({ provider: v.optional(v.picklist(PROVIDERS)) }))
      const hook = rotateWebhook(db, c.req.param('app'), body.provider)
      // An auto hook gets the new secret on the host in the same step.
      const auto = getRegistration(db, hook.app)?.mode === 'auto'
      return c.json(withSecret(hook, auto ? await register(hook.app, false) : null))
    })
    .post('/webhooks/register-all', async (c) => {
      const since = Date.now()
      const outcomes = await hooks.registerAll()
      await Promise.all(
        outcomes.map(async (outcome) => {
          if (outcome.mode === 'auto' && outcome.test.event) {
            outcome.test.arrived = await hooks.waitForTest(outcome.app, since)
          }
        }),
      )
      return c.json(outcomes)
    })
}

// /apps/:app/webhook: enable, disable, rotate, status. The secret appears only in the answers
// to enable and rotate.
import { Hono } from 'hono'
import { z } from 'zod'
import { requireApp } from '../state/apps.ts'
import {
  disableWebhook,
  enableWebhook,
  providerNotes,
  rotateWebhook,
  type Webhook,
} from '../state/webhooks.ts'
import { type ApiDeps, readJson } from './context.ts'
import { PROVIDERS } from './contract.ts'
import { webhookStatus, webhookUrl } from './status.ts'

export function webhookRoutes(deps: ApiDeps) {
  const { db } = deps
  const withSecret = (hook: Webhook) => ({
    app: hook.app,
    url: webhookUrl(deps, hook.app),
    secret: hook.secret,
    triggerToken: hook.triggerToken,
    provider: hook.provider,
    enabled: hook.enabled,
    notes: providerNotes(hook.provider),
  })
  return new Hono()
    .get('/apps/:app/webhook', (c) =>
      c.json(webhookStatus(deps, requireApp(db, c.req.param('app')).name)),
    )
    .post('/apps/:app/webhook/enable', async (c) => {
      const body = await readJson(
        c,
        z.object({ provider: z.enum(PROVIDERS).optional(), secret: z.string().optional() }),
      )
      return c.json(withSecret(enableWebhook(db, c.req.param('app'), body)))
    })
    .post('/apps/:app/webhook/disable', (c) => {
      const hook = disableWebhook(db, c.req.param('app'))
      return c.json({
        app: hook.app,
        enabled: false,
        provider: hook.provider,
        url: webhookUrl(deps, hook.app),
      })
    })
    .post('/apps/:app/webhook/rotate', async (c) => {
      const body = await readJson(c, z.object({ provider: z.enum(PROVIDERS).optional() }))
      return c.json(withSecret(rotateWebhook(db, c.req.param('app'), body.provider)))
    })
}

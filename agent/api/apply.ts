// POST /apply: make the apps match a file (`toehold apply`), or with dryRun say what that would
// change. GET /export: the apps as such a file, without secrets (`toehold export`).
import { Hono } from 'hono'
import * as v from 'valibot'
import { readFile, toFileEntry } from '../apply/file.ts'
import { plan } from '../apply/plan.ts'
import { apply, FileRefused } from '../apply/run.ts'
import { showPath } from '../core/format.ts'
import type { Problem } from '../core/validate.ts'
import { listApps } from '../state/apps.ts'
import { listEnv } from '../state/env.ts'
import { getWebhook } from '../state/webhooks.ts'
import { type ApiDeps, readJson } from './context.ts'
import type { ApplyRefusal, ApplyResult, RegisterOutcome } from './contract.ts'
import { issuedWebhook } from './webhooks.ts'

const refusal = (problem: Problem): ApplyRefusal => ({
  error: `${showPath(problem.path)}: ${problem.message}`,
  path: problem.path,
})

export function applyRoutes(deps: ApiDeps) {
  const { db } = deps
  return new Hono()
    .post('/apply', async (c) => {
      const body = await readJson(
        c,
        v.object({
          file: v.unknown(),
          dryRun: v.optional(v.boolean(), false),
          prune: v.optional(v.boolean(), false),
        }),
      )
      const read = readFile(body.file)
      if ('problem' in read) return c.json(refusal(read.problem), 400)
      const { steps, unlisted } = plan(db, read.apps, body.prune)
      const result: ApplyResult = {
        dryRun: body.dryRun,
        steps,
        unlisted,
        webhooks: [],
        deployments: [],
      }
      if (body.dryRun) return c.json(result)
      try {
        const applied = await apply(deps, read.apps, steps)
        // `[apps.webhook] register = true`: the hook on the git host, idempotently, every time.
        const registered = new Map<string, RegisterOutcome>()
        for (const app of read.apps) {
          if (!app.webhook?.register) continue
          const outcome = await deps.hooks.register(app.name)
          registered.set(app.name, outcome)
          if (outcome.mode !== 'auto')
            applied.notes.set(app.name, [
              ...(applied.notes.get(app.name) ?? []),
              `webhook not registered: ${outcome.reason ?? 'unknown reason'}`,
            ])
        }
        for (const step of steps) step.notes.push(...(applied.notes.get(step.app) ?? []))
        result.webhooks = applied.webhooks.map((hook) =>
          issuedWebhook(deps, hook, registered.get(hook.app) ?? null),
        )
        result.deployments = applied.deployments
      } catch (error) {
        if (error instanceof FileRefused) return c.json(refusal(error.problem), 400)
        throw error
      }
      return c.json(result)
    })
    .get('/export', (c) =>
      c.json({
        apps: listApps(db).map((app) => {
          const hook = getWebhook(db, app.name)
          return toFileEntry(app, Object.keys(listEnv(db, app.name)), hook?.enabled ? hook : null)
        }),
      }),
    )
}

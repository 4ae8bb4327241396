// /env: variables for apps and git, global (scope "") or per app. Values are shown only to the
// holder of the API key; they never reach a log.
import { Hono } from 'hono'
import * as v from 'valibot'
import { AppError } from '../core/errors.ts'
import { requireApp } from '../state/apps.ts'
import { listEnv, setEnv, unsetEnv } from '../state/env.ts'
import { type ApiDeps, readJson } from './context.ts'

export function envRoutes(deps: ApiDeps) {
  const { db } = deps
  const scopeOf = (app: string | undefined) => (app ? requireApp(db, app).name : '')
  return new Hono()
    .get('/env', (c) => c.json(listEnv(db, scopeOf(c.req.query('app')))))
    .put('/env', async (c) => {
      const body = await readJson(
        c,
        v.object({ app: v.optional(v.string()), key: v.string(), value: v.string() }),
      )
      const scope = scopeOf(body.app)
      if (scope === '' && body.key === 'GIT_TOKEN' && !('GIT_TOKEN_HOST' in listEnv(db, '')))
        throw new AppError(
          'a global GIT_TOKEN goes to one host only: name it (toehold env set -g GIT_TOKEN --host github.com --value-stdin)',
        )
      setEnv(db, scope, body.key, body.value)
      return c.json({ app: body.app ?? null, key: body.key, set: true })
    })
    .delete('/env', async (c) => {
      const body = await readJson(c, v.object({ app: v.optional(v.string()), key: v.string() }))
      return c.json({
        app: body.app ?? null,
        key: body.key,
        removed: unsetEnv(db, scopeOf(body.app), body.key),
      })
    })
}

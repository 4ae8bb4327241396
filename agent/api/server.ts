// The agent's local API (and, at /, the dashboard): 127.0.0.1 by default, the API key (or a
// dashboard session signed in with it) required for everything but /health and the sign-in.
import { Hono } from 'hono'
import { sameSecret } from '../../shared/secrets.ts'
import { AppError } from '../core/errors.ts'
import { csrfProblem } from '../dashboard/guard.ts'
import { createDashboard } from '../dashboard/index.ts'
import { appRoutes } from './apps.ts'
import type { ApiDeps } from './context.ts'
import { deployRoutes } from './deploys.ts'
import { envRoutes } from './env.ts'
import { eventRoutes } from './events.ts'
import { webhookRoutes } from './webhooks.ts'

/** `Authorization: Bearer <key>` or `Token <key>`. */
function presentedKey(header: string | undefined): string | null {
  return /^(?:Bearer|Token) (\S+)$/.exec(header ?? '')?.[1] ?? null
}

export function createApi(deps: ApiDeps) {
  const api = new Hono()

  const dashboard = createDashboard(deps)

  api.get('/health', (c) => c.json({ ok: true }))
  api.route('/', dashboard.open)

  // The API key in a header (the CLI), or the dashboard's session cookie: a browser sends that
  // by itself, so state-changing requests with it must also pass the CSRF checks.
  api.use('*', async (c, next) => {
    const key = presentedKey(c.req.header('authorization'))
    if (key !== null && sameSecret(key, deps.apiKey)) return next()
    const session = dashboard.sessions.of(c)
    if (session) {
      const refused = await csrfProblem(c, session)
      return refused ? c.json({ error: refused }, 403) : next()
    }
    if (dashboard.isPage(c)) return dashboard.signIn(c)
    return c.json(
      {
        error: 'unauthorized: send Authorization: Bearer <API key> (see TOEHOLD_HOME/agent.json)',
      },
      401,
    )
  })

  api.route('/', dashboard.pages)

  api.get('/metrics', async (c) =>
    c.text(await deps.metrics.registry.metrics(), 200, {
      'content-type': deps.metrics.registry.contentType,
    }),
  )
  api.route('/', appRoutes(deps))
  api.route('/', webhookRoutes(deps))
  api.route('/', deployRoutes(deps))
  api.route('/', envRoutes(deps))
  api.route('/', eventRoutes(deps))

  api.notFound((c) => c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path}` }, 404))
  api.onError((error, c) => {
    if (error instanceof AppError) return c.json({ error: error.message }, error.status)
    deps.log.error({ err: error, path: c.req.path }, 'API request failed')
    return c.json({ error: 'internal error' }, 500)
  })
  return api
}

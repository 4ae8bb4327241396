// The agent's local API: 127.0.0.1 by default, the API key required for everything but /health.
// A browser front end (the dashboard) can be served beside it: its sessions then stand in for the
// key, as long as state-changing requests pass its CSRF checks.
import { isIP } from 'node:net'
import { type Context, Hono } from 'hono'
import { sameSecret } from '../../shared/secrets.ts'
import { AppError } from '../core/errors.ts'
import { applyRoutes } from './apply.ts'
import { appRoutes } from './apps.ts'
import type { ApiDeps } from './context.ts'
import { deployRoutes } from './deploys.ts'
import { doctorRoutes } from './doctor.ts'
import { envRoutes } from './env.ts'
import { eventRoutes } from './events.ts'
import { notifyRoutes } from './notify.ts'
import { webhookRoutes } from './webhooks.ts'

/** What the dashboard brings to the API's server (it implements this; the API never imports it). */
export type Frontend = {
  /** Routes that need no credentials: its assets and the sign-in itself. */
  open: Hono
  /** Its pages, behind the same authentication as the API. */
  pages: Hono
  /**
   * Authenticates a request by its session: null when it carries none, else `{ refused }` with
   * the reason a state-changing request fails the CSRF checks, or null when it passes.
   */
  session(c: Context): Promise<{ refused: string | null } | null>
  /** A signed-out browser asking for a page: where it goes instead of a 401 (the sign-in). */
  signIn(c: Context): Response | null | Promise<Response | null>
}

/** `Authorization: Bearer <key>` or `Token <key>`. */
function presentedKey(header: string | undefined): string | null {
  return /^(?:Bearer|Token) (\S+)$/.exec(header ?? '')?.[1] ?? null
}

/**
 * Whether a request's Host names this agent: loopback names and IP literals always, else one of
 * `names`. A web page on another site whose name was rebound to 127.0.0.1 sends its own name.
 */
function hostAllowed(host: string | undefined, names: readonly string[]): boolean {
  if (!host) return false
  const name = (
    /^\[([^\]]+)\](?::\d+)?$/.exec(host)?.[1] ?? host.replace(/:\d+$/, '')
  ).toLowerCase()
  return (
    isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost') || names.includes(name)
  )
}

export function createApi(deps: ApiDeps, frontend?: Frontend) {
  const api = new Hono()

  api.use('*', async (c, next) => {
    if (hostAllowed(c.req.header('host'), deps.apiNames)) return next()
    return c.json(
      {
        error: `this agent does not answer to the host name in Host: add it with --api-name (localhost and IP addresses always work)`,
      },
      421,
    )
  })

  api.get('/health', (c) => c.json({ ok: true }))
  if (frontend) api.route('/', frontend.open)

  api.use('*', async (c, next) => {
    const key = presentedKey(c.req.header('authorization'))
    if (key !== null && sameSecret(key, deps.apiKey)) return next()
    const session = await frontend?.session(c)
    if (session) return session.refused ? c.json({ error: session.refused }, 403) : next()
    const signIn = await frontend?.signIn(c)
    if (signIn) return signIn
    return c.json(
      {
        error:
          'unauthorized: send Authorization: Bearer <API key> (see TOEHOLD_HOME/agent/agent.json)',
      },
      401,
    )
  })

  if (frontend) api.route('/', frontend.pages)

  api.get('/metrics', async (c) =>
    c.text(await deps.metrics.registry.metrics(), 200, {
      'content-type': deps.metrics.registry.contentType,
    }),
  )
  api.route('/', appRoutes(deps))
  api.route('/', webhookRoutes(deps))
  api.route('/', deployRoutes(deps))
  api.route('/', envRoutes(deps))
  api.route('/', notifyRoutes(deps))
  api.route('/', eventRoutes(deps))
  api.route('/', applyRoutes(deps))
  api.route('/', doctorRoutes(deps))

  api.notFound((c) => c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path}` }, 404))
  api.onError((error, c) => {
    if (error instanceof AppError) return c.json({ error: error.message }, error.status)
    deps.log.error({ err: error, path: c.req.path }, 'API request failed')
    return c.json({ error: 'internal error' }, 500)
  })
  return api
}

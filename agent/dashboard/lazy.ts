// The lazy boundary of the dashboard: the API mounts its routes at start, and its code (views,
// sessions, assets; ~1-2 MiB of an idle agent) is loaded at the first request that needs it.
import { type Context, Hono } from 'hono'
import type { ApiDeps } from '../api/context.ts'
import type { Frontend } from '../api/server.ts'
import { isPage, OPEN_ROUTES, PAGE_ROUTES } from './routes.ts'

export function lazyDashboard(deps: ApiDeps): Frontend {
  let loaded: Promise<Frontend> | null = null
  const dashboard = () =>
    (loaded ??= import('./index.ts').then(({ createDashboard }) => {
      const frontend = createDashboard(deps)
      // Errors go on to the API's onError, as they did when its routes were the API's own.
      for (const app of [frontend.open, frontend.pages])
        app.onError((error) => {
          throw error
        })
      return frontend
    }))

  /** The same routes, each handing its request to the loaded dashboard's own. */
  const forward = (routes: typeof OPEN_ROUTES, part: 'open' | 'pages') => {
    const app = new Hono()
    for (const [method, path] of routes)
      app.on(method, path, async (c) => (await dashboard())[part].fetch(c.req.raw, c.env))
    return app
  }

  return {
    open: forward(OPEN_ROUTES, 'open'),
    pages: forward(PAGE_ROUTES, 'pages'),
    // No cookie, no session: a request with neither key nor cookie needs no dashboard to say so.
    session: async (c: Context) => (c.req.header('cookie') ? (await dashboard()).session(c) : null),
    signIn: async (c: Context) => (isPage(c) ? (await dashboard()).signIn(c) : null),
  }
}

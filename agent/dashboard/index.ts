// The dashboard at /: sign-in with the API key, the apps list, and a page per app. Pages are
// rendered here; a small script (assets/dashboard.js) drives the buttons and live parts through
// the same JSON API the CLI uses, authorised by the session cookie plus its CSRF token. Loaded
// at the first request that needs it, through lazy.ts; its routes are listed in routes.ts.

import type { Context } from 'hono'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { html } from 'hono/html'
import { sameSecret } from '../../shared/secrets.ts'
import type { ApiDeps } from '../api/context.ts'
import type { Frontend } from '../api/server.ts'
import { isolation } from '../core/sandbox.ts'
import { getApp } from '../state/apps.ts'
import { assetRoutes } from './assets.ts'
import { csrfProblem, foreignOrigin } from './guard.ts'
import { appPage, overview } from './model.ts'
import { isPage } from './routes.ts'
import { clearSessionCookie, createSessions, type Session, setSessionCookie } from './session.ts'
import { appBody } from './views/app.ts'
import { overviewBody } from './views/apps.ts'
import { type Html, layout } from './views/layout.ts'
import { signInPage } from './views/signin.ts'

const PAGE_HEADERS = {
  // Only our own script and styles run; no framing (clickjacking), no inline code.
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  // Pages carry the CSRF token and fresh state: never cache them.
  'cache-control': 'no-store',
}

const page = (c: Context, body: Html, status: 200 | 401 | 403 | 404 = 200) =>
  c.html(body, status, PAGE_HEADERS)

/** Where to go after signing in: only our own pages, never another site. */
const nextPage = (value: unknown) =>
  typeof value === 'string' && /^\/(app\/[a-z0-9][a-z0-9_-]{0,62})?$/.test(value) ? value : '/'

export function createDashboard(deps: ApiDeps) {
  const sessions = createSessions()

  const header = (session: Session) => ({
    csrf: session.csrf,
    relay: deps.tunnel(),
    sandbox: isolation(),
  })

  /** A signed-out browser asking for a page: the sign-in form (it comes back here after). */
  const signIn = (c: Context) =>
    c.req.path === '/'
      ? page(c, signInPage({ next: nextPage(c.req.query('next')) }))
      : c.redirect(`/?next=${encodeURIComponent(c.req.path)}`, 303)

  /** What needs no credentials: the static assets and the sign-in itself. */
  const open = new Hono()
    .route('/', assetRoutes())
    .post('/login', bodyLimit({ maxSize: 16 * 1024 }), async (c) => {
      const form = await c.req.parseBody()
      const next = nextPage(form.next)
      // Login CSRF: a foreign page must not sign the browser in, even with a key it knows.
      const foreign = foreignOrigin(c)
      if (foreign) return page(c, signInPage({ next, error: `Refused: ${foreign}.` }), 403)
      const key = typeof form.key === 'string' ? form.key.trim() : ''
      if (!sameSecret(key, deps.apiKey)) {
        deps.log.warn(
          { remote: c.req.header('x-forwarded-for') ?? null },
          'dashboard: wrong API key',
        )
        return page(c, signInPage({ next, error: 'That is not this agent’s API key.' }), 401)
      }
      setSessionCookie(c, sessions.open())
      return c.redirect(next, 303)
    })
    // Open too, so a tab left from before an agent restart can still sign out cleanly.
    .post('/logout', async (c) => {
      const session = sessions.of(c)
      if (session) {
        const refused = await csrfProblem(c, session)
        if (refused) return c.json({ error: refused }, 403)
        sessions.close(session)
      }
      clearSessionCookie(c)
      return c.redirect('/', 303)
    })

  /** Pages for a signed-in browser (the API's auth middleware runs first). */
  const pages = new Hono()
    .get('/', (c) => {
      const session = sessions.of(c)
      if (!session) return signIn(c)
      return page(
        c,
        layout({
          title: 'Apps',
          session: header(session),
          body: overviewBody(overview(deps)),
        }),
      )
    })
    .get('/app/:app', (c) => {
      const session = sessions.of(c)
      if (!session) return signIn(c)
      const app = getApp(deps.db, c.req.param('app'))
      const all = overview(deps)
      const { apps } = all
      if (!app) {
        return page(
          c,
          layout({
            title: 'No such app',
            session: header(session),
            body: html`<p class="error" role="alert">No app “${c.req.param('app')}”.</p>${overviewBody(all)}`,
          }),
          404,
        )
      }
      return page(
        c,
        layout({
          title: app.name,
          session: header(session),
          app: app.name,
          body: appBody(apps, appPage(deps, app)),
        }),
      )
    })

  const frontend: Frontend = {
    open,
    pages,
    async session(c) {
      const session = sessions.of(c)
      return session ? { refused: await csrfProblem(c, session) } : null
    },
    signIn: (c) => (isPage(c) ? signIn(c) : null),
  }
  return frontend
}

// The dashboard's routes without their code: what the API mounts before the dashboard is loaded
// (lazy.ts). index.ts serves exactly these; test/lazy-loading.test.ts holds the two together.
import type { Context } from 'hono'

type Route = readonly ['GET' | 'POST', string]

/** Served without credentials: the assets, signing in and out. */
export const OPEN_ROUTES: readonly Route[] = [
  ['GET', '/assets/:name'],
  ['POST', '/login'],
  ['POST', '/logout'],
]

/** Pages, behind the API's authentication (a session or the key). */
export const PAGE_ROUTES: readonly Route[] = [
  ['GET', '/'],
  ['GET', '/app/:app'],
]

/** A page a signed-out browser may ask for: it gets the sign-in instead of a 401. */
export const isPage = (c: Context) =>
  (c.req.method === 'GET' || c.req.method === 'HEAD') &&
  (c.req.path === '/' || c.req.path.startsWith('/app/'))

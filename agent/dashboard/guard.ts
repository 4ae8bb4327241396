// CSRF defences for requests made with the session cookie (the API key in a header needs none:
// a browser never adds it by itself). Besides SameSite=Strict, a state-changing request must come
// from this very origin and echo the session's CSRF token.
import type { Context } from 'hono'
import { sameSecret } from '../../shared/secrets.ts'
import { overHttps, type Session } from './session.ts'

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

export const isSafe = (method: string) => SAFE.has(method)

/** The origin the browser used to reach us (a TLS proxy in front keeps the scheme honest). */
function ourOrigin(c: Context): string {
  const url = new URL(c.req.url)
  url.protocol = overHttps(c) ? 'https:' : 'http:'
  return url.origin
}

/** Why a request is not from one of our own pages (Fetch Metadata, then Origin or Referer), or null. */
export function foreignOrigin(c: Context): string | null {
  const site = c.req.header('sec-fetch-site')
  if (site !== undefined && site !== 'same-origin') return `cross-site request (${site})`
  const claimed = c.req.header('origin') ?? c.req.header('referer')
  if (!claimed) return 'request without Origin or Referer'
  let origin: string
  try {
    origin = new URL(claimed).origin
  } catch {
    return 'request from an unknown origin'
  }
  return origin === ourOrigin(c) ? null : `cross-origin request from ${origin}`
}

/** The CSRF token a request carries: the X-CSRF-Token header, or a form's `_csrf` field. */
async function presentedToken(c: Context): Promise<string | undefined> {
  const header = c.req.header('x-csrf-token')
  if (header !== undefined) return header
  const type = c.req.header('content-type') ?? ''
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(type)) return undefined
  const field = (await c.req.parseBody())._csrf
  return typeof field === 'string' ? field : undefined
}

/** Why a request made with the session cookie is refused, or null when it may go on. */
export async function csrfProblem(c: Context, session: Session): Promise<string | null> {
  if (isSafe(c.req.method)) return null
  const foreign = foreignOrigin(c)
  if (foreign) return `forbidden: ${foreign}`
  const token = await presentedToken(c)
  if (token === undefined || !sameSecret(token, session.csrf))
    return 'forbidden: missing or wrong CSRF token (reload the dashboard)'
  return null
}

// Dashboard sessions: signing in with the API key gives a random session id in an HttpOnly,
// SameSite=Strict cookie scoped to this agent (see cookieName). Sessions live in memory only (an agent restart signs everyone out) and
// each carries its own CSRF token, which every state-changing request must echo.
import { randomBytes } from 'node:crypto'
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'

const TTL_MS = 12 * 3_600_000
/** Old sessions make way for new ones: repeated sign-ins cannot grow memory without bound. */
const MAX_SESSIONS = 64

export type Session = { id: string; csrf: string; expires: number }

export type Sessions = ReturnType<typeof createSessions>

export function createSessions(now: () => number = Date.now) {
  const sessions = new Map<string, Session>()
  const token = () => randomBytes(32).toString('base64url')
  return {
    open(): Session {
      for (const [id, session] of sessions) if (session.expires <= now()) sessions.delete(id)
      while (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value as string)
      const session = { id: token(), csrf: token(), expires: now() + TTL_MS }
      sessions.set(session.id, session)
      return session
    },
    /** The live session the request's cookie names, if any. */
    of(c: Context): Session | null {
      const id = getCookie(c, cookieName(c))
      const session = id ? sessions.get(id) : undefined
      if (!session) return null
      if (session.expires > now()) return session
      sessions.delete(session.id)
      return null
    },
    close(session: Session): void {
      sessions.delete(session.id)
    },
  }
}

/** Served over TLS, directly or behind a proxy that says so. */
export function overHttps(c: Context): boolean {
  const forwarded = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim()
  return (forwarded ?? new URL(c.req.url).protocol.slice(0, -1)) === 'https'
}

/**
 * The session cookie's name. Over HTTPS a `__Host-` cookie, which browsers bind to this origin
 * (Secure, no Domain, Path=/). Over plain HTTP a name per port: cookies ignore ports, so another
 * agent or any other server on the same host name would otherwise share (and could overwrite) it.
 */
export function cookieName(c: Context): string {
  if (overHttps(c)) return '__Host-toehold_session'
  const url = new URL(c.req.url)
  return `toehold_session_${url.port || '80'}`
}

export function setSessionCookie(c: Context, session: Session): void {
  setCookie(c, cookieName(c), session.id, {
    httpOnly: true,
    sameSite: 'Strict',
    path: '/',
    secure: overHttps(c),
    maxAge: Math.floor(TTL_MS / 1000),
  })
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, cookieName(c), {
    httpOnly: true,
    sameSite: 'Strict',
    path: '/',
    secure: overHttps(c),
  })
}

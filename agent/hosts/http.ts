// One request to a git host's API: the token in the Authorization header only (never in a URL or
// a message), a timeout, retries with backoff for what may pass (network errors, 5xx, rate
// limits), waits as long as the host says (Retry-After, X-RateLimit-Reset, RateLimit-Reset), and
// one write at a time per host, as GitHub asks of integrations.
import { VERSION } from '../../shared/version.ts'

/** What a host answered when it refused; `message` is the host's own words. */
export class HostError extends Error {
  override name = 'HostError'
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

export type HostHttp = {
  /** API base, e.g. https://api.github.com or https://gitlab.example/api/v4. */
  base: string
  /** Header lines every request carries (auth, media type). */
  headers: Record<string, string>
  /** Reads the host's error body into one line. */
  errorText(status: number, body: unknown): string
  /** Budget of one call: attempts in all, and the longest wait the host may ask for. */
  attempts?: number
  maxWaitMs?: number
  timeoutMs?: number
  /** First backoff step; doubles per attempt. */
  backoffMs?: number
}

export type HostResponse<T> = { status: number; body: T; headers: Headers }

const writeQueues = new Map<string, Promise<unknown>>()

/** Runs `task` after every earlier write to the same origin has ended. */
function serialize<T>(origin: string, task: () => Promise<T>): Promise<T> {
  const previous = writeQueues.get(origin) ?? Promise.resolve()
  const next = previous.then(task, task)
  const settled = next.catch(() => {})
  writeQueues.set(origin, settled)
  void settled.then(() => {
    if (writeQueues.get(origin) === settled) writeQueues.delete(origin)
  })
  return next
}

/**
 * How long the host asks us to wait before the next try, in ms, or null when the answer is not
 * a rate limit. GitHub: 429, or 403 with `retry-after` or `x-ratelimit-remaining: 0`; GitLab:
 * 429 with `RateLimit-Reset`; Gitea and Bitbucket: 429.
 */
export function rateLimitWait(status: number, headers: Headers, now = Date.now()): number | null {
  const retryAfter = headers.get('retry-after')
  const remaining = headers.get('x-ratelimit-remaining') ?? headers.get('ratelimit-remaining')
  const limited = status === 429 || (status === 403 && (retryAfter !== null || remaining === '0'))
  if (!limited) return null
  if (retryAfter !== null) {
    const seconds = Number(retryAfter)
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
    const date = Date.parse(retryAfter)
    if (Number.isFinite(date)) return Math.max(0, date - now)
  }
  const reset = headers.get('x-ratelimit-reset') ?? headers.get('ratelimit-reset')
  if (reset !== null && Number.isFinite(Number(reset))) {
    return Math.max(0, Number(reset) * 1000 - now)
  }
  return 60_000
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text()
  if (text === '') return null
  try {
    return JSON.parse(text)
  } catch {
    return text.slice(0, 300)
  }
}

/**
 * Sends one API request (`path` is below the base, or an absolute URL on the same origin, as
 * pagination links are). Throws HostError with the host's reason once retries are used up.
 */
export async function hostRequest<T>(
  http: HostHttp,
  method: string,
  path: string,
  body?: unknown,
): Promise<HostResponse<T>> {
  const url = path.startsWith('http') ? new URL(path) : new URL(`${http.base}${path}`)
  // A token goes to its own host only: never follow a link elsewhere.
  if (url.origin !== new URL(http.base).origin) {
    throw new HostError(0, `refusing to send the token to ${url.origin}`)
  }
  const attempts = http.attempts ?? 4
  const maxWait = http.maxWaitMs ?? 60_000
  const send = async (): Promise<HostResponse<T>> => {
    let last = new HostError(0, 'no attempt made')
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let wait = (http.backoffMs ?? 500) * 2 ** (attempt - 1)
      let response: Response
      let parsed: unknown
      try {
        response = await fetch(url, {
          method,
          headers: {
            'user-agent': `toehold/${VERSION}`,
            ...http.headers,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(http.timeoutMs ?? 10_000),
          redirect: 'manual',
        })
        parsed = await readBody(response)
      } catch (error) {
        const reason = (error as Error).name === 'TimeoutError' ? 'timed out' : 'unreachable'
        last = new HostError(0, `${url.origin} ${reason}`)
        if (attempt < attempts) await sleep(wait)
        continue
      }
      if (response.status < 300) {
        return { status: response.status, body: parsed as T, headers: response.headers }
      }
      last = new HostError(response.status, http.errorText(response.status, parsed))
      const limit = rateLimitWait(response.status, response.headers)
      if (limit !== null) {
        if (limit > maxWait) {
          throw new HostError(
            response.status,
            `rate limited for ${Math.ceil(limit / 1000)} s more: ${last.message}`,
          )
        }
        wait = limit
      } else if (response.status < 500) {
        throw last
      }
      if (attempt < attempts) await sleep(wait)
    }
    throw last
  }
  return method === 'GET' ? send() : serialize(url.origin, send)
}

/** Every page of a list, following `Link: <…>; rel="next"` (GitHub, GitLab, Gitea). */
export async function allPages<T>(http: HostHttp, path: string, maxPages = 50): Promise<T[]> {
  const items: T[] = []
  let next: string | null = path
  for (let page = 0; next && page < maxPages; page++) {
    const response: HostResponse<T[]> = await hostRequest<T[]>(http, 'GET', next)
    items.push(...(response.body ?? []))
    next = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '')?.[1] ?? null
  }
  return items
}

/** The request's answer, or undefined when the host says 404: a hook someone already deleted. */
export async function unlessMissing<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request
  } catch (error) {
    if (error instanceof HostError && error.status === 404) return undefined
    throw error
  }
}

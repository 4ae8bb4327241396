// The answers the agent gives in an app's place: 503 while it has no live release, 502 when the
// release broke the request, 404 for a Host no app claims. JSON for programs, a small HTML page
// for browsers (by Accept). They name the app and the reason, never a path, a port or a commit.
import type { IncomingMessage, ServerResponse } from 'node:http'

export type Refusal = {
  status: 404 | 502 | 503
  /** One sentence a visitor can read. */
  error: string
  app: string | null
  /** Seconds; 503 only. */
  retryAfter?: number
}

const TITLES = { 404: 'Not found', 502: 'Bad gateway', 503: 'Unavailable' } as const

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  )

function html(refusal: Refusal): string {
  const title = `${refusal.status} ${TITLES[refusal.status]}`
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${title}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}p{color:#555}</style></head>
<body><h1>${title}</h1><p>${escapeHtml(refusal.error)}</p>${refusal.retryAfter ? `<p>Try again in ${refusal.retryAfter} s.</p>` : ''}</body></html>\n`
}

const wantsHtml = (req: IncomingMessage) => /\btext\/html\b/.test(req.headers.accept ?? '')

export function refuse(req: IncomingMessage, res: ServerResponse, refusal: Refusal): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const browser = wantsHtml(req)
  const body = browser
    ? html(refusal)
    : `${JSON.stringify({ error: refusal.error, app: refusal.app })}\n`
  res.writeHead(refusal.status, {
    'content-type': browser ? 'text/html; charset=utf-8' : 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...(refusal.retryAfter ? { 'retry-after': String(refusal.retryAfter) } : {}),
  })
  res.end(req.method === 'HEAD' ? undefined : body)
}

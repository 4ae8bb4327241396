// The relay's HTTP surface: webhook intake, health and metrics.
import type { IncomingMessage } from 'node:http'
import type { HttpBindings } from '@hono/node-server'
import { type Context, Hono } from 'hono'
import type { Logger } from 'pino'
import { allocFrame } from '../shared/frame.ts'
import { APP_NAME, INSTANCE_ID, newDeliveryId } from '../shared/ids.ts'
import type { Delivery } from '../shared/protocol.ts'
import { clientAddress, limitKey } from './address.ts'
import type { Budget, Lease } from './budget.ts'
import type { RelayConfig } from './config.ts'
import type { createDeliver } from './deliver.ts'
import { createMetricsApp, type RelayMetrics } from './metrics.ts'
import { createRateLimiter } from './ratelimit.ts'
import type { Store } from './store.ts'

/** Headers that describe one HTTP hop, not the webhook: never forwarded in either direction. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'proxy-authorization',
  'proxy-connection',
  'content-length',
  'host',
])

/**
 * The webhook's own headers from Node's raw list [name, value, name, value, …]: names
 * lower-cased, repeats joined by ", " in order, hop-by-hop headers left out.
 */
function forwardable(raw: string[]): Record<string, string> {
  // No prototype: a header named "constructor" or "__proto__" is just a header.
  const out: Record<string, string> = Object.create(null)
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase()
    if (HOP_BY_HOP.has(name)) continue
    const value = raw[i + 1] as string
    const seen = out[name]
    out[name] = seen === undefined ? value : `${seen}, ${value}`
  }
  return out
}

/** How long a connection whose body was refused stays open, unread, after the answer. */
const REFUSED_LINGER_MS = 1000

type Body = { frame: Buffer } | { refused: 'too large' | 'busy' }

/**
 * Reads the request body into a `delivery` frame under `header`, holding its bytes under
 * `lease`; refused once the body passes `limit` or the budget. With Content-Length (checked
 * before by the caller) the bytes go straight into place; a chunked upload is counted while
 * reading and copied in once at its end. Read straight from Node's request: building a web
 * Request and stream for each webhook cost a fifth of the relay's CPU.
 */
function readFrame(
  req: IncomingMessage,
  header: Delivery,
  declared: number | null,
  limit: number,
  lease: Lease,
): Promise<Body> {
  return new Promise((resolve, reject) => {
    const sized = declared === null ? null : allocFrame(header, declared)
    const chunks: Buffer[] = []
    let size = 0
    const stop = (refused: 'too large' | 'busy') => {
      // Answer now; the server drains what is left (bounded) after the answer.
      req.off('data', onData)
      req.pause()
      resolve({ refused })
    }
    const onData = (chunk: Buffer) => {
      if (sized) {
        sized.frame.set(chunk, sized.bodyAt + size)
        size += chunk.length
        return
      }
      size += chunk.length
      if (size > limit) return stop('too large')
      if (!lease.grow(chunk.length)) return stop('busy')
      chunks.push(chunk)
    }
    req.on('data', onData)
    req.once('end', () => {
      if (sized) return resolve({ frame: sized.frame })
      if (!lease.grow(size)) return resolve({ refused: 'busy' })
      const { frame, bodyAt } = allocFrame(header, size)
      let at = bodyAt
      for (const chunk of chunks) {
        frame.set(chunk, at)
        at += chunk.length
      }
      resolve({ frame })
    })
    req.once('error', reject)
    // A sender gone mid-body: settle, so the bytes it held go back to the budget. Every request
    // closes, so the error (and its stack trace) is made only for one that did not end.
    req.once('close', () => {
      if (!req.complete) reject(new Error('the sender closed the request before its end'))
    })
  })
}

type Deps = {
  config: RelayConfig
  store: Store
  budget: Budget
  deliver: ReturnType<typeof createDeliver>
  metrics: RelayMetrics
  log: Logger
}

export function createRelayApp({ config, store, budget, deliver, metrics, log }: Deps) {
  const app = new Hono<{ Bindings: HttpBindings }>()
  const limitIp = createRateLimiter(config.rateIp)
  const limitInstance = createRateLimiter(config.rateInstance)

  const { outcomes } = metrics

  /** 503: the sender should come back later, and is told when. */
  const unavailable = (c: Context, error: string, retryAfterS: number) => {
    c.header('Retry-After', String(retryAfterS))
    return c.json({ error }, 503)
  }
  // A refused body is not read on: after the answer the connection stops reading, so a flood
  // of large uploads costs the relay neither the bytes nor the garbage of draining them, and is
  // cut a moment later (time for a sender that reads while it writes to see the answer).
  const refusing = (c: Context) => {
    const { incoming: req, outgoing: res } = c.env
    res.once('finish', () =>
      setImmediate(() => {
        if (req.complete) return
        req.socket.pause()
        setTimeout(() => req.socket.destroy(), REFUSED_LINGER_MS).unref()
      }),
    )
  }
  const busy = (c: Context) => {
    outcomes.busy.inc()
    refusing(c)
    return unavailable(c, 'relay busy', 5)
  }
  const tooLarge = (c: Context) => {
    outcomes.tooLarge.inc()
    refusing(c)
    return c.json({ error: 'payload too large', limit: config.maxBody }, 413)
  }

  const tooMany = (c: Context, scope: 'ip' | 'instance', retryAfterS: number) => {
    metrics.rateLimited.inc({ scope })
    c.header('Retry-After', String(retryAfterS))
    return c.json({ error: 'rate limited', retryAfter: retryAfterS }, 429)
  }

  app.get('/health', (c) => c.json({ ok: true }))

  if (!config.metricsAddr) app.route('/', createMetricsApp(metrics, config.metricsToken))

  // The webhook path: every step here is on the sender's round trip, so it stays lean.
  app.post('/hooks/:instance/:app', async (c) => {
    const { instance: instanceId, app: appName } = c.req.param()
    const req = c.env.incoming
    const remote = clientAddress(config.trustProxy, req.headers, req.socket.remoteAddress)
    const byIp = limitIp.take(limitKey(remote))
    if (!byIp.ok) return tooMany(c, 'ip', byIp.retryAfterS)
    const instance = INSTANCE_ID.test(instanceId) ? store.instance(instanceId) : undefined
    if (!instance) {
      outcomes.unknownInstance.inc()
      return c.json({ error: 'unknown instance' }, 404)
    }
    if (!APP_NAME.test(appName)) return c.json({ error: 'unknown app' }, 404)
    const byInstance = limitInstance.take(instanceId)
    if (!byInstance.ok) return tooMany(c, 'instance', byInstance.retryAfterS)

    const length = req.headers['content-length']
    const declared = length === undefined ? null : Number(length)
    if (declared !== null && declared > config.maxBody) return tooLarge(c)
    const lease = budget.take(declared ?? 0)
    if (!lease) return busy(c)
    try {
      const url = req.url ?? ''
      const queryAt = url.indexOf('?')
      const delivery: Delivery = {
        t: 'delivery',
        id: newDeliveryId(),
        app: appName,
        method: req.method ?? 'POST',
        headers: forwardable(req.rawHeaders),
        query: queryAt === -1 ? '' : url.slice(queryAt + 1),
        receivedAt: Date.now(),
        remote,
      }
      const body = await readFrame(req, delivery, declared, config.maxBody, lease)
      if ('refused' in body) return body.refused === 'busy' ? busy(c) : tooLarge(c)

      const outcome = await deliver(instance, delivery, body.frame, lease)
      if (outcome.kind === 'answered') {
        outcomes.answered.inc()
        const { reply } = outcome
        return c.body(
          new Uint8Array(reply.body),
          reply.status as 200,
          forwardable(Object.entries(reply.headers).flat()),
        )
      }
      if (outcome.kind === 'queued') {
        outcomes.queued.inc()
        return c.json({ status: 'queued', delivery: delivery.id }, 202)
      }
      if (outcome.error === 'relay busy') return busy(c)
      if (outcome.error === 'queue full') outcomes.queueFull.inc()
      else outcomes.storageFull.inc()
      return unavailable(c, outcome.error, 60)
    } finally {
      lease.release()
    }
  })

  app.notFound((c) => c.json({ error: 'not found' }, 404))
  app.onError((error, c) => {
    log.error({ err: error, path: c.req.path }, 'request failed')
    return c.json({ error: 'internal error' }, 500)
  })
  return app
}

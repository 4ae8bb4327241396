// The relay's HTTP surface: webhook intake, health and metrics.
import type { IncomingMessage } from 'node:http'
import type { HttpBindings } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import { type Context, Hono } from 'hono'
import { importJWK, type KeyObject } from 'jose'
import type { Logger } from 'pino'
import { encodeFrame } from '../shared/frame.ts'
import { APP_NAME, INSTANCE_ID, newDeliveryId } from '../shared/ids.ts'
import type { Delivery } from '../shared/protocol.ts'
import { seal } from '../shared/seal.ts'
import { sameSecret } from '../shared/secrets.ts'
import type { RelayConfig } from './config.ts'
import type { DeliveryOutcome, RelayMetrics } from './metrics.ts'
import { createRateLimiter } from './ratelimit.ts'
import type { Sessions } from './sessions.ts'
import type { Instance, Store } from './store.ts'

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

/**
 * The request body exactly as received, or null once it passes `limit` (checked against
 * Content-Length first, then while reading, for chunked uploads). Read straight from Node's
 * request: building a web Request and stream for each webhook cost a fifth of the relay's CPU.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.resolve(null)
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= limit) return void chunks.push(chunk)
      // Too large: answer now; the server drains what is left (bounded) after the answer.
      req.off('data', onData)
      req.pause()
      resolve(null)
    }
    req.on('data', onData)
    req.once('end', () => resolve(Buffer.concat(chunks, size)))
    req.once('error', reject)
  })
}

type Deps = {
  config: RelayConfig
  store: Store
  sessions: Sessions
  metrics: RelayMetrics
  log: Logger
}

export function createRelayApp({ config, store, sessions, metrics, log }: Deps) {
  const app = new Hono<{ Bindings: HttpBindings }>()
  const limitIp = createRateLimiter(config.rateIp)
  const limitInstance = createRateLimiter(config.rateInstance)
  const sealingKeys = new Map<string, { x: unknown; key: KeyObject | CryptoKey }>()

  const sealingKey = async (instance: Instance) => {
    const cached = sealingKeys.get(instance.id)
    if (cached && cached.x === instance.sealingJwk.x) return cached.key
    const key = (await importJWK(instance.sealingJwk, 'ECDH-ES+A256KW')) as KeyObject | CryptoKey
    sealingKeys.set(instance.id, { x: instance.sealingJwk.x, key })
    return key
  }

  const clientAddress = (c: Context) => {
    if (config.trustProxy) {
      const forwarded =
        c.req.header('fly-client-ip') ?? c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim()
      if (forwarded) return forwarded
    }
    return getConnInfo(c).remote.address ?? 'unknown'
  }

  // Bound once: labelling a counter on every webhook costs more than the count itself.
  const counted = (outcome: DeliveryOutcome) => metrics.deliveries.labels({ outcome })
  const outcomes = {
    answered: counted('answered'),
    queued: counted('queued'),
    unknownInstance: counted('unknown_instance'),
    tooLarge: counted('too_large'),
    queueFull: counted('queue_full'),
  }

  const tooMany = (c: Context, scope: 'ip' | 'instance', retryAfterS: number) => {
    metrics.rateLimited.inc({ scope })
    c.header('Retry-After', String(retryAfterS))
    return c.json({ error: 'rate limited', retryAfter: retryAfterS }, 429)
  }

  app.get('/health', (c) => c.json({ ok: true }))

  app.get('/metrics', async (c) => {
    if (config.metricsToken) {
      if (!sameSecret(c.req.header('authorization') ?? '', `Bearer ${config.metricsToken}`)) {
        return c.json({ error: 'unauthorized' }, 401)
      }
    }
    return c.text(await metrics.registry.metrics(), 200, {
      'content-type': metrics.registry.contentType,
    })
  })

  // The webhook path: every step here is on the sender's round trip, so it stays lean.
  app.post('/hooks/:instance/:app', async (c) => {
    const { instance: instanceId, app: appName } = c.req.param()
    const remote = clientAddress(c)
    const byIp = limitIp(remote)
    if (!byIp.ok) return tooMany(c, 'ip', byIp.retryAfterS)
    const instance = INSTANCE_ID.test(instanceId) ? store.instance(instanceId) : undefined
    if (!instance) {
      outcomes.unknownInstance.inc()
      return c.json({ error: 'unknown instance' }, 404)
    }
    if (!APP_NAME.test(appName)) return c.json({ error: 'unknown app' }, 404)
    const byInstance = limitInstance(instanceId)
    if (!byInstance.ok) return tooMany(c, 'instance', byInstance.retryAfterS)

    const req = c.env.incoming
    const body = await readBody(req, config.maxBody)
    if (!body) {
      outcomes.tooLarge.inc()
      return c.json({ error: 'payload too large', limit: config.maxBody }, 413)
    }
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

    const started = performance.now()
    const reply = await sessions.forward(instanceId, delivery, body, config.replyTimeoutMs)
    if (reply) {
      metrics.forwardDuration.observe((performance.now() - started) / 1000)
      outcomes.answered.inc()
      return c.body(
        new Uint8Array(reply.body),
        reply.status as 200,
        forwardable(Object.entries(reply.headers).flat()),
      )
    }

    const usage = store.usage(instanceId)
    if (usage.count >= config.queueMax || usage.bytes + body.length > config.queueMaxBytes) {
      outcomes.queueFull.inc()
      log.warn({ instance: instanceId, queued: usage.count }, 'queue full, refusing delivery')
      c.header('Retry-After', '60')
      return c.json({ error: 'queue full' }, 503)
    }
    const sealed = await seal(encodeFrame(delivery, body), await sealingKey(instance))
    store.enqueue(instanceId, { id: delivery.id, receivedAt: delivery.receivedAt, sealed })
    outcomes.queued.inc()
    sessions.kick(instanceId)
    return c.json({ status: 'queued', delivery: delivery.id }, 202)
  })

  app.notFound((c) => c.json({ error: 'not found' }, 404))
  app.onError((error, c) => {
    log.error({ err: error, path: c.req.path }, 'request failed')
    return c.json({ error: 'internal error' }, 500)
  })
  return app
}

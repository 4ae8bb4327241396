// Puts the relay together: HTTP server, WebSocket upgrades for agents, timers and shutdown.
import { type Server, STATUS_CODES } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { createAdaptorServer } from '@hono/node-server'
import type { Logger } from 'pino'
import { WebSocketServer } from 'ws'
import { localUrl } from '../shared/net.ts'
import { CLOSE } from '../shared/protocol.ts'
import { createRelayApp } from './app.ts'
import { AuthError, createAuthenticator, registrationToken } from './auth.ts'
import type { RelayConfig } from './config.ts'
import { createRelayMetrics } from './metrics.ts'
import { createRateLimiter } from './ratelimit.ts'
import { createSessions } from './sessions.ts'
import { openStore } from './store.ts'

/** Largest frame an agent may send (results are small JSON answers). */
const MAX_AGENT_FRAME = 1024 * 1024

export type Relay = {
  /** Where the relay listens, e.g. http://127.0.0.1:8080. */
  url: string
  publicUrl: string
  /** Set only on the first start without RELAY_REGISTRATION_TOKEN: print it once. */
  createdRegistrationToken?: string
  close(): Promise<void>
}

/** Answers an upgrade request that will not become a tunnel, as plain HTTP with a JSON error. */
function refuse(socket: Duplex, status: 401 | 404 | 429, message: string) {
  const body = JSON.stringify({ error: message })
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}

export async function startRelay(config: RelayConfig, log: Logger): Promise<Relay> {
  const store = openStore(config.dataDir)
  const token = registrationToken(store, config.registrationToken)
  const metrics = createRelayMetrics(store)
  const authenticate = createAuthenticator(store, token.hash)
  const limitConnects = createRateLimiter(config.rateIp)
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_AGENT_FRAME,
    perMessageDeflate: false,
  })

  // Without a configured public URL it is the bound address, known only after listen().
  let publicUrl = config.publicUrl ?? ''
  const sessions = createSessions({
    store,
    metrics,
    log,
    heartbeatMs: config.heartbeatMs,
    publicUrl: () => publicUrl,
  })
  const app = createRelayApp({ config, store, sessions, metrics, log })
  const server = createAdaptorServer({ fetch: app.fetch, hostname: config.host }) as Server
  server.headersTimeout = 10_000
  server.requestTimeout = config.requestTimeoutMs
  server.keepAliveTimeout = 5_000

  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy())
    if (new URL(req.url ?? '/', 'http://relay').pathname !== '/connect')
      return refuse(socket, 404, 'not found')
    const address = req.socket.remoteAddress ?? 'unknown'
    const limited = limitConnects(`connect:${address}`)
    if (!limited.ok) return refuse(socket, 429, 'too many connection attempts')
    authenticate(req).then(
      (instance) => {
        wss.handleUpgrade(req, socket, head, (ws) => sessions.attach(instance, ws))
      },
      (error: Error) => {
        if (!(error instanceof AuthError)) log.error({ err: error }, 'agent authentication failed')
        else log.info({ address, reason: error.message }, 'agent refused')
        refuse(socket, 401, error instanceof AuthError ? error.message : 'authentication failed')
      },
    )
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const url = localUrl(config.host, port)
  if (!config.publicUrl) {
    publicUrl = url
    log.warn(
      { publicUrl },
      'no --public-url / RELAY_PUBLIC_URL: webhook URLs will use the bound address',
    )
  }

  const sweeper = setInterval(() => {
    const expired = store.expire(Date.now() - config.queueTtlMs)
    if (expired > 0) {
      metrics.deliveries.inc({ outcome: 'expired' }, expired)
      log.warn({ expired }, 'dropped deliveries older than RELAY_QUEUE_TTL')
    }
    store.pruneJtis(Math.floor(Date.now() / 1000))
  }, 60_000)
  sweeper.unref()

  return {
    url,
    publicUrl,
    ...(token.created ? { createdRegistrationToken: token.created } : {}),
    async close() {
      clearInterval(sweeper)
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // Agents reconnect at once on 1012; their in-flight deliveries get stored and answered 202.
      sessions.closeAll(CLOSE.serviceRestart, 'relay restarting')
      server.closeIdleConnections()
      const forced = setTimeout(() => server.closeAllConnections(), 10_000)
      await closed
      clearTimeout(forced)
      store.close()
    },
  }
}

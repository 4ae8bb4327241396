// Puts the relay together: HTTP server, WebSocket upgrades for agents, timers and shutdown.
import { renameSync, writeFileSync } from 'node:fs'
import { type Server, STATUS_CODES } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { createAdaptorServer } from '@hono/node-server'
import type { Logger } from 'pino'
import { WebSocketServer } from 'ws'
import { localUrl } from '../shared/net.ts'
import { audienceFor, CLOSE } from '../shared/protocol.ts'
import { clientAddress, limitKey } from './address.ts'
import { createRelayApp } from './app.ts'
import { AuthError, claimedInstance, createAuthenticator, registrationToken } from './auth.ts'
import { createBudget } from './budget.ts'
import type { RelayConfig } from './config.ts'
import { createDeliver } from './deliver.ts'
import { createMetricsApp, createRelayMetrics } from './metrics.ts'
import { createQuota } from './quota.ts'
import { createRateLimiter } from './ratelimit.ts'
import { createSessions } from './sessions.ts'
import { openStore } from './store.ts'

/** Largest frame an agent may send (results are small JSON answers). */
const MAX_AGENT_FRAME = 1024 * 1024
/**
 * Failed /connect authentications per minute for one (address, claimed instance): counting
 * failures, not attempts, and per claimed instance, strangers cannot spend a real agent's budget.
 */
const CONNECT_FAILURES_PER_MINUTE = 10
const HEADERS_TIMED_OUT =
  'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'
/** Where a generated registration token is written (0600), never to the log. */
export const REGISTRATION_TOKEN_FILE = 'registration-token'

export type Relay = {
  /** Where the relay listens, e.g. http://127.0.0.1:8080. */
  url: string
  publicUrl: string
  /** Set only on the first start without RELAY_REGISTRATION_TOKEN: the file holding it. */
  registrationTokenFile?: string
  close(): Promise<void>
}

/** Answers an upgrade request that will not become a tunnel, as plain HTTP with a JSON error. */
function refuse(socket: Duplex, status: 401 | 404 | 429 | 503, message: string) {
  const body = JSON.stringify({ error: message })
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}

export async function startRelay(config: RelayConfig, log: Logger): Promise<Relay> {
  const store = openStore(config.dataDir)
  const token = registrationToken(store, config.registrationToken)
  // `sessions` is made below (it records into the metrics); the gauge reads it only at a scrape.
  const metrics = createRelayMetrics(store, () => sessions.count())
  const budget = createBudget(config.inflightBytes)
  const quota = createQuota(store, {
    count: config.queueMax,
    bytes: config.queueMaxBytes,
    totalBytes: config.dataMaxBytes,
  })
  // Without a configured public URL it is the bound address, known only after listen().
  let publicUrl = config.publicUrl ?? ''
  const authenticate = createAuthenticator(
    store,
    token.hash,
    () => audienceFor(new URL(publicUrl).host),
    (error) => log.error({ err: error.message }, 'cannot record a JWT id on disk: kept in memory'),
  )
  const connectFailures = createRateLimiter(CONNECT_FAILURES_PER_MINUTE)
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_AGENT_FRAME,
    perMessageDeflate: false,
  })

  const sessions = createSessions({
    store,
    budget,
    metrics,
    log,
    heartbeatMs: config.heartbeatMs,
    publicUrl: () => publicUrl,
  })
  const deliver = createDeliver({
    store,
    sessions,
    quota,
    metrics,
    log,
    replyTimeoutMs: config.replyTimeoutMs,
  })
  const app = createRelayApp({ config, store, budget, deliver, metrics, log })
  // Node refuses a headers timeout past the request's: the request's time includes its headers.
  const headersTimeoutMs = Math.min(config.headersTimeoutMs, config.requestTimeoutMs)
  const server = createAdaptorServer({
    fetch: app.fetch,
    hostname: config.host,
    serverOptions: {
      headersTimeout: headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      keepAliveTimeout: 5_000,
      // Node checks those timeouts this often (30 s by default, which let a slow client keep
      // its socket for 40 s on a 10 s headers timeout).
      connectionsCheckingInterval: 1_000,
    },
  }) as Server
  server.maxConnections = config.maxConnections
  // Node starts its headers clock at a request's first byte, and never for a connection that
  // sends nothing at all: this one starts at accept and stops when the headers are complete.
  const headersDeadlines = new WeakMap<Duplex, NodeJS.Timeout>()
  server.on('connection', (socket: Duplex) => {
    const deadline = setTimeout(() => {
      // Written straight out (a fresh socket has room) and cut: not waiting on a slow reader.
      socket.write(HEADERS_TIMED_OUT)
      socket.destroy()
    }, headersTimeoutMs)
    deadline.unref()
    headersDeadlines.set(socket, deadline)
    socket.once('close', () => clearTimeout(deadline))
  })
  const headersArrived = (socket: Duplex) => {
    clearTimeout(headersDeadlines.get(socket))
    headersDeadlines.delete(socket)
  }
  server.on('request', (req) => headersArrived(req.socket))

  server.on('upgrade', (req, socket, head) => {
    headersArrived(req.socket)
    socket.on('error', () => socket.destroy())
    if (new URL(req.url ?? '/', 'http://relay').pathname !== '/connect')
      return refuse(socket, 404, 'not found')
    const address = clientAddress(config.trustProxy, req.headers, req.socket.remoteAddress)
    const attempts = `${limitKey(address)} ${claimedInstance(req)}`
    if (!connectFailures.peek(attempts).ok) {
      return refuse(socket, 429, 'too many failed connection attempts')
    }
    authenticate(req).then(
      (instance) => {
        wss.handleUpgrade(req, socket, head, (ws) => sessions.attach(instance, ws))
      },
      (error: Error) => {
        connectFailures.take(attempts)
        if (!(error instanceof AuthError)) log.error({ err: error }, 'agent authentication failed')
        else log.info({ address, reason: error.message }, 'agent refused')
        refuse(socket, 401, error instanceof AuthError ? error.message : 'authentication failed')
      },
    )
  })

  await listen(server, { host: config.host, port: config.port })
  const metricsServer = config.metricsAddr
    ? await listen(
        createAdaptorServer({
          fetch: createMetricsApp(metrics, config.metricsToken).fetch,
        }) as Server,
        config.metricsAddr,
      )
    : null
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
    store.vacuum()
  }, 60_000)
  sweeper.unref()

  return {
    url,
    publicUrl,
    ...(token.created
      ? {
          registrationTokenFile: writeSecret(
            config.dataDir,
            REGISTRATION_TOKEN_FILE,
            token.created,
          ),
        }
      : {}),
    async close() {
      clearInterval(sweeper)
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // Agents reconnect at once on 1012; their in-flight deliveries get stored and answered 202.
      sessions.closeAll(CLOSE.serviceRestart, 'relay restarting')
      server.closeIdleConnections()
      const forced = setTimeout(() => server.closeAllConnections(), 10_000)
      await closed
      clearTimeout(forced)
      metricsServer?.close()
      store.close()
    },
  }
}

/** Writes a secret the relay made to a 0600 file in its data dir; returns the file's path. */
function writeSecret(dir: string, name: string, secret: string): string {
  const path = join(dir, name)
  const temp = `${path}.${process.pid}.tmp`
  writeFileSync(temp, `${secret}\n`, { mode: 0o600, flag: 'wx' })
  renameSync(temp, path)
  return path
}

function listen(server: Server, at: { host: string; port: number }): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(at.port, at.host, () => resolve(server))
  })
}

// The agent's public side: one listener per app on its --port (and --bind), and the optional
// shared --http-port that routes by Host to apps added with --hostname. Each app has a route whose
// `live` upstream is switched in one assignment; an old upstream is drained, then let go.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { AppError } from '../core/errors.ts'
import type { AgentMetrics } from '../core/metrics.ts'
import { createTrafficHistory } from './history.ts'
import { refuse } from './pages.ts'
import { createUpstream, forward, tunnel, type Upstream } from './proxy.ts'

/** What the serving side needs to know of an app. */
export type ServedApp = {
  name: string
  port: number | null
  /** null: all interfaces. */
  bind: string | null
  hostname: string | null
}

type Route = {
  app: string
  live: Upstream | null
  /** Why nothing is live: the 503 says it. */
  reason: string
  retryAfter: number
  /** Woken at every switch or withdrawal (a request waiting for a crashed release's successor). */
  waiters: Set<() => void>
  /** The app's metric series, looked up once rather than per request. */
  counted: {
    inflight: { inc(): void; dec(): void }
    duration: { observe(seconds: number): void }
    codes: Map<number, { inc(): void }>
  }
}

/** How long a bodiless request whose release just broke waits for a successor before a 502. */
const RETRY_WAIT_MS = 1000
const RETRIES = 3

export type Serving = ReturnType<typeof createServing>

export function createServing(deps: { log: Logger; metrics: AgentMetrics }) {
  const { log, metrics } = deps
  const routes = new Map<string, Route>()
  const listeners = new Map<string, Server>()
  /** Where each app's listener is bound (`bind:port`), to tell a changed setting. */
  const bound = new Map<string, string>()
  const hostnames = new Map<string, string>()
  let shared: Server | null = null
  const history = createTrafficHistory()

  const changed = (route: Route) => {
    for (const wake of route.waiters) wake()
    route.waiters.clear()
  }
  const nextChange = (route: Route, ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      route.waiters.add(() => {
        clearTimeout(timer)
        resolve()
      })
    })

  function unavailable(req: IncomingMessage, res: ServerResponse, route: Route) {
    refuse(req, res, {
      status: 503,
      error: `${route.app} is not serving right now: ${route.reason}`,
      app: route.app,
      retryAfter: route.retryAfter,
    })
  }

  function send(route: Route, req: IncomingMessage, res: ServerResponse, attempt: number) {
    const up = route.live
    if (!up) return unavailable(req, res, route)
    forward(req, res, up, async (error, retriable) => {
      if (retriable && attempt < RETRIES) {
        // The release broke (crashed, or just stopped): nothing reached it, so the request may
        // go to its successor, or get the 503 that says why there is none.
        if (route.live === up) await nextChange(route, RETRY_WAIT_MS)
        if (route.live !== up) return send(route, req, res, attempt + 1)
      }
      log.warn({ app: route.app, code: error.code, url: req.url }, 'the release broke a request')
      refuse(req, res, {
        status: 502,
        error: `${route.app} broke the connection before answering`,
        app: route.app,
      })
    })
  }

  function handle(route: Route, req: IncomingMessage, res: ServerResponse) {
    const started = performance.now()
    const { counted } = route
    counted.inflight.inc()
    res.once('close', () => {
      counted.inflight.dec()
      // 499 (nginx's convention): the client left before an answer.
      const code = res.headersSent ? res.statusCode : 499
      let requests = counted.codes.get(code)
      if (!requests) {
        requests = metrics.appRequests.labels(route.app, String(code))
        counted.codes.set(code, requests)
      }
      requests.inc()
      history.count(route.app, code)
      counted.duration.observe((performance.now() - started) / 1000)
    })
    send(route, req, res, 0)
  }

  function upgrade(route: Route, req: IncomingMessage, socket: Duplex, early: Buffer) {
    const refuseUpgrade = (status: string, retry: boolean) => {
      socket.end(
        `HTTP/1.1 ${status}\r\n${retry ? `Retry-After: ${route.retryAfter}\r\n` : ''}Content-Length: 0\r\nConnection: close\r\n\r\n`,
      )
    }
    const up = route.live
    if (!up) return refuseUpgrade('503 Service Unavailable', true)
    tunnel(req, socket, early, up, () => refuseUpgrade('502 Bad Gateway', false))
  }

  const routeOf = (app: string): Route => {
    let route = routes.get(app)
    if (!route) {
      route = {
        app,
        live: null,
        reason: 'it has not been deployed yet',
        retryAfter: 5,
        waiters: new Set(),
        counted: {
          inflight: metrics.appInflight.labels(app),
          duration: metrics.appRequestDuration.labels(app),
          codes: new Map(),
        },
      }
      routes.set(app, route)
    }
    return route
  }

  function listen(server: Server, port: number, host: string | null, what: string) {
    const where = host ? `${host}:${port}` : `port ${port}`
    return new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new AppError(
            error.code === 'EADDRINUSE'
              ? `${what}: ${where} is in use by another program`
              : `${what}: cannot listen on ${where}: ${error.message}`,
            409,
          ),
        ),
      )
      // No host: every interface, IPv6 and IPv4, as an app listening on PORT would.
      server.listen(host ? { port, host } : { port }, resolve)
    })
  }

  function byHost(req: IncomingMessage): Route | null {
    const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '')
    const app = hostnames.get(host)
    return app ? routeOf(app) : null
  }
  const unknownHost = (req: IncomingMessage, res: ServerResponse) =>
    refuse(req, res, { status: 404, error: 'No app answers to this name here.', app: null })

  return {
    /** Requests and errors of the app over the last minutes (the dashboard's chart). */
    traffic: history.series,

    /** Opens the shared Host-routing listener (`--http-port`). */
    async open(port: number, host: string | null): Promise<number> {
      const server = createServer((req, res) => {
        const route = byHost(req)
        if (route) handle(route, req, res)
        else unknownHost(req, res)
      })
      server.on('upgrade', (req, socket, early) => {
        const route = byHost(req)
        if (route) upgrade(route, req, socket, early)
        else socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
      })
      await listen(server, port, host, '--http-port')
      shared = server
      return (server.address() as AddressInfo).port
    },

    /**
     * Takes the app's public port and hostname; an AppError (409) when either is taken. Claimed
     * again after its settings changed (`apply`), it moves its listener and hostname to the new
     * ones; the live release keeps serving through them.
     */
    async claim(app: ServedApp): Promise<void> {
      if (app.hostname) {
        const owner = hostnames.get(app.hostname)
        if (owner && owner !== app.name)
          throw new AppError(`hostname ${app.hostname} is already served by ${owner}`, 409)
      }
      for (const [host, owner] of hostnames)
        if (owner === app.name && host !== app.hostname) hostnames.delete(host)
      const route = routeOf(app.name)
      const where = app.port === null ? null : `${app.bind ?? '*'}:${app.port}`
      const old = listeners.get(app.name)
      if (old && bound.get(app.name) !== where) {
        listeners.delete(app.name)
        bound.delete(app.name)
        await closeServer(old)
      }
      if (app.port !== null && where !== null && !listeners.has(app.name)) {
        const server = createServer((req, res) => handle(route, req, res))
        server.on('upgrade', (req, socket, early) => upgrade(route, req, socket, early))
        await listen(server, app.port, app.bind, app.name)
        listeners.set(app.name, server)
        bound.set(app.name, where)
      }
      if (app.hostname) hostnames.set(app.hostname, app.name)
    },

    /** New requests go to the release on `port` from now on. Returns the one they went to before. */
    switchTo(app: string, port: number): Upstream | null {
      const route = routeOf(app)
      const previous = route.live
      route.live = createUpstream(port)
      changed(route)
      metrics.switches.inc({ app })
      return previous
    },

    /** No release serves the app (crashed, stopped, restarting): 503 with `reason`. */
    withdraw(app: string, reason: string, retryAfterSeconds = 1): Upstream | null {
      const route = routeOf(app)
      const previous = route.live
      Object.assign(route, {
        live: null,
        reason,
        retryAfter: Math.max(1, Math.ceil(retryAfterSeconds)),
      })
      changed(route)
      return previous
    },

    /**
     * Waits until nothing is in flight on `up` (requests finished, streams and WebSockets ended)
     * or `ms` passed, then cuts what is left. Resolves with how many were cut.
     */
    async drain(app: string, up: Upstream, ms: number): Promise<number> {
      const deadline = Date.now() + ms
      while ((up.active > 0 || up.tunnels.size > 0) && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, deadline - Date.now())
          up.settled = () => {
            clearTimeout(timer)
            resolve()
          }
        })
      }
      up.settled = () => {}
      const cut = up.active + up.tunnels.size
      for (const socket of up.tunnels) socket.destroy()
      up.agent.destroy()
      metrics.drains.inc({ app, result: cut ? 'cut' : 'clean' })
      return cut
    },

    /** The app was removed: its listener closes and its hostname is free again. */
    async release(app: string): Promise<void> {
      const server = listeners.get(app)
      listeners.delete(app)
      bound.delete(app)
      for (const [host, owner] of hostnames) if (owner === app) hostnames.delete(host)
      routes.get(app)?.live?.agent.destroy()
      routes.delete(app)
      history.forget(app)
      if (server) await closeServer(server)
    },

    async close(): Promise<void> {
      const servers = [...listeners.values(), ...(shared ? [shared] : [])]
      listeners.clear()
      shared = null
      for (const route of routes.values()) route.live?.agent.destroy()
      await Promise.all(servers.map(closeServer))
    },
  }
}

function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeAllConnections()
  return closed
}

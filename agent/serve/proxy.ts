// One proxied request or WebSocket upgrade, on node:http: bodies stream both ways (pipe, with
// backpressure, nothing buffered), hop-by-hop headers go (RFC 9110 §7.6.1), X-Forwarded-* are
// set and Host is kept. Each upstream (one release's private port) counts what it has in flight,
// so a drain knows when the old release is idle.
import {
  Agent,
  type AgentOptions,
  type IncomingMessage,
  request,
  type ServerResponse,
} from 'node:http'
import type { Duplex } from 'node:stream'

/** One release's private port, and what is in flight on it. */
export type Upstream = {
  port: number
  /** Keep-alive connections to the release: a request needs no new TCP handshake. */
  agent: Agent
  /** Requests whose response has not ended (a streaming response counts until it ends). */
  active: number
  /** Upgraded connections (WebSocket), both sides. */
  tunnels: Set<Duplex>
  /** Called whenever `active` or `tunnels` shrinks: a drain waits on it. */
  settled: () => void
}

export function createUpstream(port: number): Upstream {
  return {
    port,
    // Bun closes idle keep-alive connections after 10 s: ours give up theirs well before, so a
    // request is never sent on a socket the release is closing. No Nagle (as Go's net, Caddy's):
    // a small write never waits for the release's delayed ACK.
    // (noDelay goes on to net.connect; @types/node leaves it out of AgentOptions.)
    agent: new Agent({
      keepAlive: true,
      maxFreeSockets: 256,
      timeout: 4000,
      noDelay: true,
    } as AgentOptions),
    active: 0,
    tunnels: new Set(),
    settled: () => {},
  }
}

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])
const FORWARDED = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'])

/** rawHeaders ([name, value, …]) minus hop-by-hop ones and those the Connection header names. */
function endToEnd(raw: string[], drop: Set<string> = new Set()): string[] {
  const named = new Set<string>()
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === 'connection')
      for (const token of (raw[i + 1] as string).split(',')) named.add(token.trim().toLowerCase())
  }
  const kept: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase()
    if (HOP_BY_HOP.has(name) || named.has(name) || drop.has(name)) continue
    kept.push(raw[i] as string, raw[i + 1] as string)
  }
  return kept
}

/** The request's headers for the release: end-to-end ones, Host kept, X-Forwarded-* ours. */
function upstreamHeaders(req: IncomingMessage, upgrade: boolean): string[] {
  const headers = endToEnd(req.rawHeaders, FORWARDED)
  // The client's own X-Forwarded-For is not trusted: the agent is the edge, like Caddy's default.
  // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; the app wants a.b.c.d.
  headers.push('X-Forwarded-For', (req.socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.)/, ''))
  headers.push('X-Forwarded-Proto', 'http')
  if (req.headers.host) headers.push('X-Forwarded-Host', req.headers.host)
  if (upgrade) headers.push('Connection', 'Upgrade', 'Upgrade', req.headers.upgrade ?? '')
  return headers
}

/**
 * The connection to the release failed before any answer. `retriable`: a GET or HEAD without a
 * body, so nothing reached the app and it may go to another release (or get a 503).
 */
export type Unreachable = (error: NodeJS.ErrnoException, retriable: boolean) => void

/** Sends `req` to the release and streams its answer into `res`. */
export function forward(
  req: IncomingMessage,
  res: ServerResponse,
  up: Upstream,
  unreachable: Unreachable,
): void {
  up.active += 1
  let finished = false
  const finish = () => {
    if (finished) return
    finished = true
    up.active -= 1
    up.settled()
  }
  res.once('close', finish)

  const bodiless =
    (req.method === 'GET' || req.method === 'HEAD') &&
    !req.headers['content-length'] &&
    !req.headers['transfer-encoding']
  const out = request({
    host: '127.0.0.1',
    port: up.port,
    method: req.method,
    path: req.url,
    headers: upstreamHeaders(req, false),
    agent: up.agent,
  })
  let answered = false
  out.on('response', (answer) => {
    answered = true
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.rawHeaders))
    // A streamed answer (no length: SSE, chunked) sends its headers at once, so the client sees
    // the stream open before the first event; others go out with the first bytes of the body.
    if (answer.headers['content-length'] === undefined) res.flushHeaders()
    answer.pipe(res)
    // The release broke off mid-answer: the client must see a cut, not a short body.
    answer.on('error', () => res.destroy())
    answer.once('close', () => {
      if (!answer.complete) res.destroy()
    })
  })
  out.on('error', (error: NodeJS.ErrnoException) => {
    if (answered || res.destroyed) {
      res.destroy()
      return
    }
    finish()
    unreachable(error, bodiless && !res.destroyed)
  })
  // The client went away: so does the request to the release.
  res.once('close', () => {
    if (!res.writableFinished) out.destroy()
  })
  if (bodiless) out.end()
  else req.pipe(out)
}

/** A raw HTTP/1.1 response head on an upgraded socket. */
function head(status: number, message: string, raw: string[]): string {
  let text = `HTTP/1.1 ${status} ${message}\r\n`
  for (let i = 0; i < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`
  return `${text}\r\n`
}

/** Passes a WebSocket (any Upgrade) both ways; the tunnel counts until either side closes. */
export function tunnel(
  req: IncomingMessage,
  socket: Duplex,
  early: Buffer,
  up: Upstream,
  failed: (error: Error) => void,
): void {
  const out = request({
    host: '127.0.0.1',
    port: up.port,
    method: req.method,
    path: req.url,
    headers: upstreamHeaders(req, true),
    // Its own connection: an upgraded socket never goes back to the pool.
    agent: false,
  })
  socket.on('error', () => out.destroy())
  out.on('upgrade', (answer, upstream, upstreamEarly) => {
    // The Connection header names nothing else here; Upgrade and Connection must stay.
    const headers = endToEnd(answer.rawHeaders)
    headers.push('Connection', 'Upgrade', 'Upgrade', answer.headers.upgrade ?? '')
    socket.write(head(101, answer.statusMessage ?? 'Switching Protocols', headers))
    if (upstreamEarly.length) socket.write(upstreamEarly)
    if (early.length) upstream.write(early)
    up.tunnels.add(socket)
    let open = true
    const close = () => {
      if (!open) return
      open = false
      socket.destroy()
      upstream.destroy()
      up.tunnels.delete(socket)
      up.settled()
    }
    for (const side of [socket, upstream]) {
      side.once('close', close)
      side.on('error', close)
    }
    socket.pipe(upstream).pipe(socket)
  })
  // The release refused the upgrade: its answer goes back as it is.
  out.on('response', (answer) => {
    // Its body is decoded here: the connection's end frames it.
    const headers = [
      ...endToEnd(answer.rawHeaders, new Set(['content-length'])),
      'Connection',
      'close',
    ]
    socket.write(head(answer.statusCode ?? 502, answer.statusMessage ?? '', headers))
    answer.pipe(socket)
  })
  out.on('error', (error) => {
    if (!up.tunnels.has(socket) && !socket.destroyed) failed(error)
  })
  out.end()
}

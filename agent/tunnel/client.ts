// The agent's end of the tunnel: dial the relay from inside, prove who we are, take deliveries,
// answer each with a result frame, and keep coming back (capped backoff with jitter) forever.
import type { Logger } from 'pino'
import WebSocket from 'ws'
import { encodeFrame, FrameError } from '../../shared/frame.ts'
import {
  CLOSE,
  type Delivery,
  HEARTBEAT_INTERVAL_MS,
  PROTOCOL_VERSION,
  parseMessage,
  REGISTRATION_HEADER,
  type Sealed,
  SILENT_INTERVALS,
  type Welcome,
} from '../../shared/protocol.ts'
import { unseal } from '../../shared/seal.ts'
import { VERSION } from '../../shared/version.ts'
import type { TunnelState } from '../api/contract.ts'
import type { Identity } from '../core/identity.ts'

export type Answer = { status: number; headers?: Record<string, string>; body?: Uint8Array }

/** What the agent does with one webhook: the intake fills this in. */
export type DeliveryHandler = (delivery: Delivery, body: Buffer) => Promise<Answer>

export type TunnelOptions = {
  relayUrl: string
  identity: Identity
  registrationToken?: string | undefined
  handler: DeliveryHandler
  log: Logger
  heartbeatMs?: number
  /** Called after every `welcome`: the place to converge on what was missed. */
  onWelcome?: (welcome: Welcome) => void
  /** Called when an open tunnel closes. */
  onClose?: () => void
  maxBackoffMs?: number
  /** Largest frame accepted: a sealed 25 MiB webhook is ~34 MiB of JWE. */
  maxPayload?: number
}

export const AGENT_NAME = `toehold-agent/${VERSION}`

/** ws(s):// URL of the relay's /connect endpoint, from whatever the user typed. */
export function connectUrl(relay: string): URL {
  const url = new URL(relay.includes('://') ? relay : `wss://${relay}`)
  const schemes: Record<string, string> = {
    'https:': 'wss:',
    'http:': 'ws:',
    'wss:': 'wss:',
    'ws:': 'ws:',
  }
  const scheme = schemes[url.protocol]
  if (!scheme)
    throw new Error(`--relay: unsupported scheme ${url.protocol} (use wss:// or https://)`)
  if (scheme === 'ws:' && !/^(localhost|127(\.\d{1,3}){3}|\[::1\])$/.test(url.hostname)) {
    throw new Error(
      `--relay: ${url.protocol}// to ${url.hostname} would carry the connect token, the registration token and every webhook in clear: use wss:// (plain ws:// only to a loopback address)`,
    )
  }
  url.protocol = scheme
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/connect`
  url.search = ''
  return url
}

export function startTunnel(options: TunnelOptions) {
  const { identity, handler, log } = options
  const url = connectUrl(options.relayUrl)
  const heartbeatMs = options.heartbeatMs ?? HEARTBEAT_INTERVAL_MS
  const maxBackoffMs = options.maxBackoffMs ?? 30_000
  const state: TunnelState = {
    url: url.origin.replace(/^ws/, 'http'),
    connected: false,
    since: new Date().toISOString(),
    publicUrl: null,
    lastError: null,
  }
  let socket: WebSocket | null = null
  let attempt = 0
  let retry: NodeJS.Timeout | null = null
  let stopped = false
  // The registration token goes only to a relay that said it does not know our key yet.
  let register = false

  const reply = (ws: WebSocket, id: string, answer: Answer) => {
    if (ws.readyState !== WebSocket.OPEN) return // the relay redelivers it on the next tunnel
    const header = { t: 'result', id, status: answer.status, headers: answer.headers ?? {} }
    ws.send(encodeFrame(header, answer.body))
  }

  const handle = async (ws: WebSocket, delivery: Delivery, body: Buffer) => {
    let answer: Answer
    try {
      answer = await handler(delivery, body)
    } catch (error) {
      log.error({ err: error, delivery: delivery.id, app: delivery.app }, 'delivery handler failed')
      answer = {
        status: 500,
        headers: { 'content-type': 'application/json' },
        body: Buffer.from('{"error":"agent error"}'),
      }
    }
    reply(ws, delivery.id, answer)
  }

  // Deliveries reach the handler in the order the relay sent them (queued ones in arrival order).
  // Opening a sealed one is asynchronous and WebCrypto may finish several out of order, so each
  // waits until the ones before it are open; the handlers themselves still run concurrently.
  let inOrder: Promise<unknown> = Promise.resolve()

  const open = async (sealed: Sealed, body: Buffer) => {
    const inner = await unseal(body, identity.sealingPrivateKey).then(
      (plain) => parseMessage(Buffer.from(plain)),
      () => null,
    )
    if (inner?.message.t !== 'delivery' || inner.message.id !== sealed.id) return null
    return { message: inner.message, body: inner.body }
  }

  const onFrame = async (ws: WebSocket, data: Buffer) => {
    const parsed = parseMessage(data)
    if (!parsed) return
    const { message, body } = parsed
    if (message.t === 'welcome') {
      attempt = 0
      register = false
      state.publicUrl = message.publicUrl
      log.info(
        {
          instance: message.instance,
          queued: message.queued,
          webhooks: `${message.publicUrl}/hooks/${message.instance}/<app>`,
        },
        'connected to relay',
      )
      options.onWelcome?.(message)
    } else if (message.t === 'delivery' || message.t === 'sealed') {
      const next = inOrder.then(() =>
        message.t === 'delivery' ? { message, body } : open(message, body),
      )
      inOrder = next.catch(() => {})
      const opened = await next
      if (opened) return handle(ws, opened.message, opened.body)
      // Answering is what removes it from the relay's queue; refusing would wedge the queue.
      log.error({ delivery: message.id }, 'queued delivery does not open with our key: discarded')
      reply(ws, message.id, {
        status: 400,
        body: Buffer.from('{"error":"undecryptable delivery"}'),
      })
    }
  }

  const scheduleReconnect = (immediately: boolean) => {
    if (stopped) return
    // Full jitter over a capped exponential: a fleet of agents never reconnects in lockstep.
    const ceiling = Math.min(maxBackoffMs, 500 * 2 ** attempt)
    const delay = immediately ? 0 : Math.round(Math.random() * ceiling)
    attempt += 1
    retry = setTimeout(connect, delay)
  }

  async function connect() {
    retry = null
    let token: string
    try {
      token = await identity.connectToken(url.host)
    } catch (error) {
      state.lastError = (error as Error).message
      return scheduleReconnect(false)
    }
    if (stopped) return
    const headers: Record<string, string> = { authorization: `Bearer ${token}` }
    if (register && options.registrationToken) {
      headers[REGISTRATION_HEADER] = options.registrationToken
    }
    const ws = new WebSocket(url, {
      headers,
      maxPayload: options.maxPayload ?? 64 * 1024 ** 2,
      perMessageDeflate: false,
      handshakeTimeout: 15_000,
    })
    socket = ws
    let lastSeen = Date.now()
    let retryNow = false
    const beat = setInterval(() => {
      if (Date.now() - lastSeen > heartbeatMs * SILENT_INTERVALS) ws.terminate()
      else if (ws.readyState === WebSocket.OPEN) ws.ping()
    }, heartbeatMs)
    const seen = () => {
      lastSeen = Date.now()
    }

    ws.on('unexpected-response', (_req, res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        if (text.length < 1024) text += chunk
      })
      res.on('end', () => {
        let error = ''
        try {
          error = String(JSON.parse(text).error)
        } catch {}
        const reason = `HTTP ${res.statusCode}${error ? `: ${error}` : ''}`
        if (
          res.statusCode === 401 &&
          error.startsWith('unknown instance') &&
          options.registrationToken &&
          !register
        ) {
          log.info({ relay: state.url }, 'relay does not know this key yet: registering')
          register = true
          retryNow = true
        } else {
          state.lastError = reason
          log.error({ relay: state.url, reason }, 'relay refused the connection')
        }
        ws.terminate()
      })
    })
    ws.on('open', () => {
      state.connected = true
      state.since = new Date().toISOString()
      state.lastError = null
      ws.send(encodeFrame({ t: 'hello', v: PROTOCOL_VERSION, agent: AGENT_NAME }))
    })
    ws.on('pong', seen)
    ws.on('ping', seen)
    ws.on('message', (data: Buffer, isBinary) => {
      seen()
      const frame = isBinary ? onFrame(ws, data) : Promise.reject(new FrameError('text frame'))
      frame.catch((error: Error) => {
        log.warn({ err: error.message }, 'malformed frame from relay')
        ws.close(CLOSE.protocolError, 'malformed frame')
      })
    })
    ws.on('error', (error) => {
      state.lastError = error.message
      log.debug({ err: error.message }, 'tunnel error')
    })
    ws.on('close', (code, reason) => {
      clearInterval(beat)
      if (socket === ws) socket = null
      const wasConnected = state.connected
      state.connected = false
      state.since = new Date().toISOString()
      if (wasConnected) {
        log.warn({ code, reason: reason.toString() }, 'tunnel closed')
        options.onClose?.()
      }
      if (code === CLOSE.replaced) log.warn('another agent with this key connected to the relay')
      scheduleReconnect(retryNow || code === CLOSE.serviceRestart)
    })
  }

  void connect()
  return {
    state: (): TunnelState => ({ ...state }),
    close() {
      stopped = true
      if (retry) clearTimeout(retry)
      socket?.close(1000, 'agent stopping')
    },
  }
}

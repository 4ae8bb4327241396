// In-process peers for relay tests (the relay itself is always a real process): an echo agent
// built from the real agent identity + tunnel code, hand-made connect tokens and raw WebSocket
// clients, a raw HTTP sender and a /metrics reader.
import { createHash, randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose'
import parsePrometheus, { type PrometheusFamily } from 'parse-prometheus-text-format'
import pino, { type Logger } from 'pino'
import WebSocket, { type ClientOptions } from 'ws'
import { loadIdentity } from '../../agent/core/identity.ts'
import { type Answer, startTunnel } from '../../agent/tunnel/client.ts'
import { instanceIdOf } from '../../shared/ids.ts'
import {
  audienceFor,
  type Delivery,
  parseMessage,
  REGISTRATION_HEADER,
  type Welcome,
} from '../../shared/protocol.ts'
import { type LogLine, REGISTRATION_TOKEN, tempDir } from './procs.ts'
import { Waitable } from './wait.ts'

/** A pino logger whose JSON lines are kept and awaitable. */
export function capturedLogger(): { log: Logger; lines: Waitable<LogLine> } {
  const lines = new Waitable<LogLine>()
  const log = pino(
    { level: 'debug', base: null },
    { write: (text: string) => lines.push(JSON.parse(text)) },
  )
  return { log, lines }
}

export type Received = { delivery: Delivery; body: Buffer }
export type Handler = (delivery: Delivery, body: Buffer) => Promise<Answer>

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

/** Largest body the echo handler sends back (the relay caps agent frames at 1 MiB). */
export const ECHO_BODY_LIMIT = 256 * 1024

/** Answers with the delivery's body (when small) and its digest, id and length in headers. */
export const echo: Handler = async (delivery, body) => ({
  status: 200,
  headers: {
    'content-type': 'application/octet-stream',
    'x-echo-delivery': delivery.id,
    'x-echo-length': String(body.length),
    'x-echo-sha256': sha256(body),
  },
  ...(body.length <= ECHO_BODY_LIMIT ? { body } : {}),
})

/** A handler that never answers: the delivery stays unacknowledged. */
export const hold: Handler = () => new Promise<never>(() => {})

const echoAgents = new Set<EchoAgent>()
const rawSockets = new Set<WebSocket>()

/**
 * Closes every echo agent and raw client still open. For an `after` hook: after a failed test
 * their sockets and reconnect timers would keep the test file from ever exiting.
 */
export function closePeers(): void {
  for (const agent of echoAgents) agent.close()
  for (const ws of rawSockets) ws.terminate()
}

export type EchoAgent = {
  instance: string
  home: string
  /** Every delivery the handler was called with, in call order (live and queued alike). */
  received: Waitable<Received>
  welcomes: Waitable<Welcome>
  logs: Waitable<LogLine>
  webhookUrl(app: string): string
  /** Resolves with the n-th (1-based) "tunnel closed" log line: its `code` is the close code. */
  closed(nth?: number): Promise<LogLine>
  close(): void
}

/**
 * A home agent in this process: the real identity file and tunnel code, with a handler the
 * test controls (default: echo). Started again with the same `home`, it is the same instance.
 */
export async function startEchoAgent(
  relay: { url: string },
  options: {
    home?: string
    handler?: Handler
    registrationToken?: string | null
    heartbeatMs?: number
  } = {},
): Promise<EchoAgent> {
  const home = options.home ?? tempDir('toehold-echo-')
  const identity = await loadIdentity(join(home, 'key.json'))
  const { log, lines } = capturedLogger()
  const received = new Waitable<Received>()
  const welcomes = new Waitable<Welcome>()
  const handler = options.handler ?? echo
  const token =
    options.registrationToken === undefined ? REGISTRATION_TOKEN : options.registrationToken
  const tunnel = startTunnel({
    relayUrl: relay.url,
    identity,
    registrationToken: token ?? undefined,
    log,
    maxBackoffMs: 1000,
    ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    onWelcome: (welcome) => welcomes.push(welcome),
    handler: (delivery, body) => {
      received.push({ delivery, body })
      return handler(delivery, body)
    },
  })
  const agent: EchoAgent = {
    instance: identity.instanceId,
    home,
    received,
    welcomes,
    logs: lines,
    webhookUrl: (app) => `${relay.url}/hooks/${identity.instanceId}/${app}`,
    closed(nth = 1) {
      let count = 0
      return lines.until((line) => line.msg === 'tunnel closed' && ++count === nth)
    },
    close() {
      echoAgents.delete(agent)
      tunnel.close()
    },
  }
  echoAgents.add(agent)
  return agent
}

// ---------------------------------------------------------------------------------------------
// Hand-made agents: keys, connect tokens and raw WebSocket clients.

export type TestKeys = {
  instance: string
  signing: CryptoKey
  signingPublic: JWK
  sealingPublic: JWK
}

export async function makeKeys(): Promise<TestKeys> {
  const signing = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
  const sealing = await generateKeyPair('ECDH-ES+A256KW', { crv: 'X25519', extractable: true })
  const signingPublic = await exportJWK(signing.publicKey)
  return {
    instance: await instanceIdOf(signingPublic),
    signing: signing.privateKey,
    signingPublic,
    sealingPublic: await exportJWK(sealing.publicKey),
  }
}

/** A connect token like the agent's, with any claim overridden. Times are epoch seconds. */
export async function connectToken(
  keys: TestKeys,
  relayUrl: string,
  claims: {
    sub?: string
    aud?: string
    iat?: number
    exp?: number
    jti?: string
    /** Sign with these keys instead (and embed their public key). */
    signer?: TestKeys
  } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const signer = claims.signer ?? keys
  return new SignJWT({ seal: keys.sealingPublic })
    .setProtectedHeader({ alg: 'EdDSA', jwk: signer.signingPublic })
    .setSubject(claims.sub ?? keys.instance)
    .setAudience(claims.aud ?? audienceFor(new URL(relayUrl).host))
    .setIssuedAt(claims.iat ?? now)
    .setExpirationTime(claims.exp ?? now + 120)
    .setJti(claims.jti ?? randomBytes(12).toString('base64url'))
    .sign(signer.signing)
}

export type Refused = { ok: false; status: number; contentType: string; body: unknown }
export type Opened = {
  ok: true
  ws: WebSocket
  welcome: Welcome
  /** Binary frames after the welcome. */
  frames: Waitable<Buffer>
  closed: Promise<{ code: number; reason: string }>
}

/** Authorization (+ registration) headers for a hand-made connection. */
export function authHeaders(token: string, registration?: string): Record<string, string> {
  return {
    authorization: `Bearer ${token}`,
    ...(registration ? { [REGISTRATION_HEADER]: registration } : {}),
  }
}

/** Opens /connect with exactly these headers: the welcome, or the HTTP refusal before the upgrade. */
export function rawConnect(
  relayUrl: string,
  headers: Record<string, string>,
  options: ClientOptions = {},
): Promise<Opened | Refused> {
  const url = `${relayUrl.replace(/^http/, 'ws')}/connect`
  const ws = new WebSocket(url, { headers, perMessageDeflate: false, ...options })
  const frames = new Waitable<Buffer>()
  rawSockets.add(ws)
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => {
      rawSockets.delete(ws)
      resolve({ code, reason: reason.toString() })
    }),
  )
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let body: unknown = text
        try {
          body = JSON.parse(text)
        } catch {}
        resolve({
          ok: false,
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type']),
          body,
        })
        ws.terminate()
      })
    })
    ws.once('error', reject)
    let welcome: Welcome | null = null
    ws.on('message', (data: Buffer) => {
      if (welcome) return frames.push(data)
      const parsed = parseMessage(data)
      if (parsed?.message.t !== 'welcome') return reject(new Error('first frame is not welcome'))
      welcome = parsed.message
      resolve({ ok: true, ws, welcome, frames, closed })
    })
  })
}

// ---------------------------------------------------------------------------------------------
// HTTP: a raw sender (exact header lines, chunked uploads), metrics, data directories.

export type Response = { status: number; headers: Record<string, string | string[]>; body: Buffer }

export function send(
  url: string,
  options: {
    method?: string
    /** Array values become repeated header lines, names are sent as written. */
    headers?: Record<string, string | string[]>
    /** An array is written chunk by chunk without Content-Length (chunked encoding). */
    body?: Buffer | Buffer[]
  } = {},
): Promise<Response> {
  const target = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: options.method ?? 'POST',
        headers: options.headers ?? {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers as Record<string, string | string[]>,
            body: Buffer.concat(chunks),
          }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    const { body } = options
    if (Array.isArray(body)) {
      for (const chunk of body) req.write(chunk)
      req.end()
    } else {
      req.end(body)
    }
  })
}

/** POSTs a small JSON webhook. */
export const postJson = (url: string, payload: unknown = { zen: 'hi' }) =>
  send(url, {
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(payload)),
  })

export const json = (response: Response): unknown => JSON.parse(response.body.toString('utf8'))

export type Metrics = PrometheusFamily[]

export async function scrape(relayUrl: string, token?: string): Promise<Metrics> {
  const res = await send(`${relayUrl}/metrics`, {
    method: 'GET',
    headers: token ? { authorization: `Bearer ${token}` } : {},
  })
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`)
  return parsePrometheus(res.body.toString('utf8'))
}

export function family(metrics: Metrics, name: string): PrometheusFamily {
  const found = metrics.find((f) => f.name === name)
  if (!found) throw new Error(`no metric family ${name}`)
  return found
}

/** Value of a counter/gauge sample whose labels include `labels` (0 when absent). */
export function value(metrics: Metrics, name: string, labels: Record<string, string> = {}): number {
  const sample = family(metrics, name).metrics.find((m) =>
    Object.entries(labels).every(([key, v]) => m.labels?.[key] === v),
  )
  return sample?.value === undefined ? 0 : Number(sample.value)
}

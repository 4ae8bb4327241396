// An echo agent for relay tests, built from the real agent identity and tunnel code: it answers
// each delivery with its digest (or holds it), and its log lines are kept and awaitable.
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import pino, { type Logger } from 'pino'
import { loadIdentity } from '../../agent/core/identity.ts'
import { type Answer, startTunnel } from '../../agent/tunnel/client.ts'
import type { Delivery, Welcome } from '../../shared/protocol.ts'
import { closeWithPeers } from './peers.ts'
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
      forget()
      tunnel.close()
    },
  }
  const forget = closeWithPeers(() => tunnel.close())
  return agent
}

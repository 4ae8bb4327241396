// The relay ⇄ agent wire protocol. Every frame is `encodeFrame(header, body)`; the header
// types below are the whole vocabulary. Unknown `t` values are ignored so either side can grow.
import { z } from 'zod'
import { decodeFrame, FrameError } from './frame.ts'

export const PROTOCOL_VERSION = 1

/** Header/value map as the relay saw it: lower-case names, repeated headers joined by ", ". */
const Headers = z.record(z.string(), z.string())

/** relay → agent: one webhook, body = the exact bytes the sender posted. */
export const Delivery = z.object({
  t: z.literal('delivery'),
  id: z.string().min(1).max(64),
  app: z.string().min(1).max(64),
  method: z.string().min(1).max(16),
  headers: Headers,
  /** Raw query string without the leading "?" ("" when none). */
  query: z.string(),
  /** Milliseconds since the epoch, when the relay accepted it. */
  receivedAt: z.number(),
  /** Sender address as the relay saw it. */
  remote: z.string(),
})
export type Delivery = z.infer<typeof Delivery>

/**
 * relay → agent: a delivery that waited in the relay's queue. Body = JWE (compact) sealed to the
 * agent's X25519 key, whose plaintext is a whole `delivery` frame. Only the agent can open it.
 */
export const Sealed = z.object({
  t: z.literal('sealed'),
  id: z.string().min(1).max(64),
  receivedAt: z.number(),
})
export type Sealed = z.infer<typeof Sealed>

/** agent → relay: the answer for the sender; also the acknowledgement that ends a delivery. */
export const Result = z.object({
  t: z.literal('result'),
  id: z.string().min(1).max(64),
  status: z.number().int().min(200).max(599),
  headers: Headers,
})
export type Result = z.infer<typeof Result>

/** relay → agent, right after the upgrade; `queued` sealed deliveries follow in order. */
export const Welcome = z.object({
  t: z.literal('welcome'),
  v: z.number().int(),
  instance: z.string(),
  publicUrl: z.string(),
  queued: z.number().int().min(0),
})
export type Welcome = z.infer<typeof Welcome>

/** agent → relay, right after the upgrade. */
export const Hello = z.object({
  t: z.literal('hello'),
  v: z.number().int(),
  agent: z.string().max(200),
})
export type Hello = z.infer<typeof Hello>

const schemas = {
  delivery: Delivery,
  sealed: Sealed,
  result: Result,
  welcome: Welcome,
  hello: Hello,
}
export type Message = Delivery | Sealed | Result | Welcome | Hello

/**
 * Decodes and validates a frame. Returns null for a well-formed frame of a type this version
 * does not know (ignored by design); throws FrameError for anything malformed.
 */
export function parseMessage(data: Buffer): { message: Message; body: Buffer } | null {
  const { header, body } = decodeFrame(data)
  if (typeof header.t !== 'string' || !Object.hasOwn(schemas, header.t)) return null
  const parsed = schemas[header.t as keyof typeof schemas].safeParse(header)
  if (!parsed.success) throw new FrameError(`invalid ${String(header.t)} frame`)
  return { message: parsed.data, body }
}

/** Close codes used on the tunnel. */
export const CLOSE = {
  /** A newer connection of the same instance took over. */
  replaced: 4409,
  /** The peer sent something that is not our protocol. */
  protocolError: 1002,
  /** Relay restarting: reconnect at once. */
  serviceRestart: 1012,
  /** Peer went silent past the heartbeat deadline. */
  timeout: 4408,
} as const

/** Both sides ping this often… */
export const HEARTBEAT_INTERVAL_MS = 20_000
/** …and drop a peer that stayed silent for this many intervals (60 s by default). */
export const SILENT_INTERVALS = 3

/** The JWT audience an agent names: the relay host it dialled, so a token can't be replayed elsewhere. */
export const audienceFor = (host: string) => `toehold-relay:${host}`

/** Header carrying the relay's registration token on an instance's first connection. */
export const REGISTRATION_HEADER = 'x-toehold-registration'

// The relay ⇄ agent wire protocol. Every frame is `encodeFrame(header, body)`; the header
// types below are the whole vocabulary. Unknown `t` values are ignored so either side can grow.
// Valibot, not zod: both daemons load this at start, and zod was 95 modules and several MiB of
// each daemon's RSS (valibot: one module).
import * as v from 'valibot'
import { decodeFrame, FrameError } from './frame.ts'

export const PROTOCOL_VERSION = 1

const Id = v.pipe(v.string(), v.minLength(1), v.maxLength(64))
const Int = v.pipe(v.number(), v.integer())

/** Header/value map as the relay saw it: lower-case names, repeated headers joined by ", ". */
const Headers = v.record(v.string(), v.string())

/** relay → agent: one webhook, body = the exact bytes the sender posted. */
export const Delivery = v.object({
  t: v.literal('delivery'),
  id: Id,
  app: Id,
  method: v.pipe(v.string(), v.minLength(1), v.maxLength(16)),
  headers: Headers,
  /** Raw query string without the leading "?" ("" when none). */
  query: v.string(),
  /** Milliseconds since the epoch, when the relay accepted it. */
  receivedAt: v.number(),
  /** Sender address as the relay saw it. */
  remote: v.string(),
})
export type Delivery = v.InferOutput<typeof Delivery>

/**
 * relay → agent: a delivery that waited in the relay's queue. Body = JWE (compact) sealed to the
 * agent's X25519 key, whose plaintext is a whole `delivery` frame. Only the agent can open it.
 */
export const Sealed = v.object({
  t: v.literal('sealed'),
  id: Id,
  receivedAt: v.number(),
})
export type Sealed = v.InferOutput<typeof Sealed>

/** agent → relay: the answer for the sender; also the acknowledgement that ends a delivery. */
export const Result = v.object({
  t: v.literal('result'),
  id: Id,
  status: v.pipe(Int, v.minValue(200), v.maxValue(599)),
  headers: Headers,
})
export type Result = v.InferOutput<typeof Result>

/** relay → agent, right after the upgrade; `queued` sealed deliveries follow in order. */
export const Welcome = v.object({
  t: v.literal('welcome'),
  v: Int,
  instance: v.string(),
  publicUrl: v.string(),
  queued: v.pipe(Int, v.minValue(0)),
})
export type Welcome = v.InferOutput<typeof Welcome>

/** agent → relay, right after the upgrade. */
export const Hello = v.object({
  t: v.literal('hello'),
  v: Int,
  agent: v.pipe(v.string(), v.maxLength(200)),
})
export type Hello = v.InferOutput<typeof Hello>

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
  const parsed = v.safeParse(schemas[header.t as keyof typeof schemas], header)
  if (!parsed.success) throw new FrameError(`invalid ${String(header.t)} frame`)
  return { message: parsed.output, body }
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

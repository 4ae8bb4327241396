// The relay's settings: flags win over environment variables, which win over safe defaults.
import { HEARTBEAT_INTERVAL_MS } from '../shared/protocol.ts'
import { ConfigError, fromEnv, parseBytes, parseCount, parseDuration } from '../shared/units.ts'
import { parseTrustProxy, type TrustProxy } from './address.ts'

export type RelayConfig = {
  host: string
  port: number
  dataDir: string
  /** Base of every webhook URL; null = derive from the bound address (with a warning). */
  publicUrl: string | null
  /** Admits new instances; null = generate one on first start and keep its hash. */
  registrationToken: string | null
  maxBody: number
  /** Requests per minute; 0 disables that limit. */
  rateIp: number
  rateInstance: number
  queueMax: number
  queueMaxBytes: number
  /** Stored bytes of every instance together (the data directory's share of its disk). */
  dataMaxBytes: number
  /** Webhook bytes held in memory at once, across all requests and tunnels. */
  inflightBytes: number
  /** Open TCP connections at once (agents' tunnels included). */
  maxConnections: number
  /** For a sender to send its request headers. */
  headersTimeoutMs: number
  queueTtlMs: number
  replyTimeoutMs: number
  requestTimeoutMs: number
  heartbeatMs: number
  metricsToken: string | null
  /** host:port to serve /metrics on instead of the public port (e.g. fly's private network). */
  metricsAddr: { host: string; port: number } | null
  /** Which header of the one proxy in front names the client; else the socket's address. */
  trustProxy: TrustProxy
}

/** "127.0.0.1:9091", "[::]:9091" → host and port. */
function parseAddress(name: string, text: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(text.trim())
  if (!match?.[1] || Number(match[2]) > 65535) {
    throw new ConfigError(`${name}: expected host:port, e.g. [::]:9091, got "${text}"`)
  }
  return { host: match[1], port: Number(match[2]) }
}

export type RelayFlags = { host?: string; port?: string; data?: string; publicUrl?: string }

export function relayConfig(flags: RelayFlags, env: NodeJS.ProcessEnv = process.env): RelayConfig {
  const fly = env.FLY_APP_NAME
  const token = env.RELAY_REGISTRATION_TOKEN || null
  if (token !== null && token.length < 24) {
    throw new Error('RELAY_REGISTRATION_TOKEN must be at least 24 characters')
  }
  return {
    host: flags.host ?? env.RELAY_HOST ?? '0.0.0.0',
    port:
      flags.port !== undefined
        ? parseCount('--port', flags.port)
        : fromEnv(env, 'PORT', parseCount, 8080),
    dataDir: flags.data ?? env.RELAY_DATA_DIR ?? './relay-data',
    publicUrl: flags.publicUrl ?? (env.RELAY_PUBLIC_URL || (fly ? `https://${fly}.fly.dev` : null)),
    registrationToken: token,
    maxBody: fromEnv(env, 'RELAY_MAX_BODY', parseBytes, 25 * 1024 ** 2),
    rateIp: fromEnv(env, 'RELAY_RATE_IP', parseCount, 120),
    rateInstance: fromEnv(env, 'RELAY_RATE_INSTANCE', parseCount, 600),
    queueMax: fromEnv(env, 'RELAY_QUEUE_MAX', parseCount, 1000),
    queueMaxBytes: fromEnv(env, 'RELAY_QUEUE_MAX_BYTES', parseBytes, 512 * 1024 ** 2),
    dataMaxBytes: fromEnv(env, 'RELAY_DATA_MAX_BYTES', parseBytes, 768 * 1024 ** 2),
    // Sized for a 256 MB VM: the process itself takes 80-110 MB, and V8 frees the garbage of
    // reading and sealing a body (about its size again) only some 64 MiB later. 48 MiB holds
    // one largest webhook and many small ones at once.
    inflightBytes: fromEnv(env, 'RELAY_INFLIGHT_BYTES', parseBytes, 48 * 1024 ** 2),
    maxConnections: fromEnv(env, 'RELAY_MAX_CONNECTIONS', parseCount, 10_000),
    headersTimeoutMs: fromEnv(env, 'RELAY_HEADERS_TIMEOUT', parseDuration, 10_000),
    queueTtlMs: fromEnv(env, 'RELAY_QUEUE_TTL', parseDuration, 72 * 3_600_000),
    replyTimeoutMs: fromEnv(env, 'RELAY_REPLY_TIMEOUT_MS', parseCount, 8000),
    requestTimeoutMs: fromEnv(env, 'RELAY_REQUEST_TIMEOUT', parseDuration, 60_000),
    heartbeatMs: fromEnv(env, 'RELAY_HEARTBEAT_MS', parseCount, HEARTBEAT_INTERVAL_MS),
    metricsToken: env.RELAY_METRICS_TOKEN || null,
    metricsAddr: fromEnv(env, 'RELAY_METRICS_ADDR', parseAddress, null),
    trustProxy: fromEnv(
      env,
      'RELAY_TRUST_PROXY',
      parseTrustProxy,
      fly ? { mode: 'fly' } : { mode: 'none' },
    ),
  }
}

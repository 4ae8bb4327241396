// The agent's settings, read once at start: flags win over environment variables, which win over
// safe defaults. A value that does not read stops the start with a message naming it.
import { isIP } from 'node:net'
import { resolve } from 'node:path'
import { HEARTBEAT_INTERVAL_MS } from '../shared/protocol.ts'
import { ConfigError, fromEnv, parseCount } from '../shared/units.ts'
import { defaultHome } from './core/home.ts'
import { DEFAULT_SETTINGS, readSettings, type Settings } from './deploy/settings.ts'

export type AgentConfig = {
  /** TOEHOLD_HOME, absolute. */
  home: string
  /** The relay to dial; null = no tunnel (webhooks cannot arrive, a warning says so). */
  relayUrl: string | null
  /** Sent on the first connection only (the relay does not know this key yet). */
  registrationToken: string | null
  apiHost: string
  /**
   * Host names the API answers to besides loopback names and IP literals (DNS rebinding): the
   * --api-host name, and --api-name / TOEHOLD_API_NAMES (comma-separated), e.g. homebox.local.
   */
  apiNames: string[]
  /** 0 picks a free port (tests); agent.json tells the CLI which. */
  apiPort: number
  /** The shared listener routing by Host to apps with a hostname (--http-port); null: none. */
  httpPort: number | null
  heartbeatMs: number
  /** First retry step of commit statuses and notifications; doubles per attempt. */
  reportBackoffMs: number
  /** How long one call to a git host or a notification target may take. */
  reportTimeoutMs: number
  /** TOEHOLD_SANDBOX: `auto` (bubblewrap when it works here) or `off`. */
  sandbox: 'auto' | 'off'
  /** Deploy and supervision knobs (TOEHOLD_HEALTH_TIMEOUT, …); apps override them. */
  deploy: Settings
}

export type AgentFlags = {
  relay?: string
  home?: string
  apiPort?: string
  apiHost?: string
  apiName?: string
  registrationToken?: string
  httpPort?: string
}

function sandboxMode(text: string | undefined): 'auto' | 'off' {
  if (text === undefined || text === '' || text === 'auto') return 'auto'
  if (text === 'off') return 'off'
  throw new ConfigError(`TOEHOLD_SANDBOX: "${text}" is neither auto nor off`)
}

export function agentConfig(flags: AgentFlags, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const port = (name: string, text: string) => {
    const value = parseCount(name, text)
    if (value > 65_535) throw new ConfigError(`${name}: ${value} is not a port (0-65535)`)
    return value
  }
  return {
    home: resolve(flags.home ?? defaultHome(env)),
    relayUrl: flags.relay || env.TOEHOLD_RELAY || null,
    registrationToken: flags.registrationToken || env.TOEHOLD_REGISTRATION_TOKEN || null,
    apiHost: flags.apiHost || '127.0.0.1',
    apiNames: [flags.apiHost ?? '', ...(flags.apiName || env.TOEHOLD_API_NAMES || '').split(',')]
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name !== '' && isIP(name) === 0),
    apiPort: port('--api-port', flags.apiPort ?? '7171'),
    httpPort:
      flags.httpPort !== undefined
        ? port('--http-port', flags.httpPort)
        : fromEnv<number | null>(env, 'TOEHOLD_HTTP_PORT', port, null),
    heartbeatMs: fromEnv(env, 'TOEHOLD_HEARTBEAT_MS', parseCount, HEARTBEAT_INTERVAL_MS),
    reportBackoffMs: fromEnv(env, 'TOEHOLD_REPORT_BACKOFF_MS', parseCount, 1_000),
    reportTimeoutMs: fromEnv(env, 'TOEHOLD_REPORT_TIMEOUT_MS', parseCount, 10_000),
    sandbox: sandboxMode(env.TOEHOLD_SANDBOX),
    deploy: readSettings(DEFAULT_SETTINGS, env, (error) => {
      throw error
    }),
  }
}

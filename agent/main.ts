// `toehold agent`: the long-running process on the home box.
import { createLogger } from '../shared/log.ts'
import { agentHome, ensureHome } from './home.ts'
import { loadIdentity } from './identity.ts'
import { startTunnel } from './tunnel.ts'

export type AgentFlags = {
  relay?: string
  home?: string
  apiPort?: string
  registrationToken?: string
}

export async function runAgent(flags: AgentFlags): Promise<void> {
  const log = createLogger('agent')
  const home = agentHome(flags.home)
  ensureHome(home)
  const identity = await loadIdentity(home.key)
  log.info({ instance: identity.instanceId, home: home.root }, 'agent identity')
  const relayUrl = flags.relay ?? process.env.TOEHOLD_RELAY
  const tunnel = relayUrl
    ? startTunnel({
        relayUrl,
        identity,
        registrationToken: flags.registrationToken ?? process.env.TOEHOLD_REGISTRATION_TOKEN,
        handler: async () => ({
          status: 404,
          headers: { 'content-type': 'application/json' },
          body: Buffer.from('{"error":"unknown app"}'),
        }),
        log,
        heartbeatMs: Number(process.env.TOEHOLD_HEARTBEAT_MS) || undefined,
      })
    : null
  if (!tunnel) log.warn('no --relay / TOEHOLD_RELAY: webhooks cannot reach this agent')

  const stop = (signal: string) => {
    log.info({ signal }, 'agent shutting down')
    tunnel?.close()
    log.flush()
    process.exit(0)
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

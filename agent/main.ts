// `toehold agent`: the long-running process on the home box. Wires state, the deploy engine,
// the webhook intake, the tunnel to the relay and the local API together.
import { randomBytes } from 'node:crypto'
import { renameSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createLogger } from '../shared/log.ts'
import { parseCount } from '../shared/units.ts'
import { createApi } from './api/server.ts'
import { createEvents } from './core/events.ts'
import { agentHome, ensureHome } from './core/home.ts'
import { loadIdentity } from './core/identity.ts'
import { createAgentMetrics } from './core/metrics.ts'
import { createDeployer } from './deploy/engine.ts'
import { createIntake } from './intake/handler.ts'
import { createDeliveryRecorder } from './intake/record.ts'
import { getMeta, openState, setMeta, startCheckpoints } from './state/db.ts'
import { pruneDeliveries } from './state/deliveries.ts'
import { AGENT_NAME, connectUrl, startTunnel } from './tunnel/client.ts'

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/

export type AgentFlags = {
  relay?: string
  home?: string
  apiPort?: string
  apiHost?: string
  registrationToken?: string
}

/** What the CLI reads to find the running agent (0600, rewritten at every start). */
export type AgentInfo = {
  api: string
  apiKey: string
  pid: number
  instance: string
  version: string
}

export async function runAgent(flags: AgentFlags): Promise<void> {
  const log = createLogger('agent')
  const home = agentHome(flags.home)
  ensureHome(home)
  const identity = await loadIdentity(home.key)
  log.info({ instance: identity.instanceId, home: home.root }, 'agent identity')

  const db = openState(home.state)
  const checkpoints = startCheckpoints(home.state, 5_000, (error) =>
    log.warn({ err: error }, 'WAL checkpoint failed'),
  )
  let apiKey = getMeta(db, 'api_key')
  if (!apiKey) {
    apiKey = `thk_${randomBytes(32).toString('base64url')}`
    setMeta(db, 'api_key', apiKey)
  }
  const events = createEvents()
  const metrics = createAgentMetrics()
  const deployer = createDeployer({ db, home, log, events, metrics })
  const deliveries = createDeliveryRecorder({ db, metrics, log })

  const relayUrl = flags.relay ?? process.env.TOEHOLD_RELAY
  // Until the relay's welcome names its public URL, webhook URLs use the address we dial.
  const dialled = relayUrl ? connectUrl(relayUrl).origin.replace(/^ws/, 'http') : null
  const tunnel = relayUrl
    ? startTunnel({
        relayUrl,
        identity,
        registrationToken: flags.registrationToken ?? process.env.TOEHOLD_REGISTRATION_TOKEN,
        handler: createIntake({ db, deployer, deliveries }),
        log,
        heartbeatMs: Number(process.env.TOEHOLD_HEARTBEAT_MS) || undefined,
        onWelcome: () => {
          metrics.relayConnected.set(1)
          events.emit({ type: 'relay', connected: true, at: new Date().toISOString() })
          deployer
            .converge()
            .catch((error: Error) => log.error({ err: error }, 'convergence failed'))
        },
        onClose: () => {
          metrics.relayConnected.set(0)
          events.emit({ type: 'relay', connected: false, at: new Date().toISOString() })
        },
      })
    : null
  if (!tunnel) log.warn('no --relay / TOEHOLD_RELAY: webhooks cannot reach this agent')

  const api = createApi({
    db,
    deployer,
    instanceId: identity.instanceId,
    publicUrl: () => tunnel?.state().publicUrl ?? dialled,
    home,
    events,
    metrics,
    apiKey,
    log,
    tunnel: () => tunnel?.state() ?? null,
  })
  const apiHost = flags.apiHost ?? '127.0.0.1'
  const server = serve({
    fetch: api.fetch,
    hostname: apiHost,
    port: parseCount('--api-port', flags.apiPort ?? '7171'),
  })
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`--api-port ${flags.apiPort ?? 7171} is in use (another agent?)`)
          : error,
      ),
    )
  })
  const { port } = server.address() as AddressInfo
  if (!LOOPBACK.test(apiHost)) {
    log.warn(
      { apiHost },
      'the local API and dashboard are open to the network over plain HTTP: put TLS in front of them',
    )
  }
  // The CLI on this box reaches a wildcard address through loopback.
  const reachable = apiHost === '0.0.0.0' ? '127.0.0.1' : apiHost === '::' ? '::1' : apiHost
  const apiUrl = `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`
  const info: AgentInfo = {
    api: apiUrl,
    apiKey,
    pid: process.pid,
    instance: identity.instanceId,
    version: AGENT_NAME,
  }
  writeFileSync(`${home.agentInfo}.tmp`, JSON.stringify(info, null, 2), { mode: 0o600 })
  renameSync(`${home.agentInfo}.tmp`, home.agentInfo)
  log.info({ api: apiUrl, dashboard: `${apiUrl}/` }, 'local API listening')

  pruneDeliveries(db)
  setInterval(() => pruneDeliveries(db), 3_600_000).unref()
  await deployer.recover()

  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'agent shutting down')
    tunnel?.close()
    server.close()
    await deployer.shutdown()
    deliveries.flush()
    await checkpoints.stop()
    db.close()
    log.flush()
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
}

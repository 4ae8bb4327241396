// Puts the agent together: state, the deploy engine, the webhook intake, the tunnel to the relay
// and the local API with the dashboard. No signals and no exit here (main.ts owns the process),
// so tests run a whole agent inside their own process.
import { randomBytes } from 'node:crypto'
import { renameSync, writeFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import type { Logger } from 'pino'
import { createLogger } from '../shared/log.ts'
import { localUrl } from '../shared/net.ts'
import { VERSION } from '../shared/version.ts'
import type { AgentInfo } from './api/contract.ts'
import { createApi } from './api/server.ts'
import { webhookUrl } from './api/status.ts'
import type { AgentConfig } from './config.ts'
import { createEvents } from './core/events.ts'
import { agentHome, ensureHome } from './core/home.ts'
import { loadIdentity } from './core/identity.ts'
import { createAgentMetrics } from './core/metrics.ts'
import { useSandbox } from './core/sandbox.ts'
import { lazyDashboard } from './dashboard/lazy.ts'
import { createDeployer } from './deploy/engine.ts'
import { createHookManager } from './hosts/manage.ts'
import { createIntake } from './intake/handler.ts'
import { createDeliveryRecorder } from './intake/record.ts'
import { startReporting } from './report/index.ts'
import { createServing } from './serve/listeners.ts'
import { getMeta, openState, setMeta, startCheckpoints } from './state/db.ts'
import { pruneDeliveries } from './state/deliveries.ts'
import { webhookApps } from './state/webhooks.ts'
import { connectUrl, startTunnel } from './tunnel/client.ts'

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/

export type RunningAgent = {
  /** Where the local API and dashboard answer, e.g. http://127.0.0.1:7171. */
  apiUrl: string
  apiKey: string
  instance: string
  /** The shared --http-port, once listening (the port picked when it was 0); null without it. */
  httpPort: number | null
  /** Stops the apps gracefully, closes the tunnel, the API and the state. */
  close(): Promise<void>
}

export async function startAgent(
  config: AgentConfig,
  log: Logger = createLogger('agent'),
): Promise<RunningAgent> {
  const home = agentHome(config.home)
  ensureHome(home, (message) => log.warn(message))
  const isolation = useSandbox(config.sandbox)
  if (isolation === 'none')
    log.warn(
      config.sandbox === 'off'
        ? "TOEHOLD_SANDBOX=off: apps run unsandboxed and can read the agent's secrets"
        : "bubblewrap (bwrap) is not installed or cannot make namespaces here: apps run unsandboxed and can read the agent's secrets (install the bubblewrap package)",
    )
  const identity = await loadIdentity(home.key)
  log.info({ instance: identity.instanceId, home: home.root }, 'agent identity')

  const db = openState(home.state)
  let apiKey = getMeta(db, 'api_key')
  if (!apiKey) {
    apiKey = `thk_${randomBytes(32).toString('base64url')}`
    setMeta(db, 'api_key', apiKey)
  }
  // After the start's own writes: a first start that wrote its key later would look like a
  // change to the first tick and run the checkpoint worker once (~7 MiB glibc keeps after it).
  const checkpoints = startCheckpoints(home.state, 5_000, (error) =>
    log.warn({ err: error }, 'WAL checkpoint failed'),
  )
  const events = createEvents()
  // Set by the relay's welcome, cleared when the tunnel closes; the metric reads it at a scrape.
  let welcomed = false
  const metrics = createAgentMetrics(() => welcomed)
  const serving = createServing({ log, metrics })
  const httpPort = config.httpPort === null ? null : await serving.open(config.httpPort, null)
  if (httpPort !== null) log.info({ httpPort }, 'serving apps by hostname')
  const deployer = createDeployer({
    db,
    home,
    log,
    events,
    metrics,
    serving,
    settings: config.deploy,
  })
  const deliveries = createDeliveryRecorder({ db, metrics, log })

  const { relayUrl } = config
  // Until the relay's welcome names its public URL, webhook URLs use the address we dial.
  const dialled = relayUrl ? connectUrl(relayUrl).origin.replace(/^ws/, 'http') : null
  // `tunnel` is read only once the agent runs (after it is assigned below).
  const publicUrl = () => tunnel?.state().publicUrl ?? dialled
  const hooks = createHookManager({
    db,
    log,
    webhookUrl: (app) =>
      webhookUrl({ db, deployer, instanceId: identity.instanceId, publicUrl }, app),
    tuning: { timeoutMs: config.reportTimeoutMs },
  })
  const reporting = startReporting({
    db,
    events,
    deployer,
    log,
    backoffMs: config.reportBackoffMs,
    timeoutMs: config.reportTimeoutMs,
  })
  const tunnel = relayUrl
    ? startTunnel({
        relayUrl,
        identity,
        registrationToken: config.registrationToken ?? undefined,
        handler: createIntake({ db, deployer, deliveries }),
        log,
        heartbeatMs: config.heartbeatMs,
        onWelcome: () => {
          welcomed = true
          events.emit({ type: 'relay', connected: true, at: new Date().toISOString() })
          deployer
            .converge(webhookApps(db))
            .catch((error: Error) => log.error({ err: error }, 'convergence failed'))
          // The relay may have moved: hooks registered at an older URL are reported.
          hooks.audit().catch((error: Error) => log.error({ err: error }, 'webhook audit failed'))
        },
        onClose: () => {
          welcomed = false
          events.emit({ type: 'relay', connected: false, at: new Date().toISOString() })
        },
      })
    : null
  if (!tunnel) log.warn('no --relay / TOEHOLD_RELAY: webhooks cannot reach this agent')

  const deps = {
    db,
    deployer,
    instanceId: identity.instanceId,
    publicUrl,
    home,
    events,
    metrics,
    apiKey,
    apiNames: config.apiNames,
    log,
    tunnel: () => tunnel?.state() ?? null,
    traffic: serving.traffic,
    hooks,
    notifier: reporting.notifier,
  }
  const api = createApi(deps, lazyDashboard(deps))
  const server = serve({
    fetch: api.fetch,
    hostname: config.apiHost,
    port: config.apiPort,
  }) as Server
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`--api-port ${config.apiPort} is in use (another agent?)`)
          : error,
      ),
    )
  }).catch(async (error) => {
    tunnel?.close()
    reporting.stop()
    await deployer.shutdown()
    await serving.close()
    await checkpoints.stop()
    db.close()
    throw error
  })
  const { port } = server.address() as AddressInfo
  if (!LOOPBACK.test(config.apiHost)) {
    log.warn(
      { apiHost: config.apiHost },
      'the local API and dashboard are open to the network over plain HTTP: put TLS in front of them',
    )
  }
  const apiUrl = localUrl(config.apiHost, port)
  const info: AgentInfo = {
    api: apiUrl,
    apiKey,
    pid: process.pid,
    instance: identity.instanceId,
    version: VERSION,
  }
  // A fresh temp file (never one someone left there) holds the info until it is complete.
  const temp = `${home.agentInfo}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  writeFileSync(temp, JSON.stringify(info, null, 2), { mode: 0o600, flag: 'wx' })
  renameSync(temp, home.agentInfo)
  log.info({ api: apiUrl, dashboard: `${apiUrl}/` }, 'local API listening')

  pruneDeliveries(db)
  const pruner = setInterval(() => pruneDeliveries(db), 3_600_000)
  pruner.unref()
  await deployer.recover()

  let closed: Promise<void> | null = null
  return {
    apiUrl,
    apiKey,
    instance: identity.instanceId,
    httpPort,
    close() {
      closed ??= (async () => {
        clearInterval(pruner)
        tunnel?.close()
        reporting.stop()
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()))
        await deployer.shutdown()
        await serving.close()
        // Open event streams and log follows would hold the server open until they end.
        server.closeAllConnections()
        await serverClosed
        deliveries.flush()
        await checkpoints.stop()
        db.close()
      })()
      return closed
    },
  }
}

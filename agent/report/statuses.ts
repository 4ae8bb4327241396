// Each deployment of a commit reported on the git host: a commit status (context toehold/<app>),
// pending with the stage while it runs, then success or failure; on GitHub also a Deployment in
// the app's environment. Best effort: sent in the background, retried with backoff, rate limits
// honoured (http.ts), the newest state only when stages pass faster than the host answers, and
// never a wait or a failure for the deploy itself.
import type { Logger } from 'pino'
import type { AgentEvent } from '../api/contract.ts'
import type { Events } from '../core/events.ts'
import type { Deployer } from '../deploy/types.ts'
import { HOST_NAMES } from '../hosts/base.ts'
import type { HostHttp } from '../hosts/http.ts'
import { resolveHost } from '../hosts/manage.ts'
import type { CommitStatus, HostApi } from '../hosts/types.ts'
import { getApp } from '../state/apps.ts'
import type { Db } from '../state/db.ts'
import { deployLogLine } from './deploy-log.ts'

type DeploymentEvent = Extract<AgentEvent, { type: 'deployment' }>

type Wanted = CommitStatus & { final: boolean; unchanged?: boolean }

type Slot = {
  app: string
  deployment: number
  commit: string
  /** The newest status wanted, and the last one sent. */
  wanted: Wanted
  sent: string | null
  api: Promise<HostApi | null>
  /** GitHub's Deployment for this one, once created. */
  hostDeployment: string | null
  busy: boolean
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

/** The commit status a deployment event stands for; null until the deployed commit is known. */
function statusFor(event: DeploymentEvent, totalMs: number | null): Wanted | null {
  const context = `toehold/${event.app}`
  switch (event.status) {
    case 'queued':
      return null
    case 'running':
      // While fetching, the commit is still the pushed one: the deployed head is known after.
      if (event.stage === 'fetching' || event.stage === null) return null
      return {
        state: 'pending',
        description: `deploying: ${event.stage ?? 'starting'}`,
        context,
        final: false,
      }
    case 'live':
      return {
        state: 'success',
        description: totalMs === null ? 'live' : `live in ${seconds(totalMs)}`,
        context,
        final: true,
      }
    case 'unchanged':
      return {
        state: 'success',
        description: 'already live',
        context,
        final: true,
        unchanged: true,
      }
    case 'superseded':
      return { state: 'error', description: 'superseded by a newer push', context, final: true }
    case 'failed':
      return {
        state: 'failure',
        description: `failed at ${event.stage ?? 'queued'}: ${event.reason ?? 'unknown reason'}`,
        context,
        final: true,
      }
  }
}

export function createStatusReporter(deps: {
  db: Db
  deployer: Deployer
  events: Events
  log: Logger
  /** Budget of background host calls (tests shorten it). */
  tuning?: Partial<HostHttp>
}) {
  const { db, deployer, log } = deps
  const tuning: Partial<HostHttp> = {
    attempts: 5,
    maxWaitMs: 300_000,
    backoffMs: 1_000,
    ...deps.tuning,
  }
  const slots = new Map<string, Slot>()
  let stopped = false

  async function hostFor(app: string): Promise<HostApi | null> {
    const row = getApp(db, app)
    if (!row) return null
    const resolved = await resolveHost(db, row, tuning)
    return 'api' in resolved ? resolved.api : null
  }

  async function sendOne(slot: Slot, api: HostApi, status: Slot['wanted']) {
    const name = HOST_NAMES[api.kind]
    try {
      await api.setStatus(slot.commit, status)
      await deployLogLine(
        deps,
        slot.app,
        slot.deployment,
        `${name}: commit status ${status.state} (${status.description})`,
      )
    } catch (error) {
      const reason = (error as Error).message
      log.warn(
        { app: slot.app, deployment: slot.deployment, host: api.kind, reason },
        'commit status not sent',
      )
      await deployLogLine(
        deps,
        slot.app,
        slot.deployment,
        `${name} refused the commit status ${status.state}: ${reason}`,
      )
    }
    const deployments = api.deployments
    // An unchanged deployment deployed nothing: no Deployment for it.
    if (!deployments || status.unchanged) return
    const environment = slot.app
    try {
      if (slot.hostDeployment === null) {
        slot.hostDeployment = await deployments.create(slot.commit, environment, status.description)
        await deployments.setState(
          slot.hostDeployment,
          'in_progress',
          status.description,
          environment,
        )
      }
      if (status.final) {
        const state =
          status.state === 'success' ? 'success' : status.state === 'error' ? 'inactive' : 'failure'
        await deployments.setState(slot.hostDeployment, state, status.description, environment)
        await deployLogLine(
          deps,
          slot.app,
          slot.deployment,
          `${name}: deployment ${slot.hostDeployment} ${state}`,
        )
      }
    } catch (error) {
      const reason = (error as Error).message
      log.warn({ app: slot.app, deployment: slot.deployment, reason }, 'deployment not reported')
      await deployLogLine(
        deps,
        slot.app,
        slot.deployment,
        `${name} refused the deployment: ${reason}`,
      )
    }
  }

  /** Sends the newest wanted status until it is the one sent; one loop per deployment. */
  async function drain(key: string, slot: Slot) {
    if (slot.busy) return
    slot.busy = true
    let api: HostApi | null = null
    try {
      api = await slot.api
      while (api && !stopped) {
        const status = slot.wanted
        const id = `${status.state} ${status.description}`
        if (slot.sent === id) break
        await sendOne(slot, api, status)
        slot.sent = id
      }
    } finally {
      slot.busy = false
      // Nothing awaits between the loop's last check and here, so no newer status is missed.
      const done = slot.sent === `${slot.wanted.state} ${slot.wanted.description}`
      if (slot.wanted.final && (done || api === null || stopped)) slots.delete(key)
    }
  }

  function onEvent(event: AgentEvent) {
    if (event.type !== 'deployment' || stopped || !event.commit) return
    const total =
      event.status === 'live'
        ? (deployer.deployment(event.app, event.deployment)?.timings.total ?? null)
        : null
    const wanted = statusFor(event, total)
    if (!wanted) return
    const key = `${event.app}#${event.deployment}`
    let slot = slots.get(key)
    // Superseded before it ran: nothing was reported for it, nothing is to be.
    if (!slot && event.status === 'superseded') return
    if (!slot) {
      slot = {
        app: event.app,
        deployment: event.deployment,
        commit: event.commit,
        wanted,
        sent: null,
        api: hostFor(event.app).catch(() => null),
        hostDeployment: null,
        busy: false,
      }
      slots.set(key, slot)
    }
    slot.wanted = wanted
    drain(key, slot).catch((error: Error) =>
      log.error({ err: error }, 'commit status reporter failed'),
    )
  }

  const unsubscribe = deps.events.subscribe(onEvent)
  return {
    stop() {
      stopped = true
      unsubscribe()
    },
  }
}

// A deployment's progress: every change is written to its row and announced on the event bus
// (the live stream) at once, with the time spent per stage; the outcome also goes to metrics.

import type { Deployment, DeploymentStatus, Stage } from '../api/contract.ts'
import type { Events } from '../core/events.ts'
import type { AgentMetrics } from '../core/metrics.ts'
import type { Db } from '../state/db.ts'
import { type DeploymentChange, getDeployment, updateDeployment } from '../state/deployments.ts'

type Deps = { db: Db; events: Events; metrics: AgentMetrics }

type Outcome = Exclude<DeploymentStatus, 'queued' | 'running'>

function announce(deps: Deps, app: string, id: number): void {
  const row = getDeployment(deps.db, app, id)
  if (!row) return
  deps.events.emit({
    type: 'deployment',
    app,
    deployment: id,
    status: row.status,
    stage: row.stage,
    commit: row.commit,
    reason: row.reason,
    at: new Date().toISOString(),
  })
}

function count(deps: Deps, app: string, outcome: Outcome, seconds: number | null): void {
  deps.metrics.deployments.inc({ app, result: outcome })
  if (seconds !== null && (outcome === 'live' || outcome === 'failed'))
    deps.metrics.deploymentDuration.observe({ app }, seconds)
  if (outcome === 'live') deps.metrics.lastDeploy.set({ app }, Date.now() / 1000)
}

/** Ends a deployment that never ran (superseded, or left behind by a stopped agent). */
export function settle(
  deps: Deps,
  app: string,
  id: number,
  outcome: 'superseded' | 'failed',
  reason: string,
): void {
  updateDeployment(deps.db, app, id, {
    status: outcome,
    reason,
    finishedAt: Date.now(),
    ...(outcome === 'superseded' ? { stage: null } : {}),
  })
  announce(deps, app, id)
  count(deps, app, outcome, null)
}

/** Announces a freshly queued deployment. */
export const announceQueued = (deps: Deps, deployment: Deployment) =>
  announce(deps, deployment.app, deployment.id)

export type Progress = ReturnType<typeof track>

export function track(deps: Deps, deployment: Deployment) {
  const { app, id } = deployment
  const started = Date.now()
  const timings: Record<string, number> = { queued: started - Date.parse(deployment.createdAt) }
  let stage: Stage = 'queued'
  let stageStarted = started

  const closeStage = () => {
    const now = Date.now()
    timings[stage] = (timings[stage] ?? 0) + now - stageStarted
    stageStarted = now
  }

  return {
    get stage(): Stage {
      return stage
    },
    enter(next: Stage): void {
      closeStage()
      const first = stage === 'queued'
      stage = next
      updateDeployment(deps.db, app, id, {
        status: 'running',
        stage,
        timings,
        ...(first ? { startedAt: started } : {}),
      })
      announce(deps, app, id)
    },
    /** Commit, message, release (and a tracked tag): known once fetched. */
    set(change: Pick<DeploymentChange, 'ref' | 'commit' | 'message' | 'release'>): void {
      updateDeployment(deps.db, app, id, change)
    },
    /** Adds a step's duration (`git`, `install`, `predeploy`, `stop`, `boot`). */
    time(step: string, ms: number): void {
      timings[step] = (timings[step] ?? 0) + ms
    },
    /** `at`: the stage a failure belongs to, when it was noticed in a later one. */
    finish(
      outcome: 'live' | 'failed' | 'unchanged',
      reason: string | null = null,
      at: Stage = stage,
    ): void {
      closeStage()
      timings.total = Date.now() - started
      updateDeployment(deps.db, app, id, {
        status: outcome,
        stage: outcome === 'live' ? 'live' : outcome === 'unchanged' ? null : at,
        reason,
        timings,
        finishedAt: Date.now(),
      })
      announce(deps, app, id)
      count(deps, app, outcome, timings.total / 1000)
    },
  }
}

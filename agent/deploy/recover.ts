// At agent start, after whatever ended the previous agent (SIGKILL included): end its strays,
// fail what it left unfinished, clear half-built releases, bring every app back to its desired
// state on its current (last good) release, and request the interrupted commit again — once.

import type { Deployment } from '../api/contract.ts'
import { ours, stopGroup } from '../core/groups.ts'
import { getApp, listApps } from '../state/apps.ts'
import type { Db } from '../state/db.ts'
import { unfinishedDeployments } from '../state/deployments.ts'
import { forgetProcess, listProcesses, type ProcessRecord } from '../state/processes.ts'
import { removeLeftovers } from '../state/releases.ts'
import { clearStaleLocks } from './build/source.ts'
import { settle } from './progress.ts'
import type { Context } from './run/launch.ts'
import { switchRelease } from './run/switch.ts'
import type { DeployRequest } from './types.ts'

/** How often an app whose public port another program holds tries to take it again. */
const RECLAIM_MS = 5000

/**
 * Takes the app's public port, or, while another program holds it (one started while the agent
 * was down), says so and tries again every RECLAIM_MS until it is free, the app is removed or the
 * agent stops. The release runs meanwhile; `toehold doctor` names the holder.
 */
async function claimOrRetry(ctx: Context, name: string, retry = false): Promise<void> {
  const app = getApp(ctx.db, name)
  if (!app || ctx.signal.aborted) return
  try {
    await ctx.serving.claim(app)
    if (retry)
      ctx.log.info({ app: name, port: app.port }, 'serving the app: its port is free again')
  } catch (error) {
    if (!retry)
      ctx.log.error(
        { app: name, reason: (error as Error).message },
        `cannot serve the app; trying again every ${RECLAIM_MS / 1000}s`,
      )
    setTimeout(() => void claimOrRetry(ctx, name, true), RECLAIM_MS).unref()
  }
}

export type Leftovers = {
  processes: ProcessRecord[]
  deployments: (Deployment & { force: boolean })[]
}

/**
 * What the previous agent left: read when the engine is created, before the API can take
 * requests, so nothing the new agent starts is mistaken for it.
 */
export const leftovers = (db: Db): Leftovers => ({
  processes: listProcesses(db),
  deployments: unfinishedDeployments(db),
})

export async function recover(
  ctx: Context,
  left: Leftovers,
  again: (app: string, request: DeployRequest) => void,
): Promise<void> {
  const { db, home, log } = ctx

  // Only groups whose leader still has its recorded start time (or whose leader is gone but
  // members are left) are ours: a recycled pid is someone else's and is left alone.
  await Promise.all(
    left.processes.map(async (stray) => {
      if (ours(stray.pid, stray.startTicks)) {
        log.warn(
          { app: stray.app, role: stray.role, pid: stray.pid },
          'ending a process the previous agent left',
        )
        const app = getApp(db, stray.app)
        await stopGroup(stray.pid, (app ? ctx.settings(app.name) : ctx.defaults).graceMs)
      }
      forgetProcess(db, stray.app, stray.role, stray.pid)
    }),
  )

  const interrupted = new Map<string, Deployment & { force: boolean }>()
  for (const deployment of left.deployments) {
    settle(
      ctx,
      deployment.app,
      deployment.id,
      'failed',
      deployment.status === 'queued'
        ? 'the agent restarted while this deployment was queued'
        : `agent restarted during ${deployment.stage}`,
    )
    interrupted.set(deployment.app, deployment)
  }

  const apps = listApps(db)
  for (const app of apps) {
    removeLeftovers(db, home.releases(app.name), app.name, app.currentRelease)
    clearStaleLocks(home.repoCache(app.name))
  }
  // The strays are gone, so are the ports they held: take every app's public port again.
  await Promise.all(
    apps.map(async (app) => {
      await claimOrRetry(ctx, app.name)
      if (app.currentRelease && app.desired === 'stopped')
        ctx.serving.withdraw(app.name, 'it is stopped', 5)
    }),
  )

  await Promise.all(
    apps
      .filter((app) => app.desired === 'running' && app.currentRelease)
      .map((app) =>
        ctx
          .exclusive(app.name, async () => {
            // A deployment requested meanwhile may have brought it up already.
            if (ctx.supervisor.live(app.name)) return
            await switchRelease(ctx, app, app.currentRelease as string, ctx.settings(app.name))
            log.info({ app: app.name, release: app.currentRelease }, 'app restored')
          })
          .catch((error: Error) => {
            log.error({ app: app.name, reason: error.message }, 'could not restore the app')
            ctx.serving.withdraw(app.name, 'it did not start again after the agent restarted', 30)
          }),
      ),
  )

  // A deployment interrupted by a restart goes again, unless it was already such a second try
  // (a commit that kills the agent must not loop) or a rollback (the user decides again).
  let retried = 0
  for (const deployment of interrupted.values()) {
    if (deployment.trigger === 'recover' || deployment.trigger === 'rollback') continue
    if (!getApp(db, deployment.app)) continue
    again(deployment.app, {
      trigger: 'recover',
      force: deployment.force,
      ...(deployment.ref ? { ref: deployment.ref } : {}),
      ...(!deployment.ref && deployment.commit ? { commit: deployment.commit } : {}),
    })
    retried += 1
  }
  log.info({ apps: apps.length, retried }, 'recovered')
}

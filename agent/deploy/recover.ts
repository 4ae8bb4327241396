// At agent start, after whatever ended the previous agent (SIGKILL included): end its strays,
// fail what it left unfinished, clear half-built releases, bring every app back to its desired
// state on its current (last good) release, and request the interrupted commit again — once.
import { envFor, getApp, listApps } from '../apps.ts'
import { unfinishedDeployments } from './deployments.ts'
import { ours, stopGroup } from './groups.ts'
import { bringUp, type Context } from './launch.ts'
import { clearProcesses, listProcesses } from './processes.ts'
import { settle } from './progress.ts'
import { removeLeftovers } from './releases.ts'
import { settingsFor } from './settings.ts'
import { clearStaleLocks } from './source.ts'
import type { Deployment, DeployRequest } from './types.ts'

export async function recover(
  ctx: Context,
  again: (app: string, request: DeployRequest) => void,
): Promise<void> {
  const { db, home, log } = ctx

  // Only groups whose leader still has its recorded start time (or whose leader is gone but
  // members are left) are ours: a recycled pid is someone else's and is left alone.
  await Promise.all(
    listProcesses(db).map(async (stray) => {
      if (!ours(stray.pid, stray.startTicks)) return
      log.warn(
        { app: stray.app, role: stray.role, pid: stray.pid },
        'ending a process the previous agent left',
      )
      const app = getApp(db, stray.app)
      await stopGroup(stray.pid, settingsFor(app ? envFor(db, app.name) : {}).graceMs)
    }),
  )
  clearProcesses(db)

  const interrupted = new Map<string, Deployment & { force: boolean }>()
  for (const deployment of unfinishedDeployments(db)) {
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

  await Promise.all(
    apps
      .filter((app) => app.desired === 'running' && app.currentRelease)
      .map((app) =>
        ctx
          .exclusive(app.name, () =>
            bringUp(ctx, app, app.currentRelease as string, settingsFor(envFor(db, app.name))),
          )
          .then(
            () => log.info({ app: app.name, release: app.currentRelease }, 'app restored'),
            (error: Error) =>
              log.error({ app: app.name, reason: error.message }, 'could not restore the app'),
          ),
      ),
  )

  // A deployment interrupted by a restart goes again, unless it was already such a second try
  // (a commit that kills the agent must not loop) or a rollback (the user decides again).
  for (const deployment of interrupted.values()) {
    if (deployment.trigger === 'recover' || deployment.trigger === 'rollback') continue
    if (!getApp(db, deployment.app)) continue
    again(deployment.app, {
      trigger: 'recover',
      force: deployment.force,
      ...(deployment.ref ? { ref: deployment.ref } : {}),
      ...(!deployment.ref && deployment.commit ? { commit: deployment.commit } : {}),
    })
  }
  log.info({ apps: apps.length, redeploying: interrupted.size }, 'recovered')
}

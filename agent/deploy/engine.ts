// The deploy engine: deployments go through per-app lanes (lanes.ts) into the pipeline; here are
// start/stop/restart, rollback, convergence and polling; recovery at start, shutdown at SIGTERM.
import { rmSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Logger } from 'pino'
import type { Deployment, Trigger } from '../api/contract.ts'
import { AppError } from '../core/errors.ts'
import type { Events } from '../core/events.ts'
import { gitAuth, remoteHead } from '../core/git.ts'
import type { Home } from '../core/home.ts'
import type { AgentMetrics } from '../core/metrics.ts'
import { type Tracking, tracking } from '../core/tags.ts'
import type { Serving } from '../serve/listeners.ts'
import { type App, getApp, listApps, requireApp, setDesired } from '../state/apps.ts'
import type { Db } from '../state/db.ts'
import {
  createDeployment,
  deployedBefore,
  findDeployment,
  getDeployment,
  lastDeployment,
  listDeployments,
} from '../state/deployments.ts'
import { envFor, envScopes } from '../state/env.ts'
import { getPin, pinApp, unpinApp } from '../state/pins.ts'
import { currentCommit, findRelease, listReleases, previousRelease } from '../state/releases.ts'
import { trackedTags } from './build/source.ts'
import { createLanes } from './lanes.ts'
import { announceQueued, settle } from './progress.ts'
import { leftovers, recover } from './recover.ts'
import { appLogPath, buildLogPath, type Context, findBun } from './run/launch.ts'
import { createSupervisor } from './run/supervisor.ts'
import { switchRelease } from './run/switch.ts'
import { readSettings, type Settings } from './settings.ts'
import type { Deployer, DeployRequest } from './types.ts'

export type DeployerDeps = {
  db: Db
  home: Home
  log: Logger
  events: Events
  metrics: AgentMetrics
  /** The apps' public listeners (the deployer switches their routes). */
  serving: Serving
  /** Deploy settings from the agent's environment; apps override them with their variables. */
  settings: Settings
}

/** How often the poller looks for apps whose --poll interval is due. */
const POLL_TICK_MS = 1000

export function createDeployer(deps: DeployerDeps): Deployer {
  const { db, home, log } = deps
  const left = leftovers(db)
  const bun = findBun()
  if (!bun) log.warn("bun is not on the agent's PATH: deployments will fail until it is")
  const shutdown = new AbortController()
  const locks = new Map<string, Promise<unknown>>()
  const ctx: Context = {
    ...deps,
    supervisor: createSupervisor({ ...deps, restart: (app) => restartCrashed(app) }),
    bun,
    signal: shutdown.signal,
    defaults: deps.settings,
    settings: (app, warn = () => {}) =>
      readSettings(deps.settings, envFor(db, app), (error) =>
        warn(`${error.message}; using the default`),
      ),
    exclusive(app, fn) {
      const result = (locks.get(app) ?? Promise.resolve()).then(fn)
      locks.set(
        app,
        result.catch(() => {}),
      )
      return result
    },
  }
  const { supervisor } = ctx
  const lanes = createLanes<DeployRequest>({
    // The build pipeline (fetch, install, predeploy, switch) loads with the first deployment.
    run: async (deployment, request, signal) =>
      (await import('./pipeline.ts')).runDeployment(ctx, deployment, request, signal),
    superseded: (replaced, by) =>
      settle(ctx, replaced.app, replaced.id, 'superseded', `superseded by #${by.id}`),
    debounceMs: (app) => ctx.settings(app).debounceMs,
    crashed: (app, error) => log.error({ app, err: error }, 'deployment crashed'),
  })

  function enqueue(deployment: Deployment, request: DeployRequest): Deployment {
    announceQueued(ctx, deployment)
    lanes.enqueue(deployment, request)
    return deployment
  }

  function request(name: string, request: DeployRequest): Deployment {
    const app = requireApp(db, name)
    if (request.ref?.startsWith('-'))
      throw new AppError(`not a branch, tag or commit: ${request.ref}`)
    // A deploy asked for by hand is the operator's word: it lifts a rollback's pin.
    if (request.trigger === 'manual') unpinApp(db, app.name)
    const deployment = createDeployment(db, app.name, {
      trigger: request.trigger,
      ref: request.ref ?? null,
      commit: request.commit ?? null,
      force: request.force ?? false,
    })
    return enqueue(deployment, request)
  }

  /** Brings the current release up (beside the running one, then the switch); an AppError (409)
   *  with the reason if it does not come up. */
  async function up(app: App): Promise<void> {
    if (!app.currentRelease)
      throw new AppError(`${app.name} has not been deployed yet: toehold deploy ${app.name}`, 409)
    try {
      await switchRelease(ctx, app, app.currentRelease, ctx.settings(app.name))
    } catch (error) {
      throw new AppError(`${app.name} did not start: ${(error as Error).message}`, 409)
    }
  }

  /** The supervisor's restart of a crashed release: the same path as a deploy, crash history kept. */
  function restartCrashed(name: string): Promise<void> {
    return ctx.exclusive(name, async () => {
      const app = getApp(db, name)
      // Stopped, removed, or brought up by a deploy meanwhile: nothing to restart.
      if (!app?.currentRelease || app.desired !== 'running' || supervisor.live(name)) return
      await switchRelease(ctx, app, app.currentRelease, ctx.settings(name), undefined, {
        keepCrashes: true,
      })
    })
  }

  /** A tag-tracked app's newest tag on the remote, read into its cache. */
  async function newestTag(app: App, track: Tracking) {
    const [newest] = await trackedTags(
      {
        app: app.name,
        repo: app.repo,
        branch: app.branch,
        cache: home.repoCache(app.name),
        auth: gitAuth(envScopes(db, app.name), app.repo),
        signal: shutdown.signal,
      },
      track,
    )
    return newest ? { tag: newest.tag, commit: newest.commit } : null
  }

  // Convergence and polling: deploy the branch head (or the newest tag) when it moved to a
  // commit never tried yet.
  const checking = new Set<string>()
  async function check(app: App, trigger: Extract<Trigger, 'converge' | 'poll'>): Promise<void> {
    if (!app.currentRelease || checking.has(app.name) || shutdown.signal.aborted) return
    checking.add(app.name)
    try {
      const tags = tracking(app)
      const target: { commit: string | null; tag?: string } | null = tags
        ? await newestTag(app, tags)
        : {
            commit: await remoteHead(
              app.repo,
              app.branch,
              gitAuth(envScopes(db, app.name), app.repo),
            ),
          }
      const head = target?.commit
      if (!head || head === currentCommit(db, app.name, app.currentRelease)) return
      // A commit that failed (or was rolled back from) is not retried on every check.
      if (deployedBefore(db, app.name, head)) return
      log.info(
        { app: app.name, commit: head, trigger },
        `${tags ? 'tag' : 'branch'} moved: deploying`,
      )
      request(app.name, { trigger, commit: head, ...(target.tag ? { tag: target.tag } : {}) })
    } catch (error) {
      log.warn(
        { app: app.name, trigger, reason: (error as Error).message },
        `cannot check the ${tracking(app) ? 'tags' : 'branch'}`,
      )
    } finally {
      checking.delete(app.name)
    }
  }

  const lastPoll = new Map<string, number>()
  const started = Date.now()
  const poller = setInterval(() => {
    const now = Date.now()
    for (const app of listApps(db)) {
      if (!app.pollMs || now - (lastPoll.get(app.name) ?? started) < app.pollMs) continue
      lastPoll.set(app.name, now)
      void check(app, 'poll')
    }
  }, POLL_TICK_MS)
  poller.unref()

  return {
    request,
    rollback(name, to) {
      const app = requireApp(db, name)
      const target = to
        ? findRelease(db, app.name, to, app.currentRelease)
        : previousRelease(db, app.name, app.currentRelease)
      if (!target) {
        const kept = listReleases(db, app.name, app.currentRelease).map((r) => r.name)
        throw new AppError(
          to
            ? `no kept release "${to}" of ${app.name} (kept: ${kept.join(', ') || 'none'})`
            : `${app.name} has no earlier release to roll back to (kept: ${kept.join(', ') || 'none'})`,
          404,
        )
      }
      if (target.name === app.currentRelease)
        throw new AppError(`${app.name} already runs ${target.name}`, 409)
      // Rolling (forward) onto the pinned commit itself ends the pin; any other rollback pins.
      const from = currentCommit(db, app.name, app.currentRelease)
      if (target.commit === getPin(db, app.name)?.commit) unpinApp(db, app.name)
      else if (from) pinApp(db, app.name, from, target.name)
      const deployment = createDeployment(db, app.name, {
        trigger: 'rollback',
        ref: target.name,
        commit: target.commit,
        release: target.name,
      })
      return enqueue(deployment, { trigger: 'rollback', ref: target.name })
    },
    async start(name) {
      setDesired(db, requireApp(db, name).name, 'running')
      await ctx.exclusive(name, async () => {
        if (supervisor.live(name)) return
        await up(requireApp(db, name))
      })
    },
    async stop(name) {
      setDesired(db, requireApp(db, name).name, 'stopped')
      await ctx.exclusive(name, () => supervisor.stop(name))
    },
    async restart(name) {
      setDesired(db, requireApp(db, name).name, 'running')
      await ctx.exclusive(name, () => up(requireApp(db, name)))
    },
    runtime(name) {
      const known = supervisor.runtime(name)
      if (known) return { ...known }
      return {
        state: getApp(db, name)?.currentRelease ? 'stopped' : 'not_deployed',
        pid: null,
        since: null,
        restarts: 0,
      }
    },
    pin: (app) => getPin(db, app),
    deployments: (app, limit) => listDeployments(db, app, limit),
    deployment: (app, id) => getDeployment(db, app, id),
    findDeployment: (app, name) => findDeployment(db, app, name),
    lastDeployment: (app) => lastDeployment(db, app),
    liveCommit: (app) => currentCommit(db, app, getApp(db, app)?.currentRelease ?? null),
    liveTag(name) {
      const app = getApp(db, name)
      if (!app || !tracking(app)) return null
      const live = listReleases(db, name, app.currentRelease).find((release) => release.live)
      return (live && getDeployment(db, name, live.deployment)?.ref) ?? null
    },
    releases: (app) => listReleases(db, app, getApp(db, app)?.currentRelease ?? null),
    buildLogPath: (app, id) => buildLogPath(home, app, id),
    appLogPath: (app) => appLogPath(home, app),
    async converge(names) {
      const apps = names.map((name) => getApp(db, name)).filter((app) => app !== undefined)
      await Promise.all(apps.map((app) => check(app, 'converge')))
      log.info({ apps: apps.length }, 'converged')
    },
    recover: () => recover(ctx, left, request),
    async claim(name) {
      const app = requireApp(db, name)
      await deps.serving.claim(app)
    },
    async forget(name) {
      await lanes.forget(name)
      await ctx.exclusive(name, () => supervisor.forget(name))
      await deps.serving.release(name)
      rmSync(dirname(home.releases(name)), { recursive: true, force: true })
    },
    async shutdown() {
      shutdown.abort()
      clearInterval(poller)
      await lanes.close()
      await supervisor.stopAll()
    },
  }
}

// One deployment, start to end: fetching → installing → building → starting → health_check →
// live (a rollback starts at `starting`). Nothing touches the running app until the switch
// (run/switch.ts): the new release starts beside it and takes the traffic only once healthy.
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Deployment } from '../api/contract.ts'
import { appEnv } from '../core/child-env.ts'
import { gitAuth } from '../core/git.ts'
import { type LogFile, openLog } from '../core/logfile.ts'
import { tracking } from '../core/tags.ts'
import { requireApp, setCurrentRelease } from '../state/apps.ts'
import { envFor, envScopes } from '../state/env.ts'
import { forgetProcess, recordProcess } from '../state/processes.ts'
import {
  addRelease,
  currentCommit,
  findRelease,
  pruneReleases,
  releaseName,
} from '../state/releases.ts'
import { checkout, resolveCommit, resolveTag } from './build/source.ts'
import { runStep } from './build/steps.ts'
import { pinHolds } from './pin.ts'
import { type Progress, track } from './progress.ts'
import { buildLogPath, type Context, readPackage, requireBun } from './run/launch.ts'
import { type StageError, switchRelease } from './run/switch.ts'
import type { Settings } from './settings.ts'
import type { DeployRequest } from './types.ts'

type Run = {
  ctx: Context
  deployment: Deployment
  request: DeployRequest
  signal: AbortSignal
  progress: Progress
  settings: Settings
  log: LogFile
  /** What is being deployed, once known. */
  commit: string
  message: string | null
}

const elapsed = (since: number) => Date.now() - since

export async function runDeployment(
  ctx: Context,
  deployment: Deployment,
  request: DeployRequest,
  signal: AbortSignal,
): Promise<void> {
  const { app: name, id } = deployment
  mkdirSync(ctx.home.logs(name), { recursive: true })
  const log = openLog(buildLogPath(ctx.home, name, id), {
    rotate: false,
    onLine: (line) =>
      ctx.events.emit({
        type: 'log',
        app: name,
        deployment: id,
        stream: 'build',
        line,
        at: new Date().toISOString(),
      }),
  })
  const settings = ctx.settings(name, (problem) => log.line(`[toehold] ${problem}`))
  const run: Run = {
    ctx,
    deployment,
    request,
    signal,
    progress: track(ctx, deployment),
    settings,
    log,
    commit: '',
    message: null,
  }
  let built: string | null = null
  try {
    if (request.trigger === 'rollback') await rollBack(run)
    else {
      built = await build(run)
      if (built) await goLive(run, built, true)
    }
  } catch (error) {
    // A shutdown or a removed app: the next start (or nobody) picks this deployment up.
    if (signal.aborted) return
    const stage = (error as StageError).stage ?? run.progress.stage
    const reason = (error as Error).message
    log.line(`[toehold] failed at ${stage}: ${reason}`)
    ctx.log.warn({ app: name, deployment: id, stage, reason }, 'deployment failed')
    const see =
      stage === 'installing' || stage === 'building'
        ? ` (see toehold logs ${name} ${id})`
        : stage === 'starting' || stage === 'health_check'
          ? ` (see toehold logs ${name} --app)`
          : ''
    run.progress.finish('failed', `${reason}${see}`, stage)
    const current = requireApp(ctx.db, name).currentRelease
    if (built && built !== current)
      rmSync(join(ctx.home.releases(name), built), { recursive: true, force: true })
  } finally {
    log.close()
  }
}

/** Fetch, install, build. Returns the new release's name, or null when nothing changed. */
async function build(run: Run): Promise<string | null> {
  const { ctx, deployment, request, progress, log, settings, signal } = run
  const app = requireApp(ctx.db, deployment.app)
  progress.enter('fetching')
  const started = Date.now()
  const source = {
    app: app.name,
    repo: app.repo,
    branch: app.branch,
    cache: ctx.home.repoCache(app.name),
    auth: gitAuth(envScopes(ctx.db, app.name), app.repo),
    signal,
  }
  const tags = tracking(app)
  const { commit, message, tag } =
    tags && request.ref === undefined
      ? await resolveTag(source, tags, {
          tag: request.tag,
          hint: request.commit,
          // By hand, a tag may move the app backwards.
          live:
            request.trigger === 'manual'
              ? null
              : currentCommit(ctx.db, app.name, app.currentRelease),
        })
      : { ...(await resolveCommit(source, { hint: request.commit, ref: request.ref })), tag: null }
  progress.set({ commit, message, ...(tag ? { ref: tag } : {}) })
  Object.assign(run, { commit, message })
  log.line(`[toehold] ${commit.slice(0, 7)} ${message}`)
  if (!request.force && commit === currentCommit(ctx.db, app.name, app.currentRelease)) {
    progress.time('git', elapsed(started))
    log.line(`[toehold] ${commit.slice(0, 7)} is already live: nothing to do (--force redeploys)`)
    progress.finish('unchanged')
    return null
  }
  const held = await pinHolds(ctx.db, source, request, commit)
  if (held) {
    progress.time('git', elapsed(started))
    log.line(`[toehold] ${held}`)
    progress.finish('unchanged', held)
    return null
  }
  const release = releaseName(deployment.id, commit)
  const dir = join(ctx.home.releases(app.name), release)
  progress.set({ release })
  await checkout(source, commit, dir)
  progress.time('git', elapsed(started))

  const pkg = readPackage(dir)
  const env = appEnv(envFor(ctx.db, app.name), app.port)
  const step = async (name: 'install' | 'predeploy', label: string, argv: string[]) => {
    const began = Date.now()
    await runStep({
      label,
      argv,
      cwd: dir,
      env,
      timeoutMs: settings.buildTimeoutMs,
      log,
      signal,
      started: (pid) => recordProcess(ctx.db, app.name, 'build', pid, release),
      ended: (pid) => forgetProcess(ctx.db, app.name, 'build', pid),
    })
    progress.time(name, elapsed(began))
  }

  progress.enter('installing')
  if (settings.installCommand) {
    await step('install', settings.installCommand, ['sh', '-c', settings.installCommand])
  } else if (pkg) {
    const frozen = existsSync(join(dir, 'bun.lock')) || existsSync(join(dir, 'bun.lockb'))
    const args = ['install', ...(frozen ? ['--frozen-lockfile'] : [])]
    await step('install', `bun ${args.join(' ')}`, [requireBun(ctx.bun), ...args])
  } else log.line('[toehold] no package.json: nothing to install')

  progress.enter('building')
  if (pkg?.scripts?.predeploy) {
    await step('predeploy', 'bun run predeploy', [requireBun(ctx.bun), 'run', 'predeploy'])
  } else log.line('[toehold] no predeploy script')
  return release
}

async function rollBack(run: Run): Promise<void> {
  const { ctx, deployment } = run
  const app = requireApp(ctx.db, deployment.app)
  const target = findRelease(ctx.db, app.name, deployment.release ?? '', app.currentRelease)
  if (!target) throw new Error(`release ${deployment.release} is no longer kept`)
  Object.assign(run, { commit: target.commit, message: target.message })
  run.log.line(
    `[toehold] rolling back to ${target.name} (${target.commit.slice(0, 7)} ${target.message ?? ''})`,
  )
  await goLive(run, target.name, false)
}

/** Makes the release current: through the health check, then the switch. */
function goLive(run: Run, release: string, fresh: boolean): Promise<void> {
  const { ctx, deployment, progress, settings } = run
  return ctx.exclusive(deployment.app, async () => {
    // Read now: `toehold stop` may have come while this deployment was building.
    const app = requireApp(ctx.db, deployment.app)
    const keep = () => {
      if (fresh)
        addRelease(ctx.db, app.name, {
          name: release,
          commit: run.commit,
          message: run.message,
          deployment: deployment.id,
        })
      setCurrentRelease(ctx.db, app.name, release)
      pruneReleases(ctx.db, ctx.home.releases(app.name), app.name, release, settings.keepReleases)
    }
    if (app.desired === 'stopped') {
      keep()
      run.log.line(
        `[toehold] ${app.name} is stopped: ${release} is ready, \`toehold start ${app.name}\` runs it`,
      )
      progress.finish(
        'live',
        `${app.name} is stopped: release ${release} is ready; \`toehold start ${app.name}\` runs it`,
      )
      return
    }

    await switchRelease(ctx, app, release, settings, progress)
    keep()
    progress.finish('live')
  })
}

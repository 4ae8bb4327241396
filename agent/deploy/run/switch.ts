// Making a release the live one: the one path of deploys, rollbacks, start, restart, recovery and
// crash restarts. Blue/green (the default for apps with a port): start the new release on a
// private port beside the old one, health-check it there, switch the app's route to it in one
// step, then drain the old one in the background and stop it. `--strategy restart` (and every
// app without a port): stop the old one first, start the new one, bring the old release back if
// the new one does not come up.
import type { Stage } from '../../api/contract.ts'
import { pickPort } from '../../serve/ports.ts'
import type { App } from '../../state/apps.ts'
import type { Settings } from '../settings.ts'
import { type Context, healthCheck, launchRelease } from './launch.ts'
import type { Launched } from './supervisor.ts'

/** Where a deployment reports its stages and step times; start/restart/recovery pass none. */
export type Stages = {
  enter(stage: Extract<Stage, 'starting' | 'health_check'>): void
  time(step: string, ms: number): void
}

/** A failure that belongs to a stage other than the one it was noticed in. */
export type StageError = Error & { stage?: Stage }

const quiet: Stages = { enter() {}, time() {} }

/**
 * Brings `release` up and makes it the live one. Throws with a reason a person can act on; with
 * blue/green the previous release then still serves, untouched.
 */
export async function switchRelease(
  ctx: Context,
  app: App,
  release: string,
  settings: Settings,
  stages: Stages = quiet,
  options: { keepCrashes?: boolean } = {},
): Promise<void> {
  if (!options.keepCrashes) ctx.supervisor.resetCrashes(app.name)
  const blueGreen = app.port !== null && app.strategy === 'blue-green'
  if (!blueGreen) return restartInPlace(ctx, app, release, settings, stages)
  stages.enter('starting')
  const began = Date.now()
  const launched = await launchRelease(ctx, app, release, settings, await pickPort())
  stages.enter('health_check')
  await passHealth(ctx, app, launched, settings)
  stages.time('boot', Date.now() - began)
  goLive(ctx, app, launched, settings)
}

/** Health check; an unhealthy process is stopped again and the reason says why. */
async function passHealth(ctx: Context, app: App, launched: Launched, settings: Settings) {
  try {
    await healthCheck(app, launched, settings, ctx.signal)
  } catch (error) {
    await ctx.supervisor.retire(launched)
    if (ctx.signal.aborted) throw error
    throw bindsPublicPort(ctx, app, launched) ?? error
  }
}

/**
 * A release that ignores PORT and listens on the app's public port finds it taken (by the
 * agent) and says so as it exits: Bun "Is port N in use?", Node "EADDRINUSE … :N".
 */
function bindsPublicPort(ctx: Context, app: App, launched: Launched): StageError | null {
  if (app.port === null) return null
  const port = new RegExp(`\\b${app.port}\\b`)
  const tried = ctx.supervisor
    .output(app.name, launched.since)
    .some((line) => /EADDRINUSE|in use/i.test(line) && port.test(line))
  if (!tried) return null
  return Object.assign(
    new Error(
      `the release tried to listen on port ${app.port} itself: toehold holds ${app.name}'s public port ${app.port} and passes each release a private port in PORT; listen on process.env.PORT`,
    ),
    { stage: 'starting' as const },
  )
}

/** Switch: new requests go to the new release at once; the old one drains, then stops. */
function goLive(ctx: Context, app: App, launched: Launched, settings: Settings): void {
  const previous = ctx.supervisor.promote(launched)
  if (launched.port === null) return
  const before = ctx.serving.switchTo(app.name, launched.port)
  ctx.log.info({ app: app.name, release: launched.release, pid: launched.pid }, 'switched')
  if (!previous) return
  void (async () => {
    const cut = before ? await ctx.serving.drain(app.name, before, settings.drainMs) : 0
    if (cut)
      ctx.log.warn(
        { app: app.name, release: previous.release, cut },
        'drain timeout: cutting what the old release still had open',
      )
    await ctx.supervisor.retire(previous)
    ctx.log.info({ app: app.name, release: previous.release }, 'old release drained and stopped')
  })().catch((error: Error) =>
    ctx.log.error({ app: app.name, err: error }, 'could not stop the old release'),
  )
}

/** Stop-then-start; the old release is brought back when the new one does not come up. */
async function restartInPlace(
  ctx: Context,
  app: App,
  release: string,
  settings: Settings,
  stages: Stages,
): Promise<void> {
  stages.enter('starting')
  let began = Date.now()
  const old = ctx.supervisor.live(app.name)
  if (old) {
    ctx.serving.withdraw(app.name, 'it is restarting', 2)
    await ctx.supervisor.retire(old)
    stages.time('stop', Date.now() - began)
  }
  began = Date.now()
  const port = app.port === null ? null : await pickPort()
  try {
    const launched = await launchRelease(ctx, app, release, settings, port)
    stages.enter('health_check')
    await passHealth(ctx, app, launched, settings)
    stages.time('boot', Date.now() - began)
    goLive(ctx, app, launched, settings)
  } catch (error) {
    const failure = error as StageError
    const previous = old?.release
    if (!previous || previous === release || ctx.signal.aborted) throw failure
    try {
      await switchRelease(ctx, app, previous, settings, quiet, { keepCrashes: true })
      failure.message += `; ${previous} is running again`
    } catch (again) {
      failure.message += `; ${previous} did not come back either: ${(again as Error).message}`
      ctx.serving.withdraw(app.name, 'neither its new nor its previous release started', 30)
    }
    throw failure
  }
}

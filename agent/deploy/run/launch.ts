// Running a release: its start command and environment, spawned on its own port, and its health
// check. switch.ts puts these together for deployments, start/restart, recovery and crashes.

import { accessSync, constants, existsSync, readFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import type { Logger } from 'pino'
import { appEnv } from '../../core/child-env.ts'
import type { Events } from '../../core/events.ts'
import type { Home } from '../../core/home.ts'
import type { AgentMetrics } from '../../core/metrics.ts'
import type { Serving } from '../../serve/listeners.ts'
import type { App } from '../../state/apps.ts'
import type { Db } from '../../state/db.ts'
import { envFor } from '../../state/env.ts'
import type { Settings } from '../settings.ts'
import { waitHealthy } from './health.ts'
import type { Launched, Supervisor } from './supervisor.ts'

/** What the engine's parts share. */
export type Context = {
  db: Db
  home: Home
  log: Logger
  events: Events
  metrics: AgentMetrics
  supervisor: Supervisor
  /** The public listeners and their routes to the live releases. */
  serving: Serving
  /** bun's absolute path, found on PATH at agent start; null when it is not there. */
  bun: string | null
  /** Aborted when the agent shuts down. */
  signal: AbortSignal
  /** The agent's deploy settings (its environment over the defaults). */
  defaults: Settings
  /** The app's deploy settings: the agent's, overlaid with the app's variables. */
  settings(app: string, warn?: (problem: string) => void): Settings
  /** Runs `fn` alone for this app: a deployment's switch, start, stop, restart. */
  exclusive<T>(app: string, fn: () => Promise<T>): Promise<T>
}

export function findBun(path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue
    try {
      accessSync(join(dir, 'bun'), constants.X_OK)
      return join(dir, 'bun')
    } catch {}
  }
  return null
}

export function requireBun(bun: string | null): string {
  if (bun) return bun
  throw new Error(
    "bun is not on the agent's PATH: install it (https://bun.sh) and restart the agent",
  )
}

export const appLogPath = (home: Home, app: string) => join(home.logs(app), 'app.log')
export const buildLogPath = (home: Home, app: string, deployment: number) =>
  join(home.logs(app), `deploy-${String(deployment).padStart(3, '0')}.log`)

type PackageJson = { scripts?: Record<string, string> }

/** The release's package.json; null when there is none. */
export function readPackage(dir: string): PackageJson | null {
  const path = join(dir, 'package.json')
  if (!existsSync(path)) return null
  try {
    return JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new Error(`package.json is not valid JSON: ${(error as Error).message}`)
  }
}

/** `scripts.toes`, else `scripts.start` (through bun), else the app's configured command. */
function startCommand(bun: string | null, dir: string, app: App): string[] {
  const scripts = readPackage(dir)?.scripts ?? {}
  for (const script of ['toes', 'start']) {
    if (scripts[script]) return [requireBun(bun), 'run', script]
  }
  if (app.start) return ['sh', '-c', app.start]
  throw new Error(
    `no start command: add a "start" script to package.json, or register the app with --start`,
  )
}

/** Spawns the release beside whatever runs, with `port` (its private port) as PORT. */
export async function launchRelease(
  ctx: Context,
  app: App,
  release: string,
  settings: Settings,
  port: number | null,
): Promise<Launched> {
  const dir = join(ctx.home.releases(app.name), release)
  if (!existsSync(dir)) throw new Error(`release ${release} is no longer on disk`)
  const argv = startCommand(ctx.bun, dir, app)
  return ctx.supervisor.launch({
    app: app.name,
    release,
    port,
    cwd: dir,
    argv,
    env: appEnv(envFor(ctx.db, app.name), port),
    logPath: appLogPath(ctx.home, app.name),
    graceMs: settings.graceMs,
    backoffMs: settings.backoffMs,
  })
}

export function healthCheck(
  app: App,
  launched: Launched,
  settings: Settings,
  signal: AbortSignal,
): Promise<void> {
  return waitHealthy({
    port: launched.port,
    path: app.health,
    timeoutMs: settings.healthTimeoutMs,
    aliveMs: settings.aliveMs,
    exited: launched.exited,
    signal,
  })
}

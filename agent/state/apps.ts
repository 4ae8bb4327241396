// The apps the agent deploys and supervises, as stored in its state.
import { appNameProblem } from '../../shared/ids.ts'
import type { Desired, Strategy } from '../api/contract.ts'
import { AppError } from '../core/errors.ts'
import { type Db, statement } from './db.ts'

export type App = {
  name: string
  repo: string
  branch: string
  /** Start command when package.json has neither `toes` nor `start`. */
  start: string | null
  /** The public port the agent listens on for the app. */
  port: number | null
  /** Address of that listener; null: all interfaces. */
  bind: string | null
  /** blue-green: the new release starts beside the old one; restart: stop, then start. */
  strategy: Strategy
  /** Served on the shared --http-port under this Host. */
  hostname: string | null
  health: string
  pollMs: number | null
  /** `tags:GLOB`: deploy the newest tag matching GLOB; null: the branch's head. */
  track: string | null
  /** Whether pre-release versions (and GitHub pre-releases) count for a tag-tracked app. */
  prereleases: boolean
  desired: Desired
  /** Release directory the app runs (or last ran); null before its first deployment. */
  currentRelease: string | null
  createdAt: number
}

type Row = {
  name: string
  repo: string
  branch: string
  start: string | null
  port: number | null
  bind: string | null
  strategy: Strategy
  hostname: string | null
  health: string
  poll_ms: number | null
  track: string | null
  prereleases: number
  desired: Desired
  current_release: string | null
  created_at: number
}

const fromRow = (row: Row): App => ({
  name: row.name,
  repo: row.repo,
  branch: row.branch,
  start: row.start,
  port: row.port,
  bind: row.bind,
  strategy: row.strategy,
  hostname: row.hostname,
  health: row.health,
  pollMs: row.poll_ms,
  track: row.track,
  prereleases: row.prereleases === 1,
  desired: row.desired,
  currentRelease: row.current_release,
  createdAt: row.created_at,
})

export function listApps(db: Db): App[] {
  return (statement(db, 'SELECT * FROM apps ORDER BY name').all() as Row[]).map(fromRow)
}

export function getApp(db: Db, name: string): App | undefined {
  const row = statement(db, 'SELECT * FROM apps WHERE name = ?').get(name) as Row | undefined
  return row && fromRow(row)
}

/** The app or a 404-shaped error naming the apps there are. */
export function requireApp(db: Db, name: string): App {
  const app = getApp(db, name)
  if (app) return app
  const names = listApps(db).map((a) => a.name)
  throw new AppError(`no app "${name}"${names.length ? ` (apps: ${names.join(', ')})` : ''}`, 404)
}

/** The settings a person gives an app (`app add`, `apply`); the rest is the agent's. */
export type AppSettings = Pick<
  App,
  | 'repo'
  | 'branch'
  | 'start'
  | 'port'
  | 'bind'
  | 'strategy'
  | 'hostname'
  | 'health'
  | 'pollMs'
  | 'track'
  | 'prereleases'
>
export type NewApp = { name: string } & Pick<
  AppSettings,
  'repo' | 'branch' | 'start' | 'port' | 'health' | 'pollMs'
> &
  Partial<Pick<AppSettings, 'bind' | 'strategy' | 'hostname' | 'track' | 'prereleases'>>

/** Why `app` cannot be added next to the apps there are (its name, port or hostname taken). */
export function claimProblem(
  db: Db,
  app: Pick<NewApp, 'name' | 'port' | 'hostname'>,
): string | null {
  const hostname = app.hostname ?? null
  if (getApp(db, app.name)) return `app "${app.name}" already exists`
  for (const other of listApps(db)) {
    if (app.port !== null && other.port === app.port)
      return `port ${app.port} is already ${other.name}'s: give ${app.name} another --port`
    if (hostname !== null && other.hostname === hostname)
      return `hostname ${hostname} is already ${other.name}'s: give ${app.name} another --hostname`
  }
  return null
}

export function addApp(db: Db, app: NewApp): App {
  const problem = appNameProblem(app.name)
  if (problem) throw new AppError(problem)
  const taken = claimProblem(db, app)
  if (taken) throw new AppError(taken, 409)
  statement(
    db,
    'INSERT INTO apps (name, repo, branch, start, port, bind, strategy, hostname, health, poll_ms, track, prereleases, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ).run(
    app.name,
    app.repo,
    app.branch,
    app.start,
    app.port,
    app.bind ?? null,
    app.strategy ?? 'blue-green',
    app.hostname ?? null,
    app.health,
    app.pollMs,
    app.track ?? null,
    app.prereleases ? 1 : 0,
    Date.now(),
  )
  return requireApp(db, app.name)
}

const SETTING_COLUMNS: Record<keyof AppSettings, string> = {
  repo: 'repo',
  branch: 'branch',
  start: 'start',
  port: 'port',
  bind: 'bind',
  strategy: 'strategy',
  hostname: 'hostname',
  health: 'health',
  pollMs: 'poll_ms',
  track: 'track',
  prereleases: 'prereleases',
}

/** Changes some of an app's settings (`apply`); the next deployment or restart uses them. */
export function updateApp(db: Db, name: string, change: Partial<AppSettings>): App {
  requireApp(db, name)
  const entries = Object.entries(change) as [keyof AppSettings, unknown][]
  if (entries.length > 0)
    statement(
      db,
      `UPDATE apps SET ${entries.map(([key]) => `${SETTING_COLUMNS[key]} = ?`).join(', ')} WHERE name = ?`,
    ).run(
      ...entries.map(([, value]) =>
        typeof value === 'boolean' ? (value ? 1 : 0) : (value as string | number | null),
      ),
      name,
    )
  return requireApp(db, name)
}

export function removeApp(db: Db, name: string): void {
  requireApp(db, name)
  for (const table of ['webhooks', 'deliveries', 'deployments', 'releases', 'processes', 'pins']) {
    statement(db, `DELETE FROM ${table} WHERE app = ?`).run(name)
  }
  statement(db, 'DELETE FROM env WHERE scope = ?').run(name)
  statement(db, 'DELETE FROM apps WHERE name = ?').run(name)
}

export function setDesired(db: Db, name: string, desired: Desired): void {
  statement(db, 'UPDATE apps SET desired = ? WHERE name = ?').run(desired, name)
}

export function setCurrentRelease(db: Db, name: string, release: string | null): void {
  statement(db, 'UPDATE apps SET current_release = ? WHERE name = ?').run(release, name)
}

/** `webhook enable --poll`: the app polls its branch when the host would not take a hook. */
export function setPollMs(db: Db, name: string, pollMs: number): void {
  statement(db, 'UPDATE apps SET poll_ms = ? WHERE name = ?').run(pollMs, name)
}

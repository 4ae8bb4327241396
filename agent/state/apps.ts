// Apps and their environment, as stored in the agent's state.
import { appNameProblem } from '../../shared/ids.ts'
import type { Db } from './db.ts'

export type Desired = 'running' | 'stopped'

export type App = {
  name: string
  repo: string
  branch: string
  /** Start command when package.json has neither `toes` nor `start`. */
  start: string | null
  port: number | null
  health: string
  pollMs: number | null
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
  health: string
  poll_ms: number | null
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
  health: row.health,
  pollMs: row.poll_ms,
  desired: row.desired,
  currentRelease: row.current_release,
  createdAt: row.created_at,
})

/** A request about apps that cannot be done; `status` is the HTTP status the API answers with. */
export class AppError extends Error {
  override name = 'AppError'
  readonly status: 400 | 404 | 409
  constructor(message: string, status: 400 | 404 | 409 = 400) {
    super(message)
    this.status = status
  }
}

export function listApps(db: Db): App[] {
  return (db.prepare('SELECT * FROM apps ORDER BY name').all() as Row[]).map(fromRow)
}

export function getApp(db: Db, name: string): App | undefined {
  const row = db.prepare('SELECT * FROM apps WHERE name = ?').get(name) as Row | undefined
  return row && fromRow(row)
}

/** The app or a 404-shaped error naming the apps there are. */
export function requireApp(db: Db, name: string): App {
  const app = getApp(db, name)
  if (app) return app
  const names = listApps(db).map((a) => a.name)
  throw new AppError(`no app "${name}"${names.length ? ` (apps: ${names.join(', ')})` : ''}`, 404)
}

export type NewApp = Pick<App, 'name' | 'repo' | 'branch' | 'start' | 'port' | 'health' | 'pollMs'>

export function addApp(db: Db, app: NewApp): App {
  const problem = appNameProblem(app.name)
  if (problem) throw new AppError(problem)
  if (getApp(db, app.name)) throw new AppError(`app "${app.name}" already exists`, 409)
  db.prepare(
    'INSERT INTO apps (name, repo, branch, start, port, health, poll_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  ).run(app.name, app.repo, app.branch, app.start, app.port, app.health, app.pollMs, Date.now())
  return requireApp(db, app.name)
}

export function removeApp(db: Db, name: string): void {
  requireApp(db, name)
  for (const table of ['webhooks', 'deliveries', 'deployments', 'releases', 'processes']) {
    db.prepare(`DELETE FROM ${table} WHERE app = ?`).run(name)
  }
  db.prepare('DELETE FROM env WHERE scope = ?').run(name)
  db.prepare('DELETE FROM apps WHERE name = ?').run(name)
}

export function setDesired(db: Db, name: string, desired: Desired): void {
  db.prepare('UPDATE apps SET desired = ? WHERE name = ?').run(desired, name)
}

export function setCurrentRelease(db: Db, name: string, release: string | null): void {
  db.prepare('UPDATE apps SET current_release = ? WHERE name = ?').run(release, name)
}

/** Global scope is ''; an app's own values override the global ones. */
export function listEnv(db: Db, scope: string): Record<string, string> {
  const rows = db.prepare('SELECT key, value FROM env WHERE scope = ? ORDER BY key').all(scope) as {
    key: string
    value: string
  }[]
  return Object.fromEntries(rows.map((row) => [row.key, row.value]))
}

/** The agent's own variables (TOEHOLD_*, RELAY_*: its secrets and settings) stay with the agent. */
const AGENT_ONLY = /^(TOEHOLD_|RELAY_)/

/** What child processes (git, builds, apps) inherit from the agent's environment. */
export function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !AGENT_ONLY.test(key)) env[key] = value
  }
  return env
}

/** The global and the app's own variables apart: for credentials, which one set it matters. */
export function envScopes(db: Db, app: string) {
  return { global: listEnv(db, ''), app: listEnv(db, app) }
}

export function envFor(db: Db, app: string): Record<string, string> {
  const scopes = envScopes(db, app)
  return { ...scopes.global, ...scopes.app }
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/

export function setEnv(db: Db, scope: string, key: string, value: string): void {
  if (!ENV_KEY.test(key)) throw new AppError(`invalid variable name "${key}"`)
  if (value.length > 64 * 1024) throw new AppError('value longer than 64 KiB')
  db.prepare(
    'INSERT INTO env (scope, key, value) VALUES (?, ?, ?) ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value',
  ).run(scope, key, value)
}

export function unsetEnv(db: Db, scope: string, key: string): boolean {
  return db.prepare('DELETE FROM env WHERE scope = ? AND key = ?').run(scope, key).changes > 0
}

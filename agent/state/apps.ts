// The apps the agent deploys and supervises, as stored in its state.
import { appNameProblem } from '../../shared/ids.ts'
import type { Desired } from '../api/contract.ts'
import { AppError } from '../core/errors.ts'
import { type Db, statement } from './db.ts'

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

export type NewApp = Pick<App, 'name' | 'repo' | 'branch' | 'start' | 'port' | 'health' | 'pollMs'>

export function addApp(db: Db, app: NewApp): App {
  const problem = appNameProblem(app.name)
  if (problem) throw new AppError(problem)
  if (getApp(db, app.name)) throw new AppError(`app "${app.name}" already exists`, 409)
  statement(
    db,
    'INSERT INTO apps (name, repo, branch, start, port, health, poll_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  ).run(app.name, app.repo, app.branch, app.start, app.port, app.health, app.pollMs, Date.now())
  return requireApp(db, app.name)
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

// Queries on the processes table: the groups the agent runs, written before anything else can
// happen to them, so an agent killed with SIGKILL finds its strays at the next start.

import { startTicks } from '../core/groups.ts'
import { type Db, statement } from './db.ts'

export type Role = 'app' | 'build'

export type ProcessRecord = {
  app: string
  role: Role
  pid: number
  startTicks: string | null
  release: string
}

export function recordProcess(db: Db, app: string, role: Role, pid: number, release: string): void {
  statement(
    db,
    `INSERT INTO processes (app, role, pid, start_ticks, release, started_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (app, role, pid) DO UPDATE SET start_ticks = excluded.start_ticks,
       release = excluded.release, started_at = excluded.started_at`,
  ).run(app, role, pid, startTicks(pid), release, Date.now())
}

/** Forgets a process that ended. */
export function forgetProcess(db: Db, app: string, role: Role, pid: number): void {
  statement(db, 'DELETE FROM processes WHERE app = ? AND role = ? AND pid = ?').run(app, role, pid)
}

export function listProcesses(db: Db): ProcessRecord[] {
  return (
    statement(db, 'SELECT app, role, pid, start_ticks, release FROM processes').all() as {
      app: string
      role: Role
      pid: number
      start_ticks: string | null
      release: string
    }[]
  ).map(({ start_ticks, ...row }) => ({ ...row, startTicks: start_ticks }))
}

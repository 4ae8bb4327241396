// How each app's webhook is held on its git host: mode, hook id, the URL registered there, why
// registration was refused, and what the audit found.
import type { HookMode, HookRegistration } from '../api/contract.ts'
import { type Db, statement } from './db.ts'

type Row = {
  app: string
  mode: HookMode
  host: string | null
  hook_id: string | null
  url: string | null
  reason: string | null
  problem: string | null
  registered_at: number | null
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

const fromRow = (row: Row): HookRegistration & { app: string } => ({
  app: row.app,
  mode: row.mode,
  host: row.host,
  hookId: row.hook_id,
  registeredUrl: row.url,
  reason: row.reason,
  problem: row.problem,
  registeredAt: iso(row.registered_at),
})

export function getRegistration(db: Db, app: string): HookRegistration | undefined {
  const row = statement(db, 'SELECT * FROM hook_registrations WHERE app = ?').get(app) as
    | Row
    | undefined
  return row && fromRow(row)
}

/** The registrations the agent manages on a host (mode auto), for the audit and `register --all`. */
export function autoRegistrations(db: Db): (HookRegistration & { app: string })[] {
  return (
    statement(
      db,
      "SELECT * FROM hook_registrations WHERE mode = 'auto' ORDER BY app",
    ).all() as Row[]
  ).map(fromRow)
}

/** Registered through the host's API: the hook id and the URL it points at now. */
export function saveAuto(db: Db, app: string, host: string, hookId: string, url: string): void {
  statement(
    db,
    `INSERT INTO hook_registrations (app, mode, host, hook_id, url, reason, problem, registered_at, updated_at)
     VALUES (?, 'auto', ?, ?, ?, NULL, NULL, ?, ?)
     ON CONFLICT (app) DO UPDATE SET mode = 'auto', host = excluded.host, hook_id = excluded.hook_id,
       url = excluded.url, reason = NULL, problem = NULL, registered_at = excluded.registered_at,
       updated_at = excluded.updated_at`,
  ).run(app, host, hookId, url, Date.now(), Date.now())
}

/**
 * Not registered (manual or polling) with the reason. A hook id registered before is kept, so a
 * later `--register` still finds and reuses (or deregistration deletes) that hook.
 */
export function saveUnregistered(
  db: Db,
  app: string,
  mode: 'manual' | 'polling',
  host: string | null,
  reason: string | null,
): void {
  statement(
    db,
    `INSERT INTO hook_registrations (app, mode, host, reason, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (app) DO UPDATE SET mode = excluded.mode, host = excluded.host,
       reason = excluded.reason, problem = NULL, updated_at = excluded.updated_at`,
  ).run(app, mode, host, reason, Date.now())
}

export function setProblem(db: Db, app: string, problem: string | null): void {
  statement(db, 'UPDATE hook_registrations SET problem = ?, updated_at = ? WHERE app = ?').run(
    problem,
    Date.now(),
    app,
  )
}

/** The hook was deleted on the host (disable, app remove): nothing of it is kept. */
export function saveDeregistered(db: Db, app: string): void {
  statement(
    db,
    `UPDATE hook_registrations SET mode = 'manual', hook_id = NULL, url = NULL, reason = NULL,
       problem = NULL, updated_at = ? WHERE app = ?`,
  ).run(Date.now(), app)
}

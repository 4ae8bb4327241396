// Rollback pins: after `toehold rollback`, the commit the app was rolled away from, so no
// webhook, poll or convergence puts it (or anything older) live again.
import type { Pin } from '../api/contract.ts'
import { type Db, statement } from './db.ts'

export function getPin(db: Db, app: string): Pin | null {
  const row = statement(db, 'SELECT commit_sha, release, created_at FROM pins WHERE app = ?').get(
    app,
  ) as { commit_sha: string; release: string; created_at: number } | undefined
  return row
    ? {
        commit: row.commit_sha,
        release: row.release,
        since: new Date(row.created_at).toISOString(),
      }
    : null
}

/** Pins the app from `commit`; a pin already there keeps its commit (the newest rolled away from). */
export function pinApp(db: Db, app: string, commit: string, release: string): void {
  statement(
    db,
    `INSERT INTO pins (app, commit_sha, release, created_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (app) DO UPDATE SET release = excluded.release`,
  ).run(app, commit, release, Date.now())
}

export function unpinApp(db: Db, app: string): void {
  statement(db, 'DELETE FROM pins WHERE app = ?').run(app)
}

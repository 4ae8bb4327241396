// Queries on the deployments table.
import type { DeploymentStatus, Stage } from '../events.ts'
import type { Db } from '../state.ts'
import type { Deployment, Trigger } from './types.ts'

type Row = {
  app: string
  n: number
  status: DeploymentStatus
  stage: Stage | null
  trigger: Trigger
  ref: string | null
  commit_sha: string | null
  release: string | null
  reason: string | null
  created_at: number
  started_at: number | null
  finished_at: number | null
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

const fromRow = (row: Row): Deployment => ({
  id: row.n,
  app: row.app,
  status: row.status,
  stage: row.stage,
  trigger: row.trigger,
  ref: row.ref,
  commit: row.commit_sha,
  release: row.release,
  reason: row.reason,
  createdAt: new Date(row.created_at).toISOString(),
  startedAt: iso(row.started_at),
  finishedAt: iso(row.finished_at),
})

export function createDeployment(
  db: Db,
  app: string,
  fields: { trigger: Trigger; ref?: string | null; commit?: string | null; force?: boolean },
): Deployment {
  const { next } = db
    .prepare('SELECT coalesce(max(n), 0) + 1 AS next FROM deployments WHERE app = ?')
    .get(app) as {
    next: number
  }
  db.prepare(
    `INSERT INTO deployments (app, n, status, stage, trigger, ref, commit_sha, force, created_at)
     VALUES (?, ?, 'queued', 'queued', ?, ?, ?, ?, ?)`,
  ).run(
    app,
    next,
    fields.trigger,
    fields.ref ?? null,
    fields.commit ?? null,
    fields.force ? 1 : 0,
    Date.now(),
  )
  return getDeployment(db, app, next) as Deployment
}

export function getDeployment(db: Db, app: string, n: number): Deployment | undefined {
  const row = db.prepare('SELECT * FROM deployments WHERE app = ? AND n = ?').get(app, n) as
    | Row
    | undefined
  return row && fromRow(row)
}

export function listDeployments(db: Db, app: string, limit = 50): Deployment[] {
  return (
    db
      .prepare('SELECT * FROM deployments WHERE app = ? ORDER BY n DESC LIMIT ?')
      .all(app, limit) as Row[]
  ).map(fromRow)
}

export function lastDeployment(db: Db, app: string): Deployment | null {
  return listDeployments(db, app, 1)[0] ?? null
}

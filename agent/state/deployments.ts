// Queries on the deployments table.

import type { Deployment, DeploymentStatus, Stage, Trigger } from '../api/contract.ts'
import { type Db, statement } from './db.ts'

type Row = {
  app: string
  n: number
  status: DeploymentStatus
  stage: Stage | null
  trigger: Trigger
  ref: string | null
  commit_sha: string | null
  force: number
  release: string | null
  message: string | null
  reason: string | null
  timings: string | null
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
  message: row.message,
  reason: row.reason,
  timings: row.timings ? JSON.parse(row.timings) : {},
  createdAt: new Date(row.created_at).toISOString(),
  startedAt: iso(row.started_at),
  finishedAt: iso(row.finished_at),
})

export function createDeployment(
  db: Db,
  app: string,
  fields: {
    trigger: Trigger
    ref?: string | null
    commit?: string | null
    release?: string | null
    force?: boolean
  },
): Deployment {
  const { next } = statement(
    db,
    'SELECT coalesce(max(n), 0) + 1 AS next FROM deployments WHERE app = ?',
  ).get(app) as {
    next: number
  }
  statement(
    db,
    `INSERT INTO deployments (app, n, status, stage, trigger, ref, commit_sha, release, force, created_at)
     VALUES (?, ?, 'queued', 'queued', ?, ?, ?, ?, ?, ?)`,
  ).run(
    app,
    next,
    fields.trigger,
    fields.ref ?? null,
    fields.commit ?? null,
    fields.release ?? null,
    fields.force ? 1 : 0,
    Date.now(),
  )
  return getDeployment(db, app, next) as Deployment
}

export type DeploymentChange = Partial<{
  status: DeploymentStatus
  stage: Stage | null
  /** The tag a tag-tracked app's deployment resolved to. */
  ref: string
  commit: string
  release: string
  message: string
  reason: string | null
  timings: Record<string, number>
  startedAt: number
  finishedAt: number
}>

const COLUMNS: Record<keyof DeploymentChange, string> = {
  status: 'status',
  stage: 'stage',
  ref: 'ref',
  commit: 'commit_sha',
  release: 'release',
  message: 'message',
  reason: 'reason',
  timings: 'timings',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
}

export function updateDeployment(db: Db, app: string, n: number, change: DeploymentChange): void {
  const entries = Object.entries(change) as [keyof DeploymentChange, unknown][]
  if (entries.length === 0) return
  statement(
    db,
    `UPDATE deployments SET ${entries.map(([key]) => `${COLUMNS[key]} = ?`).join(', ')} WHERE app = ? AND n = ?`,
  ).run(
    ...entries.map(([, value]) =>
      typeof value === 'object' && value !== null
        ? JSON.stringify(value)
        : (value as string | number | null),
    ),
    app,
    n,
  )
}

export function getDeployment(db: Db, app: string, n: number): Deployment | undefined {
  const row = statement(db, 'SELECT * FROM deployments WHERE app = ? AND n = ?').get(app, n) as
    | Row
    | undefined
  return row && fromRow(row)
}

export function listDeployments(db: Db, app: string, limit = 50): Deployment[] {
  return (
    statement(db, 'SELECT * FROM deployments WHERE app = ? ORDER BY n DESC LIMIT ?').all(
      app,
      limit,
    ) as Row[]
  ).map(fromRow)
}

export function lastDeployment(db: Db, app: string): Deployment | null {
  return listDeployments(db, app, 1)[0] ?? null
}

/**
 * A deployment as a person names it: its number (`7`, `007`), `latest`, or a prefix (≥ 4
 * characters) of its commit — the newest deployment of that commit.
 */
export function findDeployment(db: Db, app: string, name: string): Deployment | undefined {
  if (name === 'latest') return lastDeployment(db, app) ?? undefined
  if (/^\d{1,6}$/.test(name)) return getDeployment(db, app, Number(name))
  if (!/^[0-9a-f]{4,64}$/i.test(name)) return undefined
  const row = statement(
    db,
    "SELECT * FROM deployments WHERE app = ? AND commit_sha LIKE ? || '%' ORDER BY n DESC LIMIT 1",
  ).get(app, name.toLowerCase()) as Row | undefined
  return row && fromRow(row)
}

/** Deployments a stopped agent left queued or running, oldest first. */
export function unfinishedDeployments(db: Db): (Deployment & { force: boolean })[] {
  return (
    statement(
      db,
      "SELECT * FROM deployments WHERE status IN ('queued', 'running') ORDER BY app, n",
    ).all() as Row[]
  ).map((row) => ({ ...fromRow(row), force: row.force === 1 }))
}

/** Whether any deployment (whatever its outcome) already went for this commit. */
export function deployedBefore(db: Db, app: string, commit: string): boolean {
  return (
    statement(db, 'SELECT 1 FROM deployments WHERE app = ? AND commit_sha = ? LIMIT 1').get(
      app,
      commit,
    ) !== undefined
  )
}

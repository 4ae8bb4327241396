// Notification targets: where a deployment's outcome is posted, in which format, for which apps.
import { randomBytes } from 'node:crypto'
import type { NotifyFormat, NotifyOn } from '../api/contract.ts'
import { AppError } from '../core/errors.ts'
import { type Db, statement } from './db.ts'

export type Target = {
  id: number
  url: string
  app: string | null
  on: NotifyOn
  format: NotifyFormat
  /** The json format's Standard Webhooks secret (`whsec_` + base64 of 32 bytes). */
  secret: string | null
  createdAt: number
}

type Row = {
  id: number
  url: string
  app: string | null
  on_event: NotifyOn
  format: NotifyFormat
  secret: string | null
  created_at: number
}

const fromRow = (row: Row): Target => ({
  id: row.id,
  url: row.url,
  app: row.app,
  on: row.on_event,
  format: row.format,
  secret: row.secret,
  createdAt: row.created_at,
})

const MAX_TARGETS = 100

export function addTarget(db: Db, target: Pick<Target, 'url' | 'app' | 'on' | 'format'>): Target {
  const count = (statement(db, 'SELECT count(*) AS n FROM notify_targets').get() as { n: number }).n
  if (count >= MAX_TARGETS) throw new AppError(`at most ${MAX_TARGETS} notification targets`)
  const secret = target.format === 'json' ? `whsec_${randomBytes(32).toString('base64')}` : null
  const { lastInsertRowid } = statement(
    db,
    'INSERT INTO notify_targets (url, app, on_event, format, secret, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  ).run(target.url, target.app, target.on, target.format, secret, Date.now())
  return getTarget(db, Number(lastInsertRowid)) as Target
}

export function getTarget(db: Db, id: number): Target | undefined {
  const row = statement(db, 'SELECT * FROM notify_targets WHERE id = ?').get(id) as Row | undefined
  return row && fromRow(row)
}

export function listTargets(db: Db): Target[] {
  return (statement(db, 'SELECT * FROM notify_targets ORDER BY id').all() as Row[]).map(fromRow)
}

/** The targets that want to hear about `app`. */
export function targetsFor(db: Db, app: string): Target[] {
  return (
    statement(db, 'SELECT * FROM notify_targets WHERE app IS NULL OR app = ? ORDER BY id').all(
      app,
    ) as Row[]
  ).map(fromRow)
}

export function removeTarget(db: Db, id: number): void {
  if (statement(db, 'DELETE FROM notify_targets WHERE id = ?').run(id).changes === 0) {
    throw new AppError(`no notification target ${id}`, 404)
  }
}

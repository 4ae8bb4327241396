// Releases: built trees in releases/<seq>-<sha12> (seq = the deployment's number), kept for
// instant rollback. A row exists only for a release that was fully built and became current;
// any other directory there is a leftover of an interrupted or failed deployment.
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Release } from '../api/contract.ts'
import { type Db, statement } from './db.ts'

export const releaseName = (deployment: number, commit: string) =>
  `${String(deployment).padStart(3, '0')}-${commit.slice(0, 12)}`

type Row = {
  name: string
  commit_sha: string
  message: string | null
  deployment: number
  created_at: number
}

const fromRow = (row: Row, current: string | null): Release => ({
  name: row.name,
  commit: row.commit_sha,
  message: row.message,
  deployment: row.deployment,
  createdAt: new Date(row.created_at).toISOString(),
  live: row.name === current,
})

/** Newest first. */
export function listReleases(db: Db, app: string, current: string | null): Release[] {
  return (
    statement(db, 'SELECT * FROM releases WHERE app = ? ORDER BY deployment DESC').all(app) as Row[]
  ).map((row) => fromRow(row, current))
}

export function addRelease(
  db: Db,
  app: string,
  release: { name: string; commit: string; message: string | null; deployment: number },
): void {
  statement(
    db,
    'INSERT OR REPLACE INTO releases (app, name, commit_sha, message, deployment, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  ).run(app, release.name, release.commit, release.message, release.deployment, Date.now())
}

/** A kept release by its name, its number (`6`, `006`) or a prefix of its commit. */
export function findRelease(
  db: Db,
  app: string,
  name: string,
  current: string | null,
): Release | undefined {
  const all = listReleases(db, app, current)
  if (/^\d+$/.test(name)) return all.find((release) => release.deployment === Number(name))
  return (
    all.find((release) => release.name === name) ??
    (/^[0-9a-f]{4,64}$/i.test(name)
      ? all.find((release) => release.commit.startsWith(name.toLowerCase()))
      : undefined)
  )
}

/** The newest kept release older than the current one. */
export function previousRelease(db: Db, app: string, current: string | null): Release | undefined {
  const all = listReleases(db, app, current)
  const live = all.find((release) => release.live)
  return live ? all.find((release) => release.deployment < live.deployment) : undefined
}

/** The commit of the app's current release. */
export function currentCommit(db: Db, app: string, current: string | null): string | null {
  if (!current) return null
  const row = statement(db, 'SELECT commit_sha FROM releases WHERE app = ? AND name = ?').get(
    app,
    current,
  ) as { commit_sha: string } | undefined
  return row?.commit_sha ?? null
}

/** Keeps the newest `keep` releases and the current one; deletes the others, rows and files. */
export function pruneReleases(
  db: Db,
  dir: string,
  app: string,
  current: string | null,
  keep: number,
): void {
  for (const release of listReleases(db, app, current).slice(keep)) {
    if (release.live) continue
    rmSync(join(dir, release.name), { recursive: true, force: true })
    statement(db, 'DELETE FROM releases WHERE app = ? AND name = ?').run(app, release.name)
  }
}

/** Deletes directories under releases/ that are no kept release (half-built, failed). */
export function removeLeftovers(db: Db, dir: string, app: string, current: string | null): void {
  if (!existsSync(dir)) return
  const kept = new Set(listReleases(db, app, current).map((release) => release.name))
  for (const name of readdirSync(dir)) {
    if (!kept.has(name) && name !== current)
      rmSync(join(dir, name), { recursive: true, force: true })
  }
}

// Schema versions for the relay's and the agent's SQLite files: each migration runs once, in
// order, in a transaction with its PRAGMA user_version bump. A file written by a newer toehold is
// refused rather than misread.
import type { DatabaseSync } from 'node:sqlite'

export function migrate(db: DatabaseSync, migrations: readonly string[], file: string): void {
  const { user_version: version } = db.prepare('PRAGMA user_version').get() as {
    user_version: number
  }
  if (version > migrations.length) {
    throw new Error(
      `${file} was written by a newer toehold (schema ${version}, this one knows ${migrations.length}): upgrade toehold`,
    )
  }
  for (let next = version; next < migrations.length; next++) {
    db.exec('BEGIN IMMEDIATE')
    try {
      db.exec(migrations[next] as string)
      db.exec(`PRAGMA user_version = ${next + 1}`)
      db.exec('COMMIT')
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK')
      throw new Error(`cannot migrate ${file} to schema ${next + 1}: ${(error as Error).message}`)
    }
  }
}

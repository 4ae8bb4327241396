// The one schema mechanism (shared/migrate.ts) the relay and the agent both open their files with.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { test } from 'node:test'
import { migrate } from '../shared/migrate.ts'
import { tempDir } from './helpers/procs.ts'

const version = (db: DatabaseSync) =>
  (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version

test('runs each migration once, in order; a failing one changes nothing; a newer file is refused', () => {
  const file = join(tempDir(), 'state.db')
  const db = new DatabaseSync(file)
  const steps = ['CREATE TABLE a (x INTEGER)', 'ALTER TABLE a ADD COLUMN y INTEGER']
  migrate(db, steps, file)
  migrate(db, steps, file)
  assert.equal(version(db), 2)

  const broken = [...steps, 'ALTER TABLE a ADD COLUMN z INTEGER; ALTER TABLE nope ADD COLUMN w']
  assert.throws(() => migrate(db, broken, file), { message: /cannot migrate .* to schema 3: / })
  assert.equal(version(db), 2)
  const columns = db.prepare('SELECT name FROM pragma_table_info(?)').all('a')
  assert.deepEqual(
    columns.map((c) => c.name),
    ['x', 'y'],
    'the half-run migration rolled back',
  )

  assert.throws(() => migrate(db, steps.slice(0, 1), file), {
    message: /written by a newer toehold \(schema 2, this one knows 1\): upgrade toehold/,
  })
  db.close()
})

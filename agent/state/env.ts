// Variables for apps and git: scope '' is global, otherwise an app name.
import { AppError } from '../core/errors.ts'
import { type Db, statement } from './db.ts'

/** Global scope is ''; an app's own values override the global ones. */
export function listEnv(db: Db, scope: string): Record<string, string> {
  const rows = statement(db, 'SELECT key, value FROM env WHERE scope = ? ORDER BY key').all(
    scope,
  ) as {
    key: string
    value: string
  }[]
  return Object.fromEntries(rows.map((row) => [row.key, row.value]))
}

/** The global and the app's own variables apart: for credentials, which one set it matters. */
export function envScopes(db: Db, app: string) {
  return { global: listEnv(db, ''), app: listEnv(db, app) }
}

export function envFor(db: Db, app: string): Record<string, string> {
  const scopes = envScopes(db, app)
  return { ...scopes.global, ...scopes.app }
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/

export function setEnv(db: Db, scope: string, key: string, value: string): void {
  if (!ENV_KEY.test(key)) throw new AppError(`invalid variable name "${key}"`)
  if (value.length > 64 * 1024) throw new AppError('value longer than 64 KiB')
  statement(
    db,
    'INSERT INTO env (scope, key, value) VALUES (?, ?, ?) ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value',
  ).run(scope, key, value)
}

export function unsetEnv(db: Db, scope: string, key: string): boolean {
  return statement(db, 'DELETE FROM env WHERE scope = ? AND key = ?').run(scope, key).changes > 0
}

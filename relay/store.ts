// The relay's durable state in one SQLite file: known instances, the sealed delivery queue,
// spent JWT ids, and the registration token's hash. Nothing in it is readable webhook content.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import type { JWK } from 'jose'

export type Instance = { id: string; signingJwk: JWK; sealingJwk: JWK; createdAt: number }
export type Queued = { seq: number; id: string; receivedAt: number; sealed: Buffer }

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS instances (
    id TEXT PRIMARY KEY, signing_jwk TEXT NOT NULL, sealing_jwk TEXT NOT NULL, created_at INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, instance TEXT NOT NULL,
    received_at INTEGER NOT NULL, sealed BLOB NOT NULL
  ) STRICT;
  CREATE INDEX IF NOT EXISTS queue_instance ON queue (instance, seq);
  CREATE TABLE IF NOT EXISTS jtis (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
`

export type Store = ReturnType<typeof openStore>

export function openStore(dir: string) {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const db = new DatabaseSync(join(dir, 'relay.db'))
  // WAL keeps readers off the writer; FULL sync makes "queued" mean on disk before we say so.
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;')
  db.exec(SCHEMA)

  const q = {
    instance: db.prepare(
      'SELECT id, signing_jwk, sealing_jwk, created_at FROM instances WHERE id = ?',
    ),
    putInstance: db.prepare(
      `INSERT INTO instances (id, signing_jwk, sealing_jwk, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET sealing_jwk = excluded.sealing_jwk`,
    ),
    enqueue: db.prepare(
      'INSERT INTO queue (id, instance, received_at, sealed) VALUES (?, ?, ?, ?)',
    ),
    usage: db.prepare(
      'SELECT count(*) AS n, coalesce(sum(length(sealed)), 0) AS bytes FROM queue WHERE instance = ?',
    ),
    next: db.prepare(
      'SELECT seq, id, received_at, sealed FROM queue WHERE instance = ? AND seq > ? ORDER BY seq LIMIT ?',
    ),
    ack: db.prepare('DELETE FROM queue WHERE instance = ? AND id = ?'),
    expire: db.prepare('DELETE FROM queue WHERE received_at < ?'),
    totals: db.prepare('SELECT count(*) AS n, min(received_at) AS oldest FROM queue'),
    useJti: db.prepare('INSERT OR IGNORE INTO jtis (jti, expires_at) VALUES (?, ?)'),
    pruneJtis: db.prepare('DELETE FROM jtis WHERE expires_at < ?'),
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
  }

  // Every webhook looks its instance up: keep them in memory (a few hundred bytes each).
  const instances = new Map<string, Instance>()

  return {
    instance(id: string): Instance | undefined {
      const cached = instances.get(id)
      if (cached) return cached
      const row = q.instance.get(id) as Record<string, string | number> | undefined
      if (!row) return undefined
      const instance = {
        id: row.id as string,
        signingJwk: JSON.parse(row.signing_jwk as string),
        sealingJwk: JSON.parse(row.sealing_jwk as string),
        createdAt: row.created_at as number,
      }
      instances.set(id, instance)
      return instance
    },
    /** Registers an instance, or refreshes the sealing key of a known one (signed by its key). */
    putInstance(instance: Instance): void {
      q.putInstance.run(
        instance.id,
        JSON.stringify(instance.signingJwk),
        JSON.stringify(instance.sealingJwk),
        instance.createdAt,
      )
      instances.set(instance.id, instance)
    },
    usage(instance: string): { count: number; bytes: number } {
      const row = q.usage.get(instance) as { n: number; bytes: number }
      return { count: row.n, bytes: row.bytes }
    },
    enqueue(instance: string, item: Omit<Queued, 'seq'>): void {
      q.enqueue.run(item.id, instance, item.receivedAt, item.sealed)
    },
    next(instance: string, afterSeq: number, limit: number): Queued[] {
      type Row = { seq: number; id: string; received_at: number; sealed: Uint8Array }
      return (q.next.all(instance, afterSeq, limit) as Row[]).map((row) => ({
        seq: row.seq,
        id: row.id,
        receivedAt: row.received_at,
        sealed: Buffer.from(row.sealed),
      }))
    },
    /** Forgets a delivery once the agent's result for it arrived. True if it was queued. */
    ack(instance: string, id: string): boolean {
      return q.ack.run(instance, id).changes > 0
    },
    expire(before: number): number {
      return Number(q.expire.run(before).changes)
    },
    totals(): { count: number; oldest: number | null } {
      const row = q.totals.get() as { n: number; oldest: number | null }
      return { count: row.n, oldest: row.oldest }
    },
    /** Records a JWT id; false when it was already used (a replay). */
    useJti(jti: string, expiresAt: number): boolean {
      return q.useJti.run(jti, expiresAt).changes > 0
    },
    pruneJtis(now: number): void {
      q.pruneJtis.run(now)
    },
    meta(key: string): string | undefined {
      return (q.getMeta.get(key) as { value: string } | undefined)?.value
    },
    setMeta(key: string, value: string): void {
      q.setMeta.run(key, value)
    },
    close(): void {
      db.close()
    },
  }
}

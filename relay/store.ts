// The relay's durable state in one SQLite file: known instances, the sealed delivery queue,
// spent JWT ids, and the registration token's hash. Nothing in it is readable webhook content.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import type { JWK } from 'jose'
import { migrate } from '../shared/migrate.ts'

export type Instance = { id: string; signingJwk: JWK; sealingJwk: JWK; createdAt: number }
/** A stored delivery: its sealed envelope is `bytes` long, read with `sealedParts`. */
export type Queued = { seq: number; id: string; receivedAt: number; bytes: number }
export type Usage = { count: number; bytes: number }

/**
 * Sealed bodies are stored in parts of this size: SQLite copies a bound blob twice on insert,
 * so one 25 MiB row cost the process 50 MiB of memory; 1 MiB parts cost 2 MiB.
 */
const PART = 1024 * 1024

/**
 * Schema migrations, in order; PRAGMA user_version is how many have run. Never edit one that
 * shipped: add the next. A data dir made by 0.1 is at version 0 with the first one's tables.
 */
const MIGRATIONS = [
  // 1: the 0.1 schema.
  `CREATE TABLE IF NOT EXISTS instances (
     id TEXT PRIMARY KEY, signing_jwk TEXT NOT NULL, sealing_jwk TEXT NOT NULL, created_at INTEGER NOT NULL
   ) STRICT;
   CREATE TABLE IF NOT EXISTS queue (
     seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, instance TEXT NOT NULL,
     received_at INTEGER NOT NULL, sealed BLOB NOT NULL
   ) STRICT;
   CREATE INDEX IF NOT EXISTS queue_instance ON queue (instance, seq);
   CREATE TABLE IF NOT EXISTS jtis (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) STRICT;
   CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;`,
  // 2: the envelope is `sealed` (0.1's whole JWE, or the HPKE head) followed by its parts;
  // `bytes` is its stored size, what the quotas count.
  `ALTER TABLE queue ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
   UPDATE queue SET bytes = length(sealed);
   CREATE TABLE queue_parts (
     seq INTEGER NOT NULL REFERENCES queue (seq) ON DELETE CASCADE, part INTEGER NOT NULL,
     bytes BLOB NOT NULL, PRIMARY KEY (seq, part)
   ) STRICT;`,
]

/** Brings the file to this relay's schema, with incremental vacuum on. */
function upgrade(db: DatabaseSync, file: string) {
  migrate(db, MIGRATIONS, file)
  // Acked and expired deliveries give their pages back (PRAGMA incremental_vacuum). Switching
  // a file made without it takes one VACUUM, outside any transaction.
  if ((db.prepare('PRAGMA auto_vacuum').get() as { auto_vacuum: number }).auto_vacuum !== 2) {
    db.exec('PRAGMA auto_vacuum = INCREMENTAL; VACUUM')
  }
}

export type Store = ReturnType<typeof openStore>

export function openStore(dir: string) {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const file = join(dir, 'relay.db')
  const db = new DatabaseSync(file)
  // WAL keeps readers off the writer; FULL sync makes "queued" mean on disk before we say so.
  db.exec(
    'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;',
  )
  // Takes effect on a new file (before its first table); an older file is switched in upgrade().
  db.exec('PRAGMA auto_vacuum = INCREMENTAL')
  upgrade(db, file)

  const q = {
    instance: db.prepare(
      'SELECT id, signing_jwk, sealing_jwk, created_at FROM instances WHERE id = ?',
    ),
    putInstance: db.prepare(
      `INSERT INTO instances (id, signing_jwk, sealing_jwk, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET sealing_jwk = excluded.sealing_jwk`,
    ),
    enqueue: db.prepare(
      'INSERT INTO queue (id, instance, received_at, sealed, bytes) VALUES (?, ?, ?, ?, ?) RETURNING seq',
    ),
    part: db.prepare('INSERT INTO queue_parts (seq, part, bytes) VALUES (?, ?, ?)'),
    usage: db.prepare(
      'SELECT instance, count(*) AS n, sum(bytes) AS bytes FROM queue GROUP BY instance',
    ),
    next: db.prepare(
      'SELECT seq, id, received_at, bytes FROM queue WHERE instance = ? AND seq > ? ORDER BY seq LIMIT ?',
    ),
    head: db.prepare('SELECT sealed FROM queue WHERE seq = ?'),
    parts: db.prepare('SELECT bytes FROM queue_parts WHERE seq = ? ORDER BY part'),
    ack: db.prepare('DELETE FROM queue WHERE instance = ? AND id = ? RETURNING bytes'),
    expire: db.prepare('DELETE FROM queue WHERE received_at < ? RETURNING instance, bytes'),
    oldest: db.prepare('SELECT min(received_at) AS oldest FROM queue'),
    useJti: db.prepare('INSERT OR IGNORE INTO jtis (jti, expires_at) VALUES (?, ?)'),
    knownJti: db.prepare('SELECT 1 FROM jtis WHERE jti = ?'),
    pruneJtis: db.prepare('DELETE FROM jtis WHERE expires_at < ?'),
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
  }

  // Every webhook looks its instance up: keep them in memory (a few hundred bytes each).
  const instances = new Map<string, Instance>()
  // Stored count and bytes per instance and in all, kept in step with every write, so quota
  // checks are synchronous lookups rather than queries.
  const usage = new Map<string, Usage>()
  const total: Usage = { count: 0, bytes: 0 }
  for (const row of q.usage.all() as { instance: string; n: number; bytes: number }[]) {
    usage.set(row.instance, { count: row.n, bytes: row.bytes })
    total.count += row.n
    total.bytes += row.bytes
  }
  const account = (instance: string, count: number, bytes: number) => {
    const own = usage.get(instance) ?? { count: 0, bytes: 0 }
    own.count += count
    own.bytes += bytes
    if (own.count === 0) usage.delete(instance)
    else usage.set(instance, own)
    total.count += count
    total.bytes += bytes
  }
  // JWT ids spent while the disk refused to record them: a full disk must not lock agents out.
  const spillJtis = new Map<string, number>()

  const transaction = <T>(work: () => T): T => {
    db.exec('BEGIN IMMEDIATE')
    try {
      const result = work()
      db.exec('COMMIT')
      return result
    } catch (error) {
      // SQLite may have rolled back already (a full disk does): the first error is the one.
      if (db.isTransaction) db.exec('ROLLBACK')
      throw error
    }
  }

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
    /** Stored deliveries of one instance (sealed bytes). */
    usage: (instance: string): Usage => ({ ...(usage.get(instance) ?? { count: 0, bytes: 0 }) }),
    /** Stored deliveries of every instance together. */
    total: (): Usage => ({ ...total }),
    /** Stores one sealed envelope, `head` then each of `rest` in order, in one transaction. */
    enqueue(
      instance: string,
      item: { id: string; receivedAt: number; head: Uint8Array; rest: Uint8Array[] },
    ): void {
      const bytes = item.rest.reduce((sum, piece) => sum + piece.length, item.head.length)
      transaction(() => {
        const { seq } = q.enqueue.get(item.id, instance, item.receivedAt, item.head, bytes) as {
          seq: number
        }
        let part = 0
        for (const piece of item.rest) {
          for (let at = 0; at < piece.length; at += PART) {
            q.part.run(seq, part++, piece.subarray(at, at + PART))
          }
        }
      })
      account(instance, 1, bytes)
    },
    next(instance: string, afterSeq: number, limit: number): Queued[] {
      type Row = { seq: number; id: string; received_at: number; bytes: number }
      return (q.next.all(instance, afterSeq, limit) as Row[]).map((row) => ({
        seq: row.seq,
        id: row.id,
        receivedAt: row.received_at,
        bytes: row.bytes,
      }))
    },
    /** The sealed envelope of a stored delivery, a part at a time (never all of it at once). */
    *sealedParts(seq: number): Generator<Uint8Array> {
      const head = q.head.get(seq) as { sealed: Uint8Array } | undefined
      if (!head) return
      yield head.sealed
      for (const row of q.parts.iterate(seq) as Iterable<{ bytes: Uint8Array }>) yield row.bytes
    },
    /** Forgets a delivery once the agent's result for it arrived. True if it was queued. */
    ack(instance: string, id: string): boolean {
      const row = q.ack.get(instance, id) as { bytes: number } | undefined
      if (row) account(instance, -1, -row.bytes)
      return row !== undefined
    },
    expire(before: number): number {
      const rows = q.expire.all(before) as { instance: string; bytes: number }[]
      for (const row of rows) account(row.instance, -1, -row.bytes)
      return rows.length
    },
    /** Gives the pages of acked and expired deliveries back to the file system. */
    vacuum(): void {
      db.exec('PRAGMA incremental_vacuum')
    },
    oldest(): number | null {
      return (q.oldest.get() as { oldest: number | null }).oldest
    },
    /**
     * Records a JWT id; false when it was already used (a replay). When the disk refuses the
     * write it is kept in memory instead, so agents still get in and drain their queues.
     */
    useJti(jti: string, expiresAt: number, onSpill: (error: Error) => void): boolean {
      if (spillJtis.has(jti)) return false
      try {
        return q.useJti.run(jti, expiresAt).changes > 0
      } catch (error) {
        if (q.knownJti.get(jti)) return false
        spillJtis.set(jti, expiresAt)
        onSpill(error as Error)
        return true
      }
    },
    pruneJtis(now: number): void {
      for (const [jti, expiresAt] of spillJtis) if (expiresAt < now) spillJtis.delete(jti)
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

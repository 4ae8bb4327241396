// The agent's durable state: one SQLite file in TOEHOLD_HOME (0600, WAL). Each module of state/
// owns the queries on its tables; the schema and its migrations are in schema.ts.
import { accessSync, statSync } from 'node:fs'
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { Worker } from 'node:worker_threads'
import { migrate } from '../../shared/migrate.ts'
import { MIGRATIONS } from './schema.ts'

export type Db = DatabaseSync

export function openState(path: string): Db {
  const db = new DatabaseSync(path)
  // WAL with NORMAL sync survives the agent being killed at any point; only a power cut can lose
  // the last commits, and the worst that follows is a redelivery that redeploys the branch head.
  // FULL would fsync on every webhook. Checkpoints (which do sync) run on a timer in a worker
  // thread instead of in whichever webhook's commit happens to fill the WAL: startCheckpoints().
  db.exec(
    'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;',
  )
  migrate(db, MIGRATIONS, path)
  return db
}

const cache = new WeakMap<Db, Map<string, StatementSync>>()

/**
 * The compiled statement for `sql`, made once per connection: the agent runs the same few dozen
 * statements all day (every webhook runs several). Statements are reset after every use, so
 * sharing them is safe.
 */
export function statement(db: Db, sql: string): StatementSync {
  let statements = cache.get(db)
  if (!statements) {
    statements = new Map()
    cache.set(db, statements)
  }
  let compiled = statements.get(sql)
  if (!compiled) {
    compiled = db.prepare(sql)
    statements.set(sql, compiled)
  }
  return compiled
}

/**
 * Moves the WAL into the database every `ms`, from a worker thread with its own connection, off
 * the event loop (see checkpoint-worker.js). The worker runs only while the WAL keeps changing:
 * a tick that finds the WAL as the last one left it stops the worker, and a tick after a write
 * brings one back, so an idle agent carries no second V8 isolate (~13 MB, which glibc does not
 * give back once one ran: hence none before the first write). `stop` ends it before the
 * state is closed, so the agent's own connection is the last one and leaves a fully checkpointed
 * file behind.
 */
export function startCheckpoints(path: string, ms: number, onError: (message: string) => void) {
  type Running = { thread: Worker; exited: Promise<void> }
  let worker: Running | null = null
  /** The last worker's exit, stopped by a tick or by `stop`. */
  let stopped: Promise<void> = Promise.resolve()
  const script = new URL('./checkpoint-worker.js', import.meta.url)
  // Fail at start, not at the first write, when a build left the worker behind.
  accessSync(script)
  const spawn = (): Running => {
    const thread = new Worker(script, {
      workerData: { path },
    })
    thread.on('message', (message: { error?: string }) => {
      if (message.error) onError(message.error)
    })
    thread.on('error', (error) => onError(error.message))
    thread.unref()
    return { thread, exited: new Promise((resolve) => thread.once('exit', () => resolve())) }
  }
  const stopWorker = () => {
    if (!worker) return
    worker.thread.postMessage('stop')
    stopped = worker.exited
    worker = null
  }
  const walState = () => {
    try {
      const stat = statSync(`${path}-wal`)
      return `${stat.size}:${stat.mtimeMs}`
    } catch {
      return ''
    }
  }
  let seen = walState()
  const tick = () => {
    const wal = walState()
    if (wal === seen) return stopWorker()
    seen = wal
    worker ??= spawn()
    worker.thread.postMessage('checkpoint')
  }
  const timer = setInterval(tick, ms)
  timer.unref()
  return {
    async stop(): Promise<void> {
      clearInterval(timer)
      stopWorker()
      await stopped
    },
  }
}

export function getMeta(db: Db, key: string): string | undefined {
  return (
    statement(db, 'SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined
  )?.value
}

export function setMeta(db: Db, key: string, value: string): void {
  statement(
    db,
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  ).run(key, value)
}

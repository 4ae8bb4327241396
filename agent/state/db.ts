// The agent's durable state: one SQLite file in TOEHOLD_HOME (0600, WAL). Each module owns the
// queries on its tables; the schema lives here so it can be read in one place.
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { Worker } from 'node:worker_threads'

const SCHEMA = `
  -- Apps the agent deploys and supervises. desired: 'running' | 'stopped'.
  CREATE TABLE IF NOT EXISTS apps (
    name TEXT PRIMARY KEY,
    repo TEXT NOT NULL,
    branch TEXT NOT NULL DEFAULT 'main',
    start TEXT,
    port INTEGER,
    health TEXT NOT NULL DEFAULT '/',
    poll_ms INTEGER,
    desired TEXT NOT NULL DEFAULT 'running',
    -- The release directory name ('<seq>-<sha>') the app runs, or last ran; null before the first deploy.
    current_release TEXT,
    created_at INTEGER NOT NULL
  ) STRICT;

  -- One webhook per app. secret never leaves this file except on enable/rotate.
  CREATE TABLE IF NOT EXISTS webhooks (
    app TEXT PRIMARY KEY REFERENCES apps (name) ON DELETE CASCADE,
    enabled INTEGER NOT NULL,
    provider TEXT NOT NULL,
    secret TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;

  -- Every delivery the agent answered; verified rows also de-duplicate redeliveries.
  CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app TEXT NOT NULL,
    relay_id TEXT NOT NULL,
    provider_id TEXT,
    provider TEXT,
    event TEXT,
    verified INTEGER NOT NULL,
    status INTEGER NOT NULL,
    result TEXT NOT NULL,
    deployment INTEGER,
    received_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX IF NOT EXISTS deliveries_relay ON deliveries (relay_id) WHERE verified = 1;
  CREATE INDEX IF NOT EXISTS deliveries_provider ON deliveries (app, provider_id) WHERE verified = 1;
  CREATE INDEX IF NOT EXISTS deliveries_app ON deliveries (app, id);

  -- Deployments, numbered per app (1, 2, 3 …). status: queued | running | live | failed |
  -- superseded | unchanged; stage: where a running or failed one is.
  CREATE TABLE IF NOT EXISTS deployments (
    app TEXT NOT NULL,
    n INTEGER NOT NULL,
    status TEXT NOT NULL,
    stage TEXT,
    trigger TEXT NOT NULL,
    ref TEXT,
    commit_sha TEXT,
    force INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    release TEXT,
    -- The deployed commit's subject line, and per-stage/per-step durations (JSON, milliseconds).
    message TEXT,
    timings TEXT,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    PRIMARY KEY (app, n)
  ) STRICT;

  -- Built releases kept on disk for instant rollback.
  CREATE TABLE IF NOT EXISTS releases (
    app TEXT NOT NULL,
    name TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    message TEXT,
    deployment INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (app, name)
  ) STRICT;

  -- The process groups the agent runs per app (role 'app': the app itself; 'build': an install
  -- or predeploy step), so a restarted agent can find and end strays. start_ticks is field 22
  -- of /proc/<pid>/stat: with the pid it tells our process from a recycled pid.
  CREATE TABLE IF NOT EXISTS processes (
    app TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'app',
    pid INTEGER NOT NULL,
    start_ticks TEXT,
    release TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    PRIMARY KEY (app, role)
  ) STRICT;

  -- Environment for apps and git: scope '' is global, otherwise an app name.
  CREATE TABLE IF NOT EXISTS env (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (scope, key)
  ) STRICT;

  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
`

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
  db.exec(SCHEMA)
  // The agent runs the same few dozen statements all day (every webhook runs several): compile
  // each once. Statements are reset after every use, so sharing them is safe.
  const prepare = db.prepare.bind(db)
  const statements = new Map<string, StatementSync>()
  db.prepare = (sql: string) => {
    let statement = statements.get(sql)
    if (!statement) {
      statement = prepare(sql)
      statements.set(sql, statement)
    }
    return statement
  }
  return db
}

/**
 * Moves the WAL into the database every `ms`, from a worker thread with its own connection, off
 * the event loop (see checkpoint-worker.js). `stop` ends it before the state is closed, so the
 * agent's own connection is the last one and leaves a fully checkpointed file behind.
 */
export function startCheckpoints(path: string, ms: number, onError: (message: string) => void) {
  const worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), {
    workerData: { path, everyMs: ms },
  })
  worker.on('message', (message: { error?: string }) => {
    if (message.error) onError(message.error)
  })
  worker.on('error', (error) => onError(error.message))
  worker.unref()
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
  return {
    async stop(): Promise<void> {
      worker.postMessage('stop')
      await exited
    },
  }
}

export function getMeta(db: Db, key: string): string | undefined {
  return (
    db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined
  )?.value
}

export function setMeta(db: Db, key: string, value: string): void {
  db.prepare(
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  ).run(key, value)
}

// The agent's schema, as a list of migrations: each runs once, in order, in a transaction, and
// PRAGMA user_version records how many have run. A home made by an earlier version is brought up
// to date at start; one made by a newer version is refused rather than misread. Add a migration
// at the end; never edit one that has shipped.

// 0.1's tables. IF NOT EXISTS: a 0.1 home (user_version 0) already has them.
const V1 = `
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

// Zero-downtime serving: the agent listens on each app's port (bind: null = all interfaces) and
// switches releases blue/green unless strategy is 'restart'; hostname routes the shared
// --http-port. Two processes of one app run at once during a switch: processes keys on the pid.
const V2_SERVING = `
  ALTER TABLE apps ADD COLUMN bind TEXT;
  ALTER TABLE apps ADD COLUMN strategy TEXT NOT NULL DEFAULT 'blue-green';
  ALTER TABLE apps ADD COLUMN hostname TEXT;
  CREATE TABLE processes_by_pid (
    app TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'app',
    pid INTEGER NOT NULL,
    start_ticks TEXT,
    release TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    PRIMARY KEY (app, role, pid)
  ) STRICT;
  INSERT INTO processes_by_pid SELECT app, role, pid, start_ticks, release, started_at FROM processes;
  DROP TABLE processes;
  ALTER TABLE processes_by_pid RENAME TO processes;
`

// The webhook as registered on the git host (issue 15): how it is managed and what the host holds.
const V3_HOOK_REGISTRATIONS = `
  -- mode: 'auto' (registered through the host's API) | 'manual' (pasted by hand) | 'polling'.
  -- url: the URL registered on the host, which the audit compares with today's.
  -- reason: why the agent could not register it (the host's own words); problem: what the
  -- audit found (a stale URL, a hook deleted on the host).
  CREATE TABLE hook_registrations (
    app TEXT PRIMARY KEY REFERENCES apps (name) ON DELETE CASCADE,
    mode TEXT NOT NULL,
    host TEXT,
    hook_id TEXT,
    url TEXT,
    reason TEXT,
    problem TEXT,
    registered_at INTEGER,
    updated_at INTEGER NOT NULL
  ) STRICT;
`

// Where deploy notifications go (issue 15). app null = every app; secret: the json format's
// Standard Webhooks key (whsec_…), shown once.
const V4_NOTIFY_TARGETS = `
  CREATE TABLE notify_targets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    app TEXT REFERENCES apps (name) ON DELETE CASCADE,
    on_event TEXT NOT NULL,
    format TEXT NOT NULL,
    secret TEXT,
    created_at INTEGER NOT NULL
  ) STRICT;
`

// What an app tracks: its branch (track NULL), or 'tags:GLOB', the newest tag matching the glob;
// prereleases: whether pre-release versions (and GitHub pre-releases) count.
const V5_TRACK = `
  ALTER TABLE apps ADD COLUMN track TEXT;
  ALTER TABLE apps ADD COLUMN prereleases INTEGER NOT NULL DEFAULT 0;
`

// Replays with a fresh id: the digest of a body whose id the signature does not cover.
const V6_BODY_DIGEST = `
  ALTER TABLE deliveries ADD COLUMN body_digest TEXT;
  CREATE INDEX deliveries_body ON deliveries (app, body_digest) WHERE verified = 1 AND body_digest IS NOT NULL;
`

// A CI trigger's bearer token, apart from the signing secret. Existing webhooks get one here
// (`webhook enable` shows it); the secret stops working as a bearer token.
const V7_TRIGGER_TOKEN = `
  ALTER TABLE webhooks ADD COLUMN trigger_token TEXT NOT NULL DEFAULT '';
  UPDATE webhooks SET trigger_token = 'tht_' || lower(hex(randomblob(32)));
`

// A rollback pins the app: no automatic deploy of the commit it was rolled back from, or older.
const V8_PINS = `
  CREATE TABLE pins (
    app TEXT PRIMARY KEY REFERENCES apps (name) ON DELETE CASCADE,
    -- The commit the operator rolled away from, and the release rolled back to.
    commit_sha TEXT NOT NULL,
    release TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
`

export const MIGRATIONS: readonly string[] = [
  V1,
  V2_SERVING,
  V3_HOOK_REGISTRATIONS,
  V4_NOTIFY_TARGETS,
  V5_TRACK,
  V6_BODY_DIGEST,
  V7_TRIGGER_TOKEN,
  V8_PINS,
]

// TOEHOLD_HOME: the agent's directory, owner-only. Its secrets (key, state, API key) live in
// agent/, apart from what apps are given (apps/<app>/: releases, logs, the app's own HOME), so a
// sandboxed app is handed its own directories and never a path that leads to the secrets.
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

export type Home = ReturnType<typeof agentHome>

/** Where the agent keeps its state unless told otherwise; the CLI looks there too. */
export const defaultHome = (env: NodeJS.ProcessEnv = process.env) =>
  env.TOEHOLD_HOME || join(homedir(), '.toehold')

export function agentHome(dir: string) {
  const root = resolve(dir)
  const secrets = join(root, 'agent')
  const apps = join(root, 'apps')
  return {
    root,
    /** The agent's own files: never visible to an app. */
    secrets,
    key: join(secrets, 'key.json'),
    state: join(secrets, 'state.db'),
    agentInfo: join(secrets, 'agent.json'),
    apps,
    releases: (app: string) => join(apps, app, 'releases'),
    repoCache: (app: string) => join(apps, app, 'repo.git'),
    logs: (app: string) => join(apps, app, 'logs'),
    /** The app's HOME in its sandbox: bun's cache, dotfiles. Its own, kept across deploys. */
    appHome: (app: string) => join(apps, app, 'home'),
  }
}

/** What a process started in a release directory may be given: that app's own directories. */
export type AppDirs = { root: string; app: string; release: string; logs: string; home: string }

/** The app directories of `dir` when it is a release (`<home>/apps/<app>/releases/<name>`), else null. */
export function releaseDirs(dir: string): AppDirs | null {
  const match = /^(.+)\/apps\/([^/]+)\/releases\/([^/]+)$/.exec(resolve(dir))
  if (!match) return null
  const [, root = '', app = ''] = match
  const home = agentHome(root)
  return { root, app, release: resolve(dir), logs: home.logs(app), home: home.appHome(app) }
}

/** Files an earlier layout kept at the top of the home; they move into agent/. */
const SECRET_FILES = ['key.json', 'state.db', 'state.db-wal', 'state.db-shm', 'agent.json']

/**
 * Creates the home, moves an earlier layout's secrets into agent/, and makes every file the agent
 * writes owner-only from here on. An existing home whose directories or secret files others can
 * read is repaired (each repair is reported through `warn`); one owned by another user is refused.
 */
export function ensureHome(home: Home, warn: (message: string) => void = () => {}): void {
  process.umask(0o077)
  for (const dir of [home.root, home.secrets, home.apps])
    mkdirSync(dir, { recursive: true, mode: 0o700 })
  for (const name of SECRET_FILES) {
    const old = join(home.root, name)
    const moved = join(home.secrets, name)
    if (existsSync(old) && !existsSync(moved)) {
      renameSync(old, moved)
      warn(`moved ${old} to ${moved} (secrets now live apart from the apps)`)
    }
  }
  const uid = process.getuid?.()
  const repair = (path: string, mode: number) => {
    const stat = statSync(path)
    if (uid !== undefined && stat.uid !== uid)
      throw new Error(`${path} belongs to another user (uid ${stat.uid}): refusing to use it`)
    if ((stat.mode & 0o777) !== mode) {
      chmodSync(path, mode)
      warn(`${path} was mode ${(stat.mode & 0o777).toString(8)}: made it ${mode.toString(8)}`)
    }
  }
  for (const dir of [home.root, home.secrets, home.apps]) repair(dir, 0o700)
  for (const name of readdirSync(home.secrets)) {
    const path = join(home.secrets, name)
    if (statSync(path).isFile()) repair(path, 0o600)
  }
}

// TOEHOLD_HOME: the agent's private directory (key, state, releases, logs), owner-only.
import { mkdirSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

export type Home = ReturnType<typeof agentHome>

/** Where the agent keeps its state unless told otherwise; the CLI looks there too. */
export const defaultHome = (env: NodeJS.ProcessEnv = process.env) =>
  env.TOEHOLD_HOME || join(homedir(), '.toehold')

export function agentHome(dir: string) {
  const root = resolve(dir)
  return {
    root,
    key: join(root, 'key.json'),
    state: join(root, 'state.db'),
    agentInfo: join(root, 'agent.json'),
    releases: (app: string) => join(root, 'apps', app, 'releases'),
    repoCache: (app: string) => join(root, 'apps', app, 'repo.git'),
    logs: (app: string) => join(root, 'apps', app, 'logs'),
  }
}

/** Creates the home (0700) and makes every file the agent writes owner-only from here on. */
export function ensureHome(home: Home): void {
  process.umask(0o077)
  mkdirSync(home.root, { recursive: true, mode: 0o700 })
}

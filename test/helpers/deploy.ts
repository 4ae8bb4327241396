// Deploy tests: fixture app repositories, apps added and deployed through an agent's local API,
// deployments awaited by polling it, what the app answers, fifos that hold a step until the test
// lets it go.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Deployment } from '../../agent/api/contract.ts'
import { agentHome } from '../../agent/core/home.ts'
import type { Agent } from './agent.ts'
import { createRepo, type Repo } from './git-repo.ts'
import { send } from './http.ts'
import { hostChild, hostPid } from './ns-pid.ts'
import { ROOT, tempDir } from './procs.ts'
import { until } from './wait.ts'

export const FIXTURE = join(ROOT, 'test/fixtures/app')
/** A repository holding the fixture app at version v1 (plus `files`), pushed to its remote. */
export function appRepo(files: Record<string, string> = {}): Repo & { first: string } {
  const repo = createRepo('main')
  cpSync(FIXTURE, repo.work, {
    recursive: true,
    filter: (source) => !source.includes('node_modules'),
  })
  const first = repo.commit({ 'version.txt': 'v1\n', ...files }, 'v1')
  return Object.assign(repo, { first })
}

export type AppOptions = {
  port?: number | null
  /** The address the agent serves the app's port on (default: every interface). */
  bind?: string
  env?: Record<string, string>
  start?: string
  health?: string
  pollMs?: number
  repo?: string
}

/** Registers an app (through the API) and sets its environment. */
export async function addApp(agent: Agent, name: string, repo: Repo, options: AppOptions = {}) {
  const added = await agent.api('POST', '/apps', {
    name,
    repo: options.repo ?? repo.remote,
    port: options.port ?? null,
    ...(options.bind ? { bind: options.bind } : {}),
    ...(options.start ? { start: options.start } : {}),
    ...(options.health ? { health: options.health } : {}),
    ...(options.pollMs ? { pollMs: options.pollMs } : {}),
  })
  assert.equal(added.status, 201, JSON.stringify(added.body))
  for (const [key, value] of Object.entries(options.env ?? {}))
    await setEnv(agent, name, key, value)
}

export async function setEnv(agent: Agent, app: string, key: string, value: string) {
  const set = await agent.api('PUT', '/env', { app, key, value })
  assert.equal(set.status, 200, JSON.stringify(set.body))
}

const FINISHED = new Set(['live', 'failed', 'superseded', 'unchanged'])

export async function deployment(agent: Agent, app: string, id: number | string) {
  const found = await agent.api<Deployment>('GET', `/apps/${app}/deployments/${id}`)
  assert.equal(found.status, 200, JSON.stringify(found.body))
  return found.body
}

export function finished(agent: Agent, app: string, id: number): Promise<Deployment> {
  return until(async () => {
    const d = await deployment(agent, app, id)
    return FINISHED.has(d.status) && d
  }, `deployment #${id} of ${app} to finish`)
}

/** Requests a deployment (POST /deploy body) and waits for its outcome. */
export async function deploy(
  agent: Agent,
  app: string,
  body: { ref?: string; force?: boolean } = {},
): Promise<Deployment> {
  const queued = await agent.api<Deployment>('POST', `/apps/${app}/deploy`, body)
  assert.equal(queued.status, 202, JSON.stringify(queued.body))
  return finished(agent, app, queued.body.id)
}

export type Answered = {
  version: string
  /** The release's own (private) port. */
  port: number
  built: string | null
  greeting: string
  pid: number
  child: number | null
  sawGitToken: boolean
}

/** What the fixture app on `port` answers (its pids as the host sees them), or null when no
 *  release answers (nothing listens, or the agent answers 503 in the app's place). */
export async function answer(port: number): Promise<Answered | null> {
  let got: Answered
  try {
    const response = await send(`http://127.0.0.1:${port}/`, { method: 'GET', timeout: 5000 })
    if (response.status === 503) return null
    got = JSON.parse(response.body.toString('utf8')) as Answered
  } catch {
    return null
  }
  // The release listens on its private port (the agent's proxy holds `port`).
  const pid = hostPid(got.port, got.pid)
  if (pid === null) return null
  return { ...got, pid, child: got.child === null ? null : hostChild(pid, got.child) }
}

/** Waits until the app on `port` answers with `version`. */
export const answers = (port: number, version: string) =>
  until(async () => {
    const got = await answer(port)
    return got?.version === version && got
  }, `version ${version} on port ${port}`)

/** The processes running from the app's release directories (zombies have no cwd). */
export function appProcesses(home: string, app: string): { pid: number; release: string }[] {
  const releases = join(home, 'apps', app, 'releases')
  const found: { pid: number; release: string }[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const cwd = readlinkSync(`/proc/${name}/cwd`)
      if (cwd.startsWith(`${releases}/`))
        found.push({
          pid: Number(name),
          release: cwd.slice(releases.length + 1).split('/')[0] ?? '',
        })
    } catch {}
  }
  return found
}

/** Waits until a deployment's build log has the line. */
export const logLine = (agent: Agent, app: string, id: number, line: string) =>
  until(async () => {
    const log = await agent.api('GET', `/logs/${app}/${id}?format=json`)
    return log.body.lines?.includes(line)
  }, `"${line}" in the log of #${id}`)

export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

/**
 * A named pipe: a step reading it waits until `open(path)` is called. Sandboxed apps see no
 * host /tmp: give the agent's home and the app to put it in the app's own HOME.
 */
export function fifo(name: string, within?: { home: string; app: string }): string {
  const dir = within ? agentHome(within.home).appHome(within.app) : tempDir('toehold-fifo-')
  mkdirSync(dir, { recursive: true })
  const path = join(dir, name)
  execFileSync('mkfifo', [path])
  return path
}

/** Lets one reader of the fifo through (resolves once a reader has taken it). */
export const open = (path: string) => writeFile(path, 'go\n')

// Deploy tests: agents (with or without a relay) driven through their local API, fixture app
// repositories, free ports, deployments awaited by polling the API with a deadline, fifos that
// hold a step until the test lets it go, and scans for leaked secrets.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { cpSync, type Dirent, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { delimiter, join } from 'node:path'
import type { Deployment } from '../../agent/api/contract.ts'
import { agentHome } from '../../agent/core/home.ts'
import { createRepo, type Repo } from './git-repo.ts'
import { hostChild, hostPid } from './ns-pid.ts'
import { type Proc, REGISTRATION_TOKEN, ROOT, spawnToehold, tempDir } from './procs.ts'

export const FIXTURE = join(ROOT, 'test/fixtures/app')
/** PATH with node_modules/.bin, where the agent finds bun. */
export const PATH = `${join(ROOT, 'node_modules/.bin')}${delimiter}${process.env.PATH}`

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

// biome-ignore lint/suspicious/noExplicitAny: tests read API answers field by field
export type Answer<T = any> = { status: number; body: T }

export type Agent = Proc & {
  home: string
  url: string
  // biome-ignore lint/suspicious/noExplicitAny: see Answer
  api<T = any>(method: string, path: string, body?: unknown): Promise<Answer<T>>
}

/** An agent on a free API port; resolves once it has recovered (it is then fully up). */
export async function startAgent(
  options: { home?: string; env?: NodeJS.ProcessEnv; relay?: string } = {},
): Promise<Agent> {
  const home = options.home ?? tempDir('toehold-home-')
  const relay = options.relay ? ['--relay', options.relay.replace(/^http/, 'ws')] : []
  const proc = spawnToehold(['agent', '--home', home, '--api-port', '0', ...relay], {
    PATH,
    ...(options.relay ? { TOEHOLD_REGISTRATION_TOKEN: REGISTRATION_TOKEN } : {}),
    ...options.env,
  })
  await proc.waitFor((line) => line.msg === 'recovered', 'recovery')
  const info = JSON.parse(readFileSync(agentHome(home).agentInfo, 'utf8'))
  return Object.assign(proc, {
    home,
    url: info.api as string,
    async api(method: string, path: string, body?: unknown) {
      const response = await fetch(`${info.api}${path}`, {
        method,
        headers: { authorization: `Bearer ${info.apiKey}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      const text = await response.text()
      let parsed: unknown = text
      try {
        parsed = JSON.parse(text)
      } catch {}
      // biome-ignore lint/suspicious/noExplicitAny: see Answer
      return { status: response.status, body: parsed as any }
    },
  })
}

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

/** Polls until `probe` returns something truthy; fails with `what` at the deadline. */
export async function until<T>(
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  what: string,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

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
  built: string | null
  greeting: string
  pid: number
  child: number | null
  sawGitToken: boolean
}

/** What the fixture app on `port` answers (its pids as the host sees them), or null when nothing answers. */
export async function answer(port: number): Promise<Answered | null> {
  let got: Answered
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) })
    got = (await response.json()) as Answered
  } catch {
    return null
  }
  const pid = hostPid(port, got.pid)
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

/** Asserts no secret appears in the agent's output, in any file of its home but the state
 *  database (where `env set` keeps it by design), or in the given API answers. */
export function assertNoSecret(agent: Agent, secrets: string[], answers: unknown[] = []) {
  const texts: [string, string][] = [
    ['agent stdout', agent.lines.map((line) => JSON.stringify(line)).join('\n')],
    ['agent stderr', agent.stderr],
    ['API answers', JSON.stringify(answers)],
  ]
  // Other deployments may add and remove files meanwhile: what vanishes is skipped.
  const gone = (error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const walk = (dir: string) => {
    let entries: Dirent[] = []
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch (error) {
      gone(error)
    }
    for (const entry of entries) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.isFile() && !entry.name.startsWith('state.db')) {
        try {
          texts.push([path, readFileSync(path, 'latin1')])
        } catch (error) {
          gone(error)
        }
      }
    }
  }
  walk(agent.home)
  for (const secret of secrets) {
    for (const [where, text] of texts) assert.ok(!text.includes(secret), `secret found in ${where}`)
  }
}

// An upgrade keeps state: an agent home and a relay data dir made by toehold 0.1.0 itself
// (test/fixtures/upgrade-0.1.0, see make.ts there) open with today's code. The push the relay
// queued (sealed) while the 0.1.0 agent was away drains to today's agent, which verifies it with
// the webhook secret 0.1.0 issued and deploys it beside the releases 0.1.0 made.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chmodSync, cpSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, it } from 'node:test'
import { agentHome } from '../agent/core/home.ts'
import { MIGRATIONS } from '../agent/state/schema.ts'
import { connected, freePort, startAgent } from './helpers/agent.ts'
import { toehold } from './helpers/cli.ts'
import { ROOT, startRelay, stopAll, tempDir } from './helpers/procs.ts'
import { until } from './helpers/wait.ts'

/** Agents that deployed an app: SIGTERM first, so a failed test leaves no app running. */
const deployed: { kill(signal?: NodeJS.Signals): Promise<unknown> }[] = []
after(async () => {
  await Promise.all(deployed.map((agent) => agent.kill('SIGTERM')))
  await stopAll()
})

const FIXTURE = join(ROOT, 'test/fixtures/upgrade-0.1.0')
const made = JSON.parse(readFileSync(join(FIXTURE, 'fixture.json'), 'utf8'))

/** A copy of a fixture directory, private like the original (git keeps no modes but +x). */
function copy(name: string): string {
  const dir = join(tempDir('toehold-upgrade-'), name)
  cpSync(join(FIXTURE, name), dir, { recursive: true })
  const tighten = (path: string) => {
    const isDir = statSync(path).isDirectory()
    chmodSync(path, isDir ? 0o700 : 0o600)
    if (isDir) for (const entry of readdirSync(path)) tighten(join(path, entry))
  }
  tighten(dir)
  return dir
}

const count = (db: DatabaseSync, table: string) =>
  (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n

it('a 0.1.0 agent home and relay data dir open, the queue drains, and the app deploys', async () => {
  assert.equal(made.version, '0.1.0')
  const home = copy('home')
  const data = copy('relay')
  const remote = join(tempDir('toehold-upgrade-repo-'), 'remote.git')
  execFileSync('git', ['clone', '--quiet', '--bare', join(FIXTURE, 'app.bundle'), remote])
  // The fixture's remote and port were a temp dir and a free port on the machine that made it:
  // point them at this run's (the one edit to 0.1.0's state, before today's code opens it).
  const port = await freePort()
  const before = new DatabaseSync(join(home, 'state.db'))
  before.prepare('UPDATE apps SET repo = ?, port = ? WHERE name = ?').run(remote, port, made.app)
  assert.equal(
    (before.prepare('PRAGMA user_version').get() as { user_version: number }).user_version,
    0,
  )
  before.close()

  const relay = await startRelay({ dataDir: data })
  const agent = await startAgent({ relay, home, registrationToken: null })
  deployed.push(agent)
  assert.equal(agent.instance, made.instance)
  await connected(agent)

  // v3 goes live: by the drained webhook, or by convergence if it saw the branch move first (the
  // webhook then finds it deployed). Either way the queued delivery is verified and recorded.
  const hook = await until(async () => {
    const status = await toehold(home, ['status', made.app, '--json'])
    if (status.json?.commit !== made.commits.v3 || status.json.state !== 'running') return null
    const webhook = await toehold(home, ['webhook', 'status', made.app, '--json'])
    return webhook.json?.deliveries?.length === 2 ? webhook.json : null
  }, 'v3 live and the queued push drained')
  assert.equal(hook.provider, 'github')
  assert.equal(hook.enabled, true)
  assert.deepEqual(
    hook.deliveries.map((d: { status: number }) => d.status),
    [202, 202],
    "0.1.0's delivery and the drained one, its signature checked with 0.1.0's secret",
  )
  const deployments = (await agent.api('GET', `/apps/${made.app}/deployments`)).body as {
    id: number
    status: string
    commit: string
  }[]
  const v3 = deployments.find((d) => d.commit === made.commits.v3 && d.status === 'live')
  assert.equal(v3?.id, 3, "0.1.0's two deployments keep their ids")
  const answer = await (await fetch(`http://127.0.0.1:${port}/`)).json()
  assert.equal(answer.version, 'v3')

  const releases = await toehold(home, ['status', made.app, '--json'])
  assert.match(releases.json.release, /^003-/)

  assert.deepEqual(await agent.kill(), { code: 0, signal: null })
  assert.deepEqual(await relay.kill(), { code: 0, signal: null })
  const state = new DatabaseSync(agentHome(home).state, { readOnly: true })
  assert.equal(
    (state.prepare('PRAGMA user_version').get() as { user_version: number }).user_version,
    MIGRATIONS.length,
  )
  assert.equal(count(state, 'releases'), 3)
  state.close()
  const queue = new DatabaseSync(join(data, 'relay.db'), { readOnly: true })
  assert.equal(count(queue, 'queue'), 0, "the relay's queue drained")
  queue.close()
})

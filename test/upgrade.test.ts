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
import { MIGRATIONS } from '../agent/state/schema.ts'
import { toehold } from './helpers/cli.ts'
import { freePort, PATH, until } from './helpers/deploy.ts'
import { connected, ROOT, startAgent, startRelay, stopAll, tempDir } from './helpers/procs.ts'

after(stopAll)

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
  const agent = await startAgent(relay, { home, registrationToken: null, env: { PATH } })
  assert.equal(agent.instance, made.instance)
  await connected(agent)

  const live = await until(async () => {
    const status = await toehold(home, ['status', made.app, '--json'])
    return status.json?.commit === made.commits.v3 && status.json.lastDeployment?.status === 'live'
      ? status.json
      : null
  }, 'the queued v3 push to go live')
  assert.equal(live.state, 'running')
  assert.equal(live.lastDeployment.id, 3, "0.1.0's two deployments keep their ids")
  const answer = await (await fetch(`http://127.0.0.1:${port}/`)).json()
  assert.equal(answer.version, 'v3')

  const releases = await toehold(home, ['status', made.app, '--json'])
  assert.match(releases.json.release, /^003-/)
  const hook = await toehold(home, ['webhook', 'status', made.app, '--json'])
  assert.equal(hook.json.provider, 'github')
  assert.equal(hook.json.enabled, true)
  assert.deepEqual(
    hook.json.deliveries.map((d: { status: number }) => d.status),
    [202, 202],
    "0.1.0's delivery and the drained one",
  )

  assert.deepEqual(await agent.kill(), { code: 0, signal: null })
  assert.deepEqual(await relay.kill(), { code: 0, signal: null })
  const state = new DatabaseSync(join(home, 'state.db'), { readOnly: true })
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

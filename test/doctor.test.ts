// `toehold doctor` against real agents: each check fails for its real cause (bun missing from
// the agent's PATH, a world-readable home, a stranger on an app's port, a relay clock 5 minutes
// off), names the fix, and the exit code says whether a deploy can work.
import assert from 'node:assert/strict'
import { chmodSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { after, it } from 'node:test'
import type { DoctorCheck } from '../agent/api/contract.ts'
import { clockSkew } from '../agent/core/checks.ts'
import { freePort, startAgent } from './helpers/agent.ts'
import { toehold } from './helpers/cli.ts'
import { addApp, appRepo, deploy } from './helpers/deploy.ts'
import { startRelay, stopAll, tempDir } from './helpers/procs.ts'

/** Agents that deployed an app: SIGTERM first, so a failed test leaves no app running. */
const deployed: { kill(signal?: NodeJS.Signals): Promise<unknown> }[] = []
after(async () => {
  await Promise.all(deployed.map((agent) => agent.kill('SIGTERM')))
  await stopAll()
})

const byName = (checks: DoctorCheck[]) => new Map(checks.map((check) => [check.name, check]))

function listen(port: number): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer((_, res) => res.end('stranger'))
    server.listen(port, '127.0.0.1', () => resolve(server))
  })
}

it('passes on a healthy agent, and names the fix for a readable home and a taken port', async () => {
  const relay = await startRelay()
  const agent = await startAgent({ relay })
  deployed.push(agent)
  const repo = appRepo()
  const [own, taken] = [await freePort(), await freePort()]
  await addApp(agent, 'web', repo, { port: own })
  // Served on 127.0.0.2 only: a stranger can still take the port on 127.0.0.1.
  await addApp(agent, 'api', repo, { port: taken, bind: '127.0.0.2' })
  assert.equal((await deploy(agent, 'web')).status, 'live')

  const healthy = await toehold(agent.home, ['doctor', '--json'])
  assert.equal(healthy.code, 0, healthy.stdout)
  assert.equal(healthy.json.ok, true)
  const checks = byName(healthy.json.checks)
  assert.deepEqual(
    ['node', 'git', 'bun', 'home', 'relay', 'clock', 'port web', 'port api'].filter(
      (name) => !checks.get(name)?.ok,
    ),
    [],
  )
  assert.match(checks.get('bun')?.detail ?? '', /^bun \d+\.\d+/)
  // The agent takes each app's port at `app add`, deployed or not.
  assert.match(checks.get('port web')?.detail ?? '', /served by the agent for web/)
  assert.match(checks.get('port api')?.detail ?? '', /served by the agent for api/)

  chmodSync(agent.home, 0o755)
  const stranger = await listen(taken)
  try {
    const sick = await toehold(agent.home, ['doctor'])
    assert.equal(sick.code, 1)
    const lines = sick.stdout.split('\n')
    const home = lines.findIndex((line) => line.startsWith('✘ home'))
    assert.match(lines[home] ?? '', /mode 755: others can read it/)
    assert.match(lines[home + 1] ?? '', /→ chmod -R go-rwx /)
    const port = lines.find((line) => line.startsWith('✘ port api')) ?? ''
    assert.match(port, new RegExp(`port ${taken} is held by pid ${process.pid} \\(`))
    assert.ok(lines.some((line) => line.startsWith('✔ port web')))
  } finally {
    stranger.close()
    chmodSync(agent.home, 0o700)
  }
  // SIGTERM: the agent stops its app (stopAll's SIGKILL would leave the app running).
  assert.deepEqual(await agent.kill(), { code: 0, signal: null })
  await relay.kill()
})

it("fails when bun is not on the agent's PATH, and when no agent runs", async () => {
  const agent = await startAgent({ env: { PATH: '/usr/bin:/bin' } })
  const report = await toehold(agent.home, ['doctor', '--json'])
  assert.equal(report.code, 1)
  const checks = byName(report.json.checks)
  assert.equal(checks.get('bun')?.ok, false)
  assert.match(checks.get('bun')?.fix ?? '', /install Bun/)
  assert.equal(checks.get('git')?.ok, true)
  assert.equal(checks.get('relay')?.ok, false)
  assert.match(checks.get('relay')?.fix ?? '', /--relay/)

  await agent.kill()
  const gone = await toehold(agent.home, ['doctor', '--json'])
  assert.equal(gone.code, 1)
  assert.deepEqual(
    gone.json.checks.map((check: DoctorCheck) => [check.name, check.ok]),
    [['agent', false]],
  )
  const never = await toehold(tempDir(), ['doctor'])
  assert.equal(never.code, 1)
  assert.match(
    never.stdout,
    /^✘ agent +no agent found in .*\n +→ start it: `toehold service install agent`/,
  )
})

it("measures the relay's clock from its Date header", async () => {
  const ahead = 5 * 60_000
  const server = createServer((_, res) => {
    res.sendDate = false
    res.setHeader('date', new Date(Date.now() + ahead).toUTCString())
    res.end('{"ok":true}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const { port } = server.address() as { port: number }
    const skew = await clockSkew(`http://127.0.0.1:${port}`)
    assert.ok(Math.abs(skew - ahead) <= 1_000, `skew ${skew}`)
  } finally {
    server.close()
  }
})

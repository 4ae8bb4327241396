// The promise of zero-downtime deploys, kept under load: a client sends requests continuously to
// the app's public port (the agent's listener) through good deploys, a slow-booting release, a
// release that never listens, one that exits at once, one that answers 500, a rollback, a
// restart and a SIGKILLed live release. Every request gets a 2xx, or, only while no release can
// serve (the SIGKILL), a 503 with Retry-After; none is refused or reset.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Agent, freePort, startAgent } from './helpers/agent.ts'
import {
  addApp,
  answers,
  appProcesses,
  appRepo,
  deploy,
  finished,
  setEnv,
} from './helpers/deploy.ts'
import { show, startTraffic, type Tally, type Traffic } from './helpers/traffic.ts'
import { until } from './helpers/wait.ts'

const T = { timeout: 120_000 }

/** Only 2xx answers, from these versions. */
function allServed(tally: Tally, versions: string[], what: string) {
  assert.ok(tally.total > 0, `${what}: requests were sent`)
  assert.deepEqual(Object.keys(tally.errors), [], `${what}: no request failed: ${show(tally)}`)
  assert.deepEqual(Object.keys(tally.codes), ['200'], `${what}: all 200: ${show(tally)}`)
  assert.deepEqual([...tally.versions].sort(), versions, `${what}: ${show(tally)}`)
}

describe('zero downtime under load', () => {
  let agent: Agent
  let port: number
  let traffic: Traffic
  const repo = appRepo()

  before(async () => {
    agent = await startAgent({
      env: {
        TOEHOLD_HEALTH_TIMEOUT: '1500ms',
        TOEHOLD_DRAIN: '2s',
        TOEHOLD_RESTART_BACKOFF: '300ms',
      },
    })
    port = await freePort()
    await addApp(agent, 'app', repo, { port })
    assert.equal((await deploy(agent, 'app')).status, 'live')
    await answers(port, 'v1')
    traffic = startTraffic(port)
  })
  after(async () => {
    await traffic.stop()
    await agent.kill()
  })

  /** Old releases drain and stop: in the end only the live one runs. */
  const oneRelease = () =>
    until(
      () => new Set(appProcesses(agent.home, 'app').map((p) => p.release)).size === 1,
      'one release running',
    )

  /** Pushes `files` as `version` and deploys it; returns the deployment. */
  async function push(version: string, files: Record<string, string> = {}) {
    repo.commit({ 'version.txt': `${version}\n`, 'mode.txt': '', ...files }, version)
    return deploy(agent, 'app')
  }

  test('good deploys, one of a release that boots slowly', T, async () => {
    traffic.phase()
    assert.equal((await push('v2')).status, 'live')
    await setEnv(agent, 'app', 'BOOT_DELAY_MS', '700')
    assert.equal((await push('v3')).status, 'live')
    await setEnv(agent, 'app', 'BOOT_DELAY_MS', '0')
    assert.equal((await push('v4')).status, 'live')
    await answers(port, 'v4')
    const tally = traffic.phase()
    allServed(
      tally,
      ['v1', 'v2', 'v3', 'v4'].filter((v) => tally.versions.has(v)),
      'deploys',
    )
    assert.ok(tally.versions.has('v4'))
    const metrics = (await agent.api('GET', '/metrics')).body as string
    assert.match(metrics, /toehold_app_switches_total\{app="app"\} 4/)
    assert.match(metrics, /toehold_app_drains_total\{app="app",result="clean"\} [1-3]/)
    assert.match(metrics, /toehold_app_requests_total\{app="app",code="200"\} \d+/)
    assert.match(metrics, /toehold_app_request_duration_seconds_count\{app="app"\} \d+/)
  })

  test(
    'a release that never listens, one that exits at once, one that answers 500',
    T,
    async () => {
      traffic.phase()
      const silent = await push('v5', { 'mode.txt': 'silent\n' })
      assert.deepEqual([silent.status, silent.stage], ['failed', 'health_check'])
      assert.match(silent.reason ?? '', /got no answer within 1\.5s/)
      const exits = await push('v6', { 'mode.txt': 'exit-at-boot\n' })
      assert.deepEqual([exits.status, exits.stage], ['failed', 'health_check'])
      assert.match(exits.reason ?? '', /^the app exited with code 3 during the health check/)
      const broken = await push('v7', { 'mode.txt': 'fail-500\n' })
      assert.deepEqual([broken.status, broken.stage], ['failed', 'health_check'])
      assert.match(broken.reason ?? '', /answered 500 within 1\.5s, never below 500/)
      allServed(traffic.phase(), ['v4'], 'failed deploys')
      await oneRelease()
    },
  )

  test('a rollback and a restart', T, async () => {
    traffic.phase()
    const back = await agent.api('POST', '/apps/app/rollback')
    assert.equal(back.status, 202)
    assert.equal((await finished(agent, 'app', back.body.id)).status, 'live')
    await answers(port, 'v3')
    const restarted = await agent.api('POST', '/apps/app/restart')
    assert.equal(restarted.status, 200, JSON.stringify(restarted.body))
    const tally = traffic.phase()
    allServed(
      tally,
      ['v3', 'v4'].filter((v) => tally.versions.has(v)),
      'rollback and restart',
    )
    assert.ok(tally.versions.has('v3'))
  })

  test(
    'the live release SIGKILLed: 503 with Retry-After until the restart, then 200',
    T,
    async () => {
      await oneRelease()
      const live = (await agent.api('GET', '/apps/app')).body
      traffic.phase()
      process.kill(-live.pid, 'SIGKILL')
      const back = await until(async () => {
        const status = (await agent.api('GET', '/apps/app')).body
        return status.state === 'running' && status.pid !== live.pid && status
      }, 'the supervisor restart')
      assert.equal(back.release.slice(0, 3), '003')
      await answers(port, 'v3')
      const tally = traffic.phase()
      assert.deepEqual(Object.keys(tally.errors), [], `no request refused or reset: ${show(tally)}`)
      assert.deepEqual(Object.keys(tally.codes).sort(), ['200', '503'], show(tally))
      assert.equal(tally.bare503, 0, 'every 503 says when to retry')
      await until(() => traffic.count() >= 50, '50 requests after the restart')
      allServed(traffic.phase(), ['v3'], 'after the restart')
      await oneRelease()
    },
  )
})

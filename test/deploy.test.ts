// Deploying for real: a real git remote, real `bun install` (a file: dependency), the fixture's
// predeploy, a Bun app answering HTTP, one agent driven by the CLI and its API. The good paths:
// push → live, second push, unchanged and --force, the collapsing pending slot, logs, stop/start/
// restart with prepared releases, and rollback.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type Agent, freePort, startAgent } from './helpers/agent.ts'
import { toehold } from './helpers/cli.ts'
import {
  addApp,
  alive,
  answer,
  answers,
  appRepo,
  deploy,
  deployment,
  fifo,
  finished,
  open,
} from './helpers/deploy.ts'
import { BIN } from './helpers/procs.ts'
import { until } from './helpers/wait.ts'

const T = { timeout: 60_000 }

describe('deploys', () => {
  let agent: Agent
  let port: number
  const repo = appRepo()
  const cli = (...args: string[]) => toehold(agent.home, args)

  before(async () => {
    agent = await startAgent()
    port = await freePort()
    await addApp(agent, 'blog', repo, { port })
  })
  after(() => agent.kill())

  test('a push deploys: fetch, bun install, predeploy, start, health check, live', T, async () => {
    const followed = await cli('deploy', 'blog', '--follow')
    assert.equal(followed.code, 0, followed.stderr + followed.stdout)
    const stages = [
      'queued',
      'fetching',
      'installing',
      'building',
      'starting',
      'health_check',
      'live',
    ]
    const shown = followed.stdout.split('\n').map((line) => line.trim().split(/\s+/)[1])
    assert.deepEqual(
      shown.filter((word) => stages.includes(word as string)),
      stages,
      followed.stdout,
    )
    assert.match(followed.stdout, /live: [0-9a-f]{7} v1 in \d+\.\ds/)

    const got = await answer(port)
    assert.equal(got?.version, 'v1')
    assert.equal(got?.built, 'v1', 'predeploy ran')
    assert.equal(got?.greeting, 'hello from fixture-lib', 'bun install installed the dependency')

    const status = await cli('status', 'blog', '--json')
    assert.equal(status.json.state, 'running')
    assert.equal(status.json.desired, 'running')
    assert.equal(status.json.commit, repo.first)
    assert.match(status.json.release, /^001-[0-9a-f]{12}$/)
    assert.equal(status.json.pid > 0, true)
    assert.deepEqual(
      { id: status.json.lastDeployment.id, status: status.json.lastDeployment.status },
      { id: 1, status: 'live' },
    )
  })

  test('a second push deploys the new head; releases are kept', T, async () => {
    const second = repo.commit({ 'version.txt': 'v2\n' }, 'v2')
    const d = await deploy(agent, 'blog')
    assert.equal(d.status, 'live', d.reason ?? '')
    assert.equal(d.commit, second)
    assert.equal(d.message, 'v2')
    for (const step of ['git', 'install', 'predeploy', 'boot', 'total'])
      assert.equal(typeof d.timings[step], 'number', step)
    assert.equal((await answer(port))?.version, 'v2')
    const releases = (await agent.api('GET', '/apps/blog/releases')).body
    assert.deepEqual(
      releases.map((r: { name: string; live: boolean }) => [r.name.slice(0, 3), r.live]),
      [
        ['002', true],
        ['001', false],
      ],
    )
  })

  test('the live commit again is `unchanged` and restarts nothing, unless forced', T, async () => {
    const before = await answer(port)
    const same = await deploy(agent, 'blog')
    assert.equal(same.status, 'unchanged')
    assert.equal((await answer(port))?.pid, before?.pid)

    const forced = await cli('deploy', 'blog', '--force', '--follow', '--json')
    assert.equal(forced.code, 0, forced.stderr)
    assert.equal(forced.json.status, 'live')
    const now = await answer(port)
    assert.equal(now?.version, 'v2')
    assert.notEqual(now?.pid, before?.pid)
  })

  test('pushes during a deployment collapse into one pending slot, newest wins', T, async () => {
    const gate = fifo('predeploy', { home: agent.home, app: 'gated' })
    const gated = appRepo()
    const gatedPort = await freePort()
    await addApp(agent, 'gated', gated, { port: gatedPort, env: { PREDEPLOY_GATE: gate } })
    const first = (await agent.api('POST', '/apps/gated/deploy')).body
    await until(async () => {
      const log = await agent.api('GET', `/logs/gated/${first.id}?format=json`)
      return log.body.lines?.includes('predeploy: waiting for the gate')
    }, 'the predeploy to wait at its gate')

    gated.commit({ 'version.txt': 'v2\n' }, 'v2')
    const second = (await agent.api('POST', '/apps/gated/deploy')).body
    const third = gated.commit({ 'version.txt': 'v3\n' }, 'v3')
    const newest = (await agent.api('POST', '/apps/gated/deploy')).body
    const replaced = await deployment(agent, 'gated', second.id)
    assert.equal(replaced.status, 'superseded')
    assert.equal(replaced.reason, `superseded by #${newest.id}`)

    // Followed from the middle: what was written so far, then on until the deployment ends.
    const following = spawn(process.execPath, [
      BIN,
      'logs',
      'gated',
      String(first.id),
      '--follow',
      '--home',
      agent.home,
    ])
    let followed = ''
    following.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      followed += chunk
    })
    const exited = once(following, 'exit')
    await until(() => followed.includes('predeploy: waiting for the gate\n'), 'the followed log')
    await open(gate)
    assert.equal((await finished(agent, 'gated', first.id)).status, 'live')
    assert.deepEqual(await exited, [0, null], 'the follow ends with the deployment')
    await open(gate)
    const last = await finished(agent, 'gated', newest.id)
    assert.equal(last.status, 'live', last.reason ?? '')
    assert.equal(last.commit, third)
    assert.equal((await answer(gatedPort))?.version, 'v3')
  })

  test('a debounce lets a burst of requests settle into one deployment', T, async () => {
    const bursty = await freePort()
    await addApp(agent, 'bursty', appRepo(), { port: bursty, env: { TOEHOLD_DEBOUNCE: '300ms' } })
    const first = (await agent.api('POST', '/apps/bursty/deploy')).body
    const second = (await agent.api('POST', '/apps/bursty/deploy')).body
    const replaced = await deployment(agent, 'bursty', first.id)
    assert.deepEqual([replaced.status, replaced.startedAt], ['superseded', null])
    assert.equal((await finished(agent, 'bursty', second.id)).status, 'live')
    await answers(bursty, 'v1')
  })

  test('logs: a deployment by number, 007 form or commit prefix; --tail; --app', T, async () => {
    const byNumber = await cli('logs', 'blog', '1')
    assert.equal(byNumber.code, 0, byNumber.stderr)
    assert.match(byNumber.stdout, /\$ bun install --frozen-lockfile/)
    assert.match(byNumber.stdout, /predeploy: building v1/)
    assert.equal((await cli('logs', 'blog', '001')).stdout, byNumber.stdout)
    assert.equal((await cli('logs', 'blog', repo.first.slice(0, 7))).stdout, byNumber.stdout)

    const latest = await cli('logs', 'blog', '--tail', '1', '--json')
    assert.equal(latest.json.deployment, 4, 'the latest: #4, the forced one')
    assert.equal(latest.json.lines.length, 1)

    const app = await cli('logs', 'blog', '--app')
    assert.match(app.stdout, /booting v1/)
    assert.match(app.stdout, /booting v2/)

    const missing = await cli('logs', 'blog', '99')
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /no deployment "99" of blog/)
  })

  test('stop; a deploy then only prepares the release; start and restart run it', T, async () => {
    const stopped = await cli('stop', 'blog', '--json')
    assert.equal(stopped.code, 0, stopped.stderr)
    assert.equal(stopped.json.state, 'stopped')
    assert.equal(await answer(port), null)

    const fourth = repo.commit({ 'version.txt': 'v4\n' }, 'v4')
    const prepared = await deploy(agent, 'blog')
    assert.equal(prepared.status, 'live')
    assert.match(prepared.reason ?? '', /blog is stopped: release 00\d-[0-9a-f]{12} is ready/)
    assert.equal(prepared.timings.boot, undefined, 'nothing started')
    assert.equal(await answer(port), null)
    const status = await cli('status', 'blog', '--json')
    assert.deepEqual(
      [status.json.state, status.json.desired, status.json.commit],
      ['stopped', 'stopped', fourth],
    )

    const started = await cli('start', 'blog', '--json')
    assert.equal(started.json.state, 'running', started.stderr)
    const running = await answer(port)
    assert.equal(running?.version, 'v4')
    const restarted = await cli('restart', 'blog')
    assert.match(restarted.stdout, /blog running \(pid \d+\)/)
    const again = await answer(port)
    assert.equal(again?.version, 'v4')
    assert.notEqual(again?.pid, running?.pid)
  })

  test(
    'rollback switches to the previous release at once, through the health check',
    T,
    async () => {
      const releases = (await agent.api('GET', '/apps/blog/releases')).body
      const [live, previous] = releases
      const back = await cli('rollback', 'blog', '--follow', '--json')
      assert.equal(back.code, 0, back.stderr)
      assert.equal(back.json.trigger, 'rollback')
      assert.equal(back.json.status, 'live')
      assert.equal(back.json.release, previous.name)
      assert.deepEqual(Object.keys(back.json.timings).sort(), [
        'boot',
        'health_check',
        'queued',
        'starting',
        'total',
      ])
      assert.equal((await answer(port))?.version, 'v2')

      const forth = await cli('rollback', 'blog', '--to', live.name.slice(0, 3), '--follow')
      assert.equal(forth.code, 0, forth.stderr)
      await answers(port, 'v4')

      const nowhere = await cli('rollback', 'blog', '--to', 'nope', '--json')
      assert.equal(nowhere.code, 1)
      assert.match(nowhere.json.error, /no kept release "nope" of blog \(kept: /)
    },
  )

  test('removing an app stops it and deletes its files', T, async () => {
    const pid = (await answer(port))?.pid
    const removed = await cli('app', 'remove', 'blog', '--json')
    assert.equal(removed.code, 0, removed.stderr)
    assert.equal(await answer(port), null)
    assert.equal(alive(pid ?? 0), false)
    assert.equal(existsSync(join(agent.home, 'apps', 'blog')), false)
  })
})

// A broken push never takes the app down: each fault a real one (a failing predeploy, a
// dependency that cannot resolve, an app that exits or never answers, a sha the remote does not
// have, a remote that is gone, a wrong token against git's own smart-HTTP server, an app that
// keeps crashing). Every time the previous version keeps answering over HTTP and no secret
// reaches a log line, a file or an API answer.
import assert from 'node:assert/strict'
import { renameSync } from 'node:fs'
import { dirname } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type Agent, assertNoLeak, freePort, startAgent } from './helpers/agent.ts'
import { toehold } from './helpers/cli.ts'
import {
  type AppOptions,
  addApp,
  answer,
  answers,
  appRepo,
  deploy,
  finished,
  setEnv,
} from './helpers/deploy.ts'
import { startGitHttp } from './helpers/git-http.ts'
import { until } from './helpers/wait.ts'

const T = { timeout: 60_000 }
/** Set for every app: it must never show up anywhere. */
const GIT_TOKEN = 'ghp_globalTokenThatMustNeverLeak0123456789'

describe('faults', { concurrency: true }, () => {
  let agent: Agent
  before(async () => {
    agent = await startAgent()
    const host = await agent.api('PUT', '/env', { key: 'GIT_TOKEN_HOST', value: '127.0.0.1' })
    assert.equal(host.status, 200)
    const set = await agent.api('PUT', '/env', { key: 'GIT_TOKEN', value: GIT_TOKEN })
    assert.equal(set.status, 200)
  })
  after(() => agent.kill())

  /** An app live at v1; returns its port, repo and what v1 answers. */
  async function liveApp(name: string, options: AppOptions = {}) {
    const repo = appRepo()
    const port = await freePort()
    await addApp(agent, name, repo, { port, ...options })
    const first = await deploy(agent, name)
    assert.equal(first.status, 'live', first.reason ?? '')
    const v1 = await answer(port)
    assert.equal(v1?.version, 'v1')
    assert.equal(v1?.sawGitToken, false, 'git credentials stay with git')
    return { repo, port, v1 }
  }

  /** The outcome a person sees, and the checks every fault shares. */
  async function brokenPush(name: string, port: number, body: { ref?: string } = {}) {
    const failed = await deploy(agent, name, body)
    assert.equal(failed.status, 'failed')
    const v1 = await answer(port)
    assert.equal(v1?.version, 'v1', 'the previous version keeps answering')
    const api = [
      failed,
      (await agent.api('GET', `/apps/${name}`)).body,
      (await agent.api('GET', `/logs/${name}/${failed.id}`)).body,
      (await agent.api('GET', `/logs/${name}/app`)).body,
    ]
    assertNoLeak(agent, { GIT_TOKEN }, api)
    return failed
  }

  test('predeploy exits 1: failed at building, the running process untouched', T, async () => {
    const { repo, port, v1 } = await liveApp('predeploy')
    repo.commit({ 'version.txt': 'v2\n', 'mode.txt': 'predeploy-fail\n' }, 'v2 breaks its build')
    const failed = await brokenPush('predeploy', port)
    assert.equal(failed.stage, 'building')
    assert.equal(
      failed.reason,
      'bun run predeploy exited with code 1 (see toehold logs predeploy 2)',
    )
    assert.equal((await answer(port))?.pid, v1?.pid, 'not even restarted')
    const log = (await agent.api('GET', '/logs/predeploy/2?format=json')).body.lines
    assert.ok(log.includes('predeploy: failing on purpose'), log.join('\n'))
  })

  test('bun install fails on a dependency that cannot resolve', T, async () => {
    const { repo, port, v1 } = await liveApp('install')
    repo.git('rm', '--quiet', 'bun.lock')
    const broken = {
      name: 'toehold-fixture-app',
      scripts: { start: 'bun server.js' },
      dependencies: { 'fixture-lib': 'file:./lib', 'no-such-package': 'file:./nowhere' },
    }
    repo.commit({ 'version.txt': 'v2\n', 'package.json': JSON.stringify(broken) }, 'v2')
    const failed = await brokenPush('install', port)
    assert.equal(failed.stage, 'installing')
    assert.equal(failed.reason, 'bun install exited with code 1 (see toehold logs install 2)')
    assert.equal((await answer(port))?.pid, v1?.pid)
    const log = (await agent.api('GET', '/logs/install/2')).body
    assert.match(log, /no-such-package/)
  })

  test('the app exits at boot: failed at health_check, v1 still serves', T, async () => {
    const { repo, port } = await liveApp('boot')
    repo.commit({ 'version.txt': 'v2\n', 'mode.txt': 'exit-at-boot\n' }, 'v2 exits')
    const failed = await brokenPush('boot', port)
    assert.equal(failed.stage, 'health_check')
    assert.match(
      failed.reason ?? '',
      /^the app exited with code 3 during the health check after [\d.]+m?s \(see toehold logs boot --app\)$/,
    )
    const releases = (await agent.api('GET', '/apps/boot/releases')).body
    assert.deepEqual(
      releases.map((r: { name: string }) => r.name.slice(0, 3)),
      ['001'],
      'the failed release is not kept',
    )
    assert.equal((await agent.api('GET', '/apps/boot')).body.state, 'running')
  })

  test('the app never answers its health check (timeout set per app)', T, async () => {
    const { repo, port } = await liveApp('silent', { env: { TOEHOLD_HEALTH_TIMEOUT: '2s' } })
    repo.commit({ 'version.txt': 'v2\n', 'mode.txt': 'silent\n' }, 'v2 never listens')
    const failed = await brokenPush('silent', port)
    assert.equal(failed.stage, 'health_check')
    assert.match(
      failed.reason ?? '',
      /^health check: GET http:\/\/127\.0\.0\.1:\d+\/ got no answer within 2s \(last: ECONNREFUSED\) \(see/,
    )
  })

  test('a start command that cannot run fails at starting', T, async () => {
    const { repo, port } = await liveApp('nostart')
    const noStart = {
      name: 'x',
      scripts: { predeploy: 'bun predeploy.js' },
      dependencies: { 'fixture-lib': 'file:./lib' },
    }
    repo.git('rm', '--quiet', 'bun.lock')
    repo.commit({ 'version.txt': 'v2\n', 'package.json': JSON.stringify(noStart) }, 'v2')
    const failed = await brokenPush('nostart', port)
    assert.equal(failed.stage, 'starting')
    assert.match(failed.reason ?? '', /^no start command: add a "start" script to package.json/)
  })

  test('a sha the remote does not have', T, async () => {
    const { port } = await liveApp('nosha')
    const sha = 'deadbeef'.repeat(5)
    const failed = await brokenPush('nosha', port, { ref: sha })
    assert.equal(failed.stage, 'fetching')
    assert.match(failed.reason ?? '', new RegExp(`^commit ${sha} does not exist on /`))
    const short = await brokenPush('nosha', port, { ref: 'abc1234' })
    assert.match(short.reason ?? '', /^no branch, tag or commit "abc1234" on /)
  })

  test('the remote is unreachable', T, async () => {
    const { repo, port } = await liveApp('gone')
    repo.commit({ 'version.txt': 'v2\n' }, 'v2')
    const moved = `${repo.remote}.moved`
    renameSync(repo.remote, moved)
    try {
      const failed = await brokenPush('gone', port)
      assert.equal(failed.stage, 'fetching')
      assert.match(
        failed.reason ?? '',
        /^remote unreachable: .*does not appear to be a git repository/,
      )
    } finally {
      renameSync(moved, repo.remote)
    }
    assert.equal((await deploy(agent, 'gone')).status, 'live', 'and deploys once it is back')
    await answers(port, 'v2')
  })

  test('a wrong token against git http-backend with auth', T, async () => {
    const right = 'ghp_rightTokenForThisRepo0123456789abcdef'
    const wrong = 'ghp_wrongTokenForThisRepo0123456789abcdef'
    const repo = appRepo()
    const server = await startGitHttp(dirname(repo.remote), right)
    try {
      const port = await freePort()
      const url = server.url('remote.git')
      const add = (input?: string) =>
        toehold(
          agent.home,
          [
            'app',
            'add',
            'private',
            '--repo',
            url,
            '--port',
            String(port),
            '--json',
            ...(input ? ['--token-stdin'] : []),
          ],
          { input },
        )
      // `app add` checks the remote: the global token is not this repo's, the app's own is.
      const refusedAdd = await add()
      assert.equal(refusedAdd.code, 1)
      assert.match(refusedAdd.json.error, /^cannot reach http:\/\/127\.0\.0\.1:\d+\/remote\.git: /)
      assert.equal((await add(`${right}\n`)).code, 0)
      const first = await deploy(agent, 'private')
      assert.equal(first.status, 'live', first.reason ?? '')
      await answers(port, 'v1')

      await setEnv(agent, 'private', 'GIT_TOKEN', wrong)
      repo.commit({ 'version.txt': 'v2\n' }, 'v2')
      const refused = server.refused
      const failed = await deploy(agent, 'private')
      assert.equal(failed.status, 'failed')
      assert.equal(failed.stage, 'fetching')
      assert.match(
        failed.reason ?? '',
        /^authentication failed for http:\/\/127\.0\.0\.1:\d+\/remote\.git: check the token \(toehold env set private GIT_TOKEN …\)$/,
      )
      assert.ok(server.refused > refused, 'the server saw and refused the wrong token')
      assert.equal((await answer(port))?.version, 'v1')
      const api = [(await agent.api('GET', '/apps/private')).body, failed]
      assertNoLeak(agent, { GIT_TOKEN, right, wrong }, api)
    } finally {
      await server.close()
    }
  })

  test('an app that keeps crashing is marked crash_loop; the agent carries on', T, async () => {
    const { repo, port } = await liveApp('crashy', { env: { TOEHOLD_RESTART_BACKOFF: '20ms' } })
    repo.commit({ 'version.txt': 'v2\n', 'mode.txt': 'crash\n' }, 'v2 crashes after boot')
    const live = await deploy(agent, 'crashy')
    assert.equal(live.status, 'live', 'it passed its health check before crashing')
    const looped = await until(async () => {
      const status = (await agent.api('GET', '/apps/crashy')).body
      return status.state === 'crash_loop' && status
    }, 'the crash loop')
    assert.equal(looped.pid, null)
    const refused = await fetch(`http://127.0.0.1:${port}/`)
    assert.equal(refused.status, 503)
    assert.equal(refused.headers.get('retry-after'), '60')
    assert.match(
      (await refused.json()).error,
      /^crashy is not serving right now: it keeps crashing \(5 crashes within 60 s; last: exited with code 1\)/,
    )
    const metrics = (await agent.api('GET', '/metrics')).body as string
    assert.match(metrics, /toehold_app_restarts_total\{app="crashy"\} 4/)
    assert.match(metrics, /toehold_app_up\{app="crashy"\} 0/)

    const back = await agent.api('POST', '/apps/crashy/rollback')
    assert.equal(back.status, 202)
    await finished(agent, 'crashy', back.body.id)
    await answers(port, 'v1')
    assert.equal((await agent.api('GET', '/apps/crashy')).body.state, 'running')
  })
})

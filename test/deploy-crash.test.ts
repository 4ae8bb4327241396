// The agent dies and comes back: SIGKILL while a deployment installs, SIGKILL while it switches
// processes, and a graceful SIGTERM. Each time: no stray process, no half-switched release,
// exactly one copy of the app on its port, and the interrupted commit deployed in the end.
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { freePort, startAgent } from './helpers/agent.ts'
import {
  addApp,
  alive,
  answer,
  answers,
  appProcesses,
  appRepo,
  deploy,
  deployment,
  fifo,
  finished,
  logLine,
  open,
} from './helpers/deploy.ts'
import { tempDir } from './helpers/procs.ts'

const T = { timeout: 90_000 }

/** The deployment the recovering agent requested again. */
async function retried(agent: Awaited<ReturnType<typeof startAgent>>, after: number) {
  const [newest] = (await agent.api('GET', '/apps/app/deployments?limit=1')).body
  assert.equal(newest.id, after + 1)
  assert.equal(newest.trigger, 'recover')
  return newest.id as number
}

describe('agent restarts', { concurrency: true }, () => {
  test(
    'SIGKILL during installing: strays ended, last good release back, commit retried',
    T,
    async () => {
      const home = tempDir('toehold-home-')
      const gate = fifo('install', { home, app: 'app' })
      let agent = await startAgent({ home })
      const repo = appRepo()
      const port = await freePort()
      await addApp(agent, 'app', repo, {
        port,
        env: {
          INSTALL_GATE: gate,
          TOEHOLD_INSTALL_CMD:
            'echo waiting for the install gate; cat "$INSTALL_GATE" >/dev/null && bun install',
        },
      })
      const first = (await agent.api('POST', '/apps/app/deploy')).body
      await logLine(agent, 'app', first.id, 'waiting for the install gate')
      await open(gate)
      assert.equal((await finished(agent, 'app', first.id)).status, 'live')
      const v1 = await answers(port, 'v1')
      const running = appProcesses(home, 'app')

      const second = repo.commit({ 'version.txt': 'v2\n' }, 'v2')
      const interrupted = (await agent.api('POST', '/apps/app/deploy')).body
      await logLine(agent, 'app', interrupted.id, 'waiting for the install gate')
      const installing = appProcesses(home, 'app').filter((p) => p.release.startsWith('002-'))
      assert.ok(installing.length > 0, 'the install step runs')
      await agent.kill('SIGKILL')

      agent = await startAgent({ home })
      const failed = await deployment(agent, 'app', interrupted.id)
      assert.deepEqual(
        [failed.status, failed.stage, failed.reason],
        ['failed', 'installing', 'agent restarted during installing'],
      )
      for (const { pid } of [...running, ...installing])
        assert.equal(alive(pid), false, `${pid} ended`)
      const restored = await answers(port, 'v1')
      assert.notEqual(restored.pid, v1.pid)
      assert.equal(
        appProcesses(home, 'app').filter((p) => p.release.startsWith('001-')).length,
        running.length,
        'exactly one copy',
      )

      const again = await retried(agent, interrupted.id)
      await logLine(agent, 'app', again, 'waiting for the install gate')
      await open(gate)
      const live = await finished(agent, 'app', again)
      assert.equal(live.status, 'live', live.reason ?? '')
      assert.equal(live.commit, second)
      await answers(port, 'v2')
      const dirs = readdirSync(join(home, 'apps/app/releases')).map((name) => name.slice(0, 3))
      assert.deepEqual(dirs.sort(), ['001', '003'], 'the half-built 002 is gone')
      await agent.kill()
    },
  )

  test(
    'SIGKILL while the old release drains and stops: strays ended, one copy of the new one',
    T,
    async () => {
      const home = tempDir('toehold-home-')
      const gate = fifo('stop', { home, app: 'app' })
      let agent = await startAgent({ home })
      const repo = appRepo()
      const port = await freePort()
      // The app's SIGTERM handler waits at the gate: the old release never finishes stopping.
      await addApp(agent, 'app', repo, { port, env: { STOP_GATE: gate } })
      assert.equal((await deploy(agent, 'app')).status, 'live')
      const v1 = await answers(port, 'v1')
      const old = appProcesses(home, 'app')

      repo.commit({ 'version.txt': 'v2\n' }, 'v2')
      assert.equal((await deploy(agent, 'app')).status, 'live')
      const v2 = await answers(port, 'v2')
      // The app itself (a sandbox's bubblewrap may already be gone) waits at the gate.
      assert.ok(alive(v1.pid), 'the old release is still stopping')
      await agent.kill('SIGKILL')

      // A short grace: the stuck old process gets SIGKILL quickly.
      agent = await startAgent({ home, env: { TOEHOLD_GRACE: '300ms' } })
      for (const { pid } of old) assert.equal(alive(pid), false, `${pid} ended`)
      const back = await answers(port, 'v2')
      assert.notEqual(back.pid, v2.pid)
      const now = appProcesses(home, 'app')
      assert.equal(now.length, old.length, 'exactly one copy')
      assert.ok(now.every((p) => p.release.startsWith('002-')))
      await agent.kill()
    },
  )

  test("SIGTERM stops each app's whole process group; the next start restores", T, async () => {
    const home = tempDir('toehold-home-')
    let agent = await startAgent({ home })
    const port = await freePort()
    await addApp(agent, 'app', appRepo({ 'mode.txt': 'child\n' }), { port })
    assert.equal((await deploy(agent, 'app')).status, 'live')
    const idlePort = await freePort()
    await addApp(agent, 'idle', appRepo(), { port: idlePort })
    assert.equal((await deploy(agent, 'idle')).status, 'live')
    assert.equal((await agent.api('POST', '/apps/idle/stop')).status, 200)

    const before = await answers(port, 'v1')
    assert.ok(before.child && alive(before.child), 'the app has a child process')
    assert.deepEqual(await agent.kill('SIGTERM'), { code: 0, signal: null })
    assert.equal(alive(before.pid), false)
    assert.equal(alive(before.child), false, 'the child went with its group')
    assert.deepEqual(appProcesses(home, 'app'), [])
    assert.equal(await answer(port), null)

    agent = await startAgent({ home })
    const after = await answers(port, 'v1')
    assert.notEqual(after.pid, before.pid)
    assert.equal((await agent.api('GET', '/apps/app')).body.state, 'running')
    const idle = (await agent.api('GET', '/apps/idle')).body
    assert.deepEqual([idle.state, idle.desired], ['stopped', 'stopped'], 'stopped stays stopped')
    assert.equal(await answer(idlePort), null)
    await agent.kill()
  })
})

// What gets deployed without anyone asking: a signed push webhook through a real relay (whose
// commit must be on the branch), the pushes missed while the agent was down (convergence when
// the tunnel comes up), and apps that poll their branch instead of having a webhook.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Agent, connected, freePort, startAgent } from './helpers/agent.ts'
import { addApp, answers, appRepo, deploy, finished } from './helpers/deploy.ts'
import { type RelayProc, startRelay, tempDir } from './helpers/procs.ts'
import { until } from './helpers/wait.ts'
import { push } from './helpers/webhooks.ts'

const T = { timeout: 60_000 }

async function enableWebhook(agent: Agent, app: string) {
  const enabled = await agent.api('POST', `/apps/${app}/webhook/enable`, { provider: 'github' })
  assert.equal(enabled.status, 200, JSON.stringify(enabled.body))
  return enabled.body as { url: string; secret: string }
}

describe('deploys nobody asked for', { concurrency: true }, () => {
  let relay: RelayProc
  before(async () => {
    relay = await startRelay()
  })
  after(() => relay.kill())

  test(
    'a signed push through the relay deploys; a commit not on the branch is refused',
    T,
    async () => {
      const agent = await startAgent({ relay })
      await connected(agent)
      const repo = appRepo()
      const port = await freePort()
      await addApp(agent, 'app', repo, { port })
      const hook = await enableWebhook(agent, 'app')

      const accepted = await push(hook, repo.first)
      assert.equal(accepted.status, 202)
      const queued = accepted.body
      assert.deepEqual([queued.status, queued.commit], ['queued', repo.first])
      const live = await finished(agent, 'app', queued.deployment)
      assert.deepEqual([live.status, live.trigger, live.commit], ['live', 'webhook', repo.first])
      await answers(port, 'v1')

      // Pushed elsewhere, but claimed to be main's: the agent checks with the real remote.
      const stranger = repo.commit({ 'version.txt': 'v-elsewhere\n' }, 'not on main', 'feature')
      const refused = await finished(agent, 'app', (await push(hook, stranger)).body.deployment)
      assert.equal(refused.status, 'failed')
      assert.equal(refused.stage, 'fetching')
      assert.equal(
        refused.reason,
        `commit ${stranger.slice(0, 7)} is not on branch main of ${repo.remote}`,
      )
      await answers(port, 'v1')
      await agent.kill()
    },
  )

  test('pushes missed while the agent was down deploy when its tunnel comes up', T, async () => {
    const home = tempDir('toehold-home-')
    let agent = await startAgent({ home, relay })
    await connected(agent)
    const repo = appRepo()
    const port = await freePort()
    await addApp(agent, 'app', repo, { port })
    await enableWebhook(agent, 'app')
    assert.equal((await deploy(agent, 'app')).status, 'live')
    // Webhook on, never deployed: convergence must not make its first deployment.
    await addApp(agent, 'fresh', appRepo(), { port: await freePort() })
    await enableWebhook(agent, 'fresh')
    await agent.kill()

    const missed = repo.commit({ 'version.txt': 'v2\n' }, 'v2, pushed while the agent was down')
    agent = await startAgent({ home, relay })
    const converged = await until(async () => {
      const [newest] = (await agent.api('GET', '/apps/app/deployments?limit=1')).body
      return newest.trigger === 'converge' && newest
    }, 'the convergence deployment')
    const live = await finished(agent, 'app', converged.id)
    assert.deepEqual([live.status, live.commit], ['live', missed])
    await answers(port, 'v2')
    assert.deepEqual((await agent.api('GET', '/apps/fresh/deployments')).body, [])

    // Another reconnect with nothing new: nothing deploys.
    await agent.kill()
    agent = await startAgent({ home, relay })
    await agent.waitFor((line) => line.msg === 'converged', 'convergence')
    assert.equal((await agent.api('GET', '/apps/app/deployments?limit=1')).body[0].id, live.id)
    await agent.kill()
  })

  test('an app with --poll deploys its branch head on that interval', T, async () => {
    const agent = await startAgent()
    const repo = appRepo()
    const port = await freePort()
    await addApp(agent, 'app', repo, { port, pollMs: 10_000 })
    assert.equal((await deploy(agent, 'app')).status, 'live')
    const second = repo.commit({ 'version.txt': 'v2\n' }, 'v2')
    const polled = await until(
      async () => {
        const [newest] = (await agent.api('GET', '/apps/app/deployments?limit=1')).body
        return newest.trigger === 'poll' && newest
      },
      'the poll deployment',
      30_000,
    )
    const live = await finished(agent, 'app', polled.id)
    assert.deepEqual([live.status, live.commit], ['live', second])
    await answers(port, 'v2')
    await agent.kill()
  })
})

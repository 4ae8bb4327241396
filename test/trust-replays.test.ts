// What a hostile relay can do with deliveries it saw: replay them with fresh ids, relabel them
// with another provider's headers, smuggle non-sha commits, use a CI token as a signing key, and
// undo an operator's rollback. Real relay, real agent, real git, the fixture app really deployed.
import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { after, before, describe, type TestContext, test } from 'node:test'
import { Webhook } from 'standardwebhooks'
import { type Agent, connected, freePort, startAgent } from './helpers/agent.ts'
import { addApp, answers, appRepo, deploy, finished } from './helpers/deploy.ts'
import { send } from './helpers/http.ts'
import { type RelayProc, startRelay } from './helpers/procs.ts'
import { hubSignature } from './helpers/webhooks.ts'

const T = { timeout: 90_000 }

type Hook = { url: string; secret: string; triggerToken: string }

async function enableWebhook(agent: Agent, app: string, provider: string): Promise<Hook> {
  const enabled = await agent.api('POST', `/apps/${app}/webhook/enable`, { provider })
  assert.equal(enabled.status, 200, JSON.stringify(enabled.body))
  return enabled.body
}

async function post(url: string, body: string, headers: Record<string, string>) {
  const response = await send(url, { body: Buffer.from(body), headers })
  const text = response.body.toString('utf8')
  return { status: response.status, json: text ? JSON.parse(text) : null }
}

/** A GitHub push to main, as GitHub signs it; the same bytes can be sent again with any id. */
function githubPush(hook: Hook, sha: string, extra: Record<string, unknown> = {}) {
  const body = JSON.stringify({ ref: 'refs/heads/main', after: sha, ...extra })
  return (delivery = randomUUID()) =>
    post(hook.url, body, {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': delivery,
      'x-hub-signature-256': hubSignature(hook.secret, body),
    })
}

const statusOf = async (agent: Agent, app: string) =>
  (await agent.api('GET', '/status')).body.apps.find((a: { app: string }) => a.app === app)

/** An agent on the relay, ended with the test whatever its outcome. */
async function relayedAgent(t: TestContext): Promise<Agent> {
  const agent = await startAgent({ relay })
  t.after(() => agent.kill())
  await connected(agent)
  return agent
}

let relay: RelayProc
before(async () => {
  relay = await startRelay()
})
after(() => relay.kill())

describe('a rollback sticks', { concurrency: true }, () => {
  test(
    'a replayed push (fresh delivery id) and a re-push of the rolled-away commit deploy nothing; a new commit does',
    T,
    async (t) => {
      const agent = await relayedAgent(t)
      const repo = appRepo()
      const port = await freePort()
      await addApp(agent, 'app', repo, { port })
      const hook = await enableWebhook(agent, 'app', 'github')

      const a = await githubPush(hook, repo.first)()
      assert.equal(a.status, 202)
      assert.equal((await finished(agent, 'app', a.json.deployment)).status, 'live')
      const second = repo.commit({ 'version.txt': 'v2\n' }, 'v2')
      const pushB = githubPush(hook, second)
      const b = await pushB()
      assert.equal(b.status, 202)
      assert.equal((await finished(agent, 'app', b.json.deployment)).status, 'live')
      await answers(port, 'v2')

      const back = await agent.api('POST', '/apps/app/rollback')
      assert.equal(back.status, 202, JSON.stringify(back.body))
      assert.equal((await finished(agent, 'app', back.body.id)).status, 'live')
      await answers(port, 'v1')

      // The relay replays B's signed bytes under a new X-GitHub-Delivery.
      const replay = await pushB(randomUUID())
      assert.deepEqual(replay, { status: 200, json: { status: 'duplicate' } })

      // A push event for B with other bytes (a re-push, or any body GitHub signed that names B):
      // it is verified and queued, but the pin holds.
      const again = await githubPush(hook, second, { forced: false })()
      assert.equal(again.status, 202)
      const held = await finished(agent, 'app', again.json.deployment)
      assert.equal(held.status, 'unchanged')
      assert.match(held.reason ?? '', /^pinned by the rollback to /)
      assert.deepEqual((await answers(port, 'v1')).version, 'v1')
      const status = await statusOf(agent, 'app')
      assert.equal(status.commit, repo.first)
      assert.equal(status.pin.commit, second, 'status shows the pin')
      assert.equal(status.pin.release, back.body.release)

      // A new commit on the branch lifts the pin.
      const third = repo.commit({ 'version.txt': 'v3\n' }, 'v3')
      const c = await githubPush(hook, third)()
      assert.equal(c.status, 202)
      assert.equal((await finished(agent, 'app', c.json.deployment)).status, 'live')
      await answers(port, 'v3')
      assert.equal((await statusOf(agent, 'app')).pin, null)

      // Rolled back again, a manual deploy lifts the pin too.
      const back2 = await agent.api('POST', '/apps/app/rollback')
      assert.equal((await finished(agent, 'app', back2.body.id)).status, 'live')
      assert.equal((await statusOf(agent, 'app')).pin.commit, third)
      const manual = await deploy(agent, 'app')
      assert.deepEqual([manual.status, manual.commit], ['live', third])
      assert.equal((await statusOf(agent, 'app')).pin, null)
    },
  )

  test('a CI trigger after a rollback leaves the rolled-back release live', T, async (t) => {
    const agent = await relayedAgent(t)
    const repo = appRepo()
    const port = await freePort()
    await addApp(agent, 'app', repo, { port })
    const hook = await enableWebhook(agent, 'app', 'github')
    assert.equal((await deploy(agent, 'app')).status, 'live')
    const second = repo.commit({ 'version.txt': 'v2\n' }, 'v2')
    assert.equal((await deploy(agent, 'app')).status, 'live')
    const back = await agent.api('POST', '/apps/app/rollback')
    assert.equal((await finished(agent, 'app', back.body.id)).status, 'live')

    const trigger = await post(hook.url, '', { authorization: `Bearer ${hook.triggerToken}` })
    assert.equal(trigger.status, 202)
    const held = await finished(agent, 'app', trigger.json.deployment)
    assert.deepEqual([held.status, held.commit], ['unchanged', second])
    await answers(port, 'v1')
  })
})

describe('replays and relabelled deliveries', () => {
  let agent: Agent
  before(async () => {
    agent = await startAgent({ relay })
    await connected(agent)
  })
  after(() => agent.kill())

  const register = async (name: string, provider: string) => {
    const repo = appRepo()
    await addApp(agent, name, repo)
    return { repo, hook: await enableWebhook(agent, name, provider) }
  }

  test('a signed Standard Webhooks message is accepted once, whatever unsigned ids it carries', async () => {
    const { repo, hook } = await register('std', 'standard')
    const body = JSON.stringify({ event: 'push', ref: 'refs/heads/main', commit: repo.first })
    const id = `msg_${randomBytes(8).toString('hex')}`
    const at = new Date()
    const signed = {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(hook.secret).sign(id, at, body),
    }
    assert.equal((await post(hook.url, body, signed)).status, 202)
    const extras: Record<string, string>[] = [
      {},
      { 'x-github-delivery': randomUUID() },
      { 'idempotency-key': randomUUID() },
      { 'x-request-uuid': randomUUID() },
    ]
    for (const extra of extras) {
      const again = await post(hook.url, body, { ...signed, ...extra })
      assert.deepEqual(again, { status: 200, json: { status: 'duplicate' } }, JSON.stringify(extra))
    }
  })

  test('a Bitbucket push is acted on once, whatever id header the relay puts on it', async () => {
    const { hook } = await register('bb', 'bitbucket')
    const body = readFileSync(
      new URL('fixtures/webhooks/bitbucket-push.json', import.meta.url),
      'utf8',
    ).replaceAll('"master"', '"main"')
    const headers = (extra: Record<string, string>) => ({
      'content-type': 'application/json',
      'x-event-key': 'repo:push',
      'x-hub-signature': hubSignature(hook.secret, body),
      ...extra,
    })
    assert.equal(
      (await post(hook.url, body, headers({ 'x-request-uuid': randomUUID() }))).status,
      202,
    )
    const extras: Record<string, string>[] = [
      { 'x-request-uuid': randomUUID() },
      { 'x-github-delivery': randomUUID() },
    ]
    for (const extra of extras) {
      const again = await post(hook.url, body, headers(extra))
      assert.deepEqual(again.json, { status: 'duplicate' }, JSON.stringify(extra))
    }
  })

  test("the parser is the app's provider's: a Bitbucket body on a GitLab app is refused", async () => {
    const { hook } = await register('gl', 'gitlab')
    const body = readFileSync(
      new URL('fixtures/webhooks/bitbucket-push.json', import.meta.url),
      'utf8',
    ).replaceAll('"master"', '"main"')
    const res = await post(hook.url, body, {
      'content-type': 'application/json',
      'x-event-key': 'repo:push',
      'x-gitlab-token': hook.secret,
      'x-request-uuid': randomUUID(),
    })
    assert.deepEqual(res, { status: 400, json: { error: 'invalid payload' } })
  })

  test('a commit id that is not a full hex sha is refused before it reaches git or a row', async () => {
    const evil = '--not-a-sha"<b>x</b>'
    const bitbucket = await register('bb2', 'bitbucket')
    const fixture = JSON.parse(
      readFileSync(new URL('fixtures/webhooks/bitbucket-push.json', import.meta.url), 'utf8'),
    )
    fixture.push.changes[0].new.name = 'main'
    fixture.push.changes[0].new.target.hash = evil
    const bbBody = JSON.stringify(fixture)
    const bb = await post(bitbucket.hook.url, bbBody, {
      'content-type': 'application/json',
      'x-event-key': 'repo:push',
      'x-request-uuid': randomUUID(),
      'x-hub-signature': hubSignature(bitbucket.hook.secret, bbBody),
    })
    assert.deepEqual(bb, { status: 400, json: { error: 'invalid payload' } })

    const github = await register('gh', 'github')
    for (const after of [evil, 'abc1234', `${'a'.repeat(40)}\n`]) {
      const res = await githubPush(github.hook, after)()
      assert.deepEqual(res, { status: 400, json: { error: 'invalid payload' } }, after)
    }
    const trigger = await post(github.hook.url, JSON.stringify({ commit: evil }), {
      authorization: `Bearer ${github.hook.triggerToken}`,
      'content-type': 'application/json',
    })
    assert.deepEqual(trigger, { status: 400, json: { error: 'invalid payload' } })
    for (const app of ['bb2', 'gh']) {
      const rows = (await agent.api('GET', `/apps/${app}/deployments`)).body
      assert.deepEqual(rows, [], `${app}: no deployment row`)
    }
  })

  test('the signing secret is not a bearer token; the trigger token is, and it signs nothing', async () => {
    const { hook } = await register('ci', 'github')
    assert.notEqual(hook.triggerToken, hook.secret)
    const bySecret = await post(hook.url, '', { authorization: `Bearer ${hook.secret}` })
    assert.equal(bySecret.status, 401)
    const byToken = await post(hook.url, '', { authorization: `Bearer ${hook.triggerToken}` })
    assert.equal(byToken.status, 202)
    const body = JSON.stringify({ ref: 'refs/heads/main', after: 'b'.repeat(40) })
    const signedWithToken = await post(hook.url, body, {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': hubSignature(hook.triggerToken, body),
    })
    assert.equal(signedWithToken.status, 401)
    const rotated = await agent.api('POST', '/apps/ci/webhook/rotate')
    assert.notEqual(rotated.body.triggerToken, hook.triggerToken)
    const old = await post(hook.url, '', { authorization: `Bearer ${hook.triggerToken}` })
    assert.equal(old.status, 401)
  })
})

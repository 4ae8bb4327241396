// GitLab, Bitbucket, rev.host and Standard Webhooks senders through a real relay and agent,
// signed with the senders' own code (`standardwebhooks`) or their documented HMAC, over their
// documented payloads; and the agent's de-duplication of the relay's redeliveries.
import assert from 'node:assert/strict'
import { createHmac, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { Webhook } from 'standardwebhooks'
import type { Delivery } from '../shared/protocol.ts'
import { connected, startAgent } from './helpers/agent.ts'
import { toehold } from './helpers/cli.ts'
import { startFakeRelay } from './helpers/fake-relay.ts'
import { type Stack, startStack } from './helpers/stack.ts'

const fixture = (name: string) =>
  readFileSync(new URL(`fixtures/webhooks/${name}.json`, import.meta.url), 'utf8')
/** The same push with other bytes: the agent remembers a body it saw, whatever its id. */
const another = (body: string) =>
  JSON.stringify({ ...JSON.parse(body), test_nonce: crypto.randomUUID() })
const whsec = () => `whsec_${randomBytes(32).toString('base64')}`

let stack: Stack
before(async () => {
  stack = await startStack({ branch: 'master' })
})
after(() => stack?.stop())

function standardHeaders(secret: string, body: string, options: { id?: string; at?: Date } = {}) {
  const id = options.id ?? `msg_${randomBytes(8).toString('hex')}`
  const at = options.at ?? new Date()
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body),
  }
}

describe('GitLab', () => {
  const push = fixture('gitlab-push')
  const tag = fixture('gitlab-tag-push')
  let legacy: { url: string; secret: string }
  const gitlab = (event: string, body: string, extra: Record<string, string> = {}) =>
    stack.post(legacy.url, body, {
      'content-type': 'application/json',
      'x-gitlab-event': event,
      'x-gitlab-token': legacy.secret,
      'x-gitlab-webhook-uuid': crypto.randomUUID(),
      'x-gitlab-event-uuid': crypto.randomUUID(),
      ...extra,
    })

  before(async () => {
    legacy = await stack.addApp('gl', 'gitlab')
  })

  it('warns at enable that the plain token travels through the relay', async () => {
    const rotated = await toehold(stack.agent.home, ['webhook', 'enable', 'gl', '--json'])
    assert.equal(rotated.json.secret, legacy.secret)
    assert.match(rotated.json.notes.join(' '), /X-Gitlab-Token travels through the relay in clear/)
    const human = await toehold(stack.agent.home, ['webhook', 'enable', 'gl'])
    assert.match(human.stdout, /note: GitLab's plain X-Gitlab-Token travels through the relay/)
  })

  it('deploys a Push Hook with the legacy X-Gitlab-Token', async () => {
    const res = await gitlab('Push Hook', push)
    assert.equal(res.status, 202)
    assert.deepEqual(
      { ...(res.json as object), deployment: 0 },
      {
        status: 'queued',
        deployment: 0,
        commit: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
      },
    )
  })

  it('refuses a wrong or missing token', async () => {
    assert.equal(
      (await gitlab('Push Hook', push, { 'x-gitlab-token': `${legacy.secret}x` })).status,
      401,
    )
    const missing = await stack.post(legacy.url, push, {
      'content-type': 'application/json',
      'x-gitlab-event': 'Push Hook',
    })
    assert.equal(missing.status, 401)
    assert.equal(missing.text, '')
  })

  it('ignores tag pushes and other events', async () => {
    const tagged = await gitlab('Tag Push Hook', tag)
    assert.deepEqual(tagged.json, {
      status: 'ignored',
      reason: 'tag v1.0.0: only pushes to master deploy',
    })
    const mr = await gitlab('Merge Request Hook', JSON.stringify({ object_kind: 'merge_request' }))
    assert.deepEqual(mr.json, {
      status: 'ignored',
      reason: 'event "Merge Request Hook" does not deploy',
    })
  })

  it('de-duplicates by Idempotency-Key, else X-Gitlab-Webhook-UUID, never by X-Gitlab-Event-UUID', async () => {
    const key = crypto.randomUUID()
    assert.equal((await gitlab('Push Hook', another(push), { 'idempotency-key': key })).status, 202)
    assert.deepEqual((await gitlab('Push Hook', another(push), { 'idempotency-key': key })).json, {
      status: 'duplicate',
    })

    const uuid = crypto.randomUUID()
    assert.equal(
      (await gitlab('Push Hook', another(push), { 'x-gitlab-webhook-uuid': uuid })).status,
      202,
    )
    assert.deepEqual(
      (await gitlab('Push Hook', another(push), { 'x-gitlab-webhook-uuid': uuid })).json,
      {
        status: 'duplicate',
      },
    )

    // The event UUID is shared by every webhook a single event triggers (a recursion marker).
    const event = crypto.randomUUID()
    assert.equal(
      (await gitlab('Push Hook', another(push), { 'x-gitlab-event-uuid': event })).status,
      202,
    )
    assert.equal(
      (await gitlab('Push Hook', another(push), { 'x-gitlab-event-uuid': event })).status,
      202,
    )
  })

  it("verifies GitLab's Standard Webhooks signing token given with --secret-stdin", async () => {
    const secret = whsec()
    const signed = await stack.addApp('gl-signed', 'gitlab', { secret })
    assert.equal(signed.secret, secret)
    const ok = await stack.post(signed.url, push, {
      ...standardHeaders(secret, push),
      'x-gitlab-event': 'Push Hook',
    })
    assert.equal(ok.status, 202)
    const forged = await stack.post(signed.url, push, {
      ...standardHeaders(whsec(), push),
      'x-gitlab-event': 'Push Hook',
    })
    assert.equal(forged.status, 401)
  })
})

describe('Bitbucket Cloud', () => {
  const push = fixture('bitbucket-push')
  let hook: { url: string; secret: string }
  const bitbucket = (body: string, extra: Record<string, string> = {}) =>
    stack.post(hook.url, body, {
      'content-type': 'application/json',
      'x-event-key': 'repo:push',
      'x-request-uuid': crypto.randomUUID(),
      'x-hub-signature': `sha256=${createHmac('sha256', hook.secret).update(body).digest('hex')}`,
      ...extra,
    })
  before(async () => {
    hook = await stack.addApp('bb', 'bitbucket')
  })

  it('deploys a repo:push to the tracked branch', async () => {
    const res = await bitbucket(push)
    assert.equal(res.status, 202)
    assert.equal(
      (res.json as { commit: string }).commit,
      '709d658dc5b6d6afcd46049c2f332ee3f515a67d',
    )
  })

  it('de-duplicates by X-Request-UUID', async () => {
    const id = crypto.randomUUID()
    assert.equal((await bitbucket(another(push), { 'x-request-uuid': id })).status, 202)
    assert.deepEqual((await bitbucket(another(push), { 'x-request-uuid': id })).json, {
      status: 'duplicate',
    })
  })

  it('ignores other branches, deletions and tags', async () => {
    const payload = JSON.parse(push)
    const change = payload.push.changes[0]
    const other = JSON.stringify({
      push: { changes: [{ ...change, new: { ...change.new, name: 'dev' } }] },
    })
    assert.deepEqual((await bitbucket(other)).json, {
      status: 'ignored',
      reason: 'push to dev; bb tracks master',
    })
    const deleted = JSON.stringify({ push: { changes: [{ ...change, new: null }] } })
    assert.deepEqual((await bitbucket(deleted)).json, {
      status: 'ignored',
      reason: 'branch master was deleted',
    })
    const tag = JSON.stringify({
      push: { changes: [{ ...change, new: { ...change.new, type: 'tag', name: 'v2' } }] },
    })
    assert.equal(((await bitbucket(tag)).json as { status: string }).status, 'ignored')
  })

  it('refuses a signature made with another secret', async () => {
    const bad = `sha256=${createHmac('sha256', 'not-the-secret').update(push).digest('hex')}`
    assert.equal((await bitbucket(push, { 'x-hub-signature': bad })).status, 401)
  })
})

describe('rev.host and Standard Webhooks', () => {
  const save = fixture('rev-save')
  let rev: { url: string; secret: string }
  before(async () => {
    rev = await stack.addApp('revapp', 'rev')
  })

  it('deploys save and merge events', async () => {
    const res = await stack.post(rev.url, save, standardHeaders(rev.secret, save))
    assert.equal(res.status, 202)
    assert.equal(
      (res.json as { commit: string }).commit,
      '3f786850e387550fdab836ed7e6dc881de23001b',
    )
    const merge = JSON.stringify({ ...JSON.parse(save), event: 'merge' })
    assert.equal((await stack.post(rev.url, merge, standardHeaders(rev.secret, merge))).status, 202)
  })

  it('refuses timestamps more than 5 minutes off, either way', async () => {
    for (const offset of [-10 * 60_000, 10 * 60_000]) {
      const res = await stack.post(
        rev.url,
        save,
        standardHeaders(rev.secret, save, { at: new Date(Date.now() + offset) }),
      )
      assert.equal(res.status, 401, String(offset))
      assert.equal(res.text, '')
    }
  })

  it('accepts any one valid signature among several (secret rotation)', async () => {
    const headers = standardHeaders(rev.secret, save)
    const stale = new Webhook(whsec()).sign(headers['webhook-id'], new Date(), save)
    const res = await stack.post(rev.url, save, {
      ...headers,
      'webhook-signature': `${stale} ${headers['webhook-signature']}`,
    })
    assert.equal(res.status, 202)
    const onlyStale = await stack.post(rev.url, save, {
      ...standardHeaders(rev.secret, save),
      'webhook-signature': stale,
    })
    assert.equal(onlyStale.status, 401)
    const garbage = await stack.post(rev.url, save, {
      ...standardHeaders(rev.secret, save),
      'webhook-signature': 'v1,@@@ v2,xyz ,,,',
    })
    assert.equal(garbage.status, 401)
  })

  it('de-duplicates by webhook-id', async () => {
    const headers = standardHeaders(rev.secret, save)
    assert.equal((await stack.post(rev.url, save, headers)).status, 202)
    assert.deepEqual((await stack.post(rev.url, save, headers)).json, { status: 'duplicate' })
  })

  it('takes a GitHub-like payload from any Standard Webhooks sender', async () => {
    const standard = await stack.addApp('std', 'standard')
    assert.match(standard.secret, /^whsec_/)
    const body = JSON.stringify({ ref: 'refs/heads/master', after: 'a'.repeat(40) })
    const res = await stack.post(standard.url, body, standardHeaders(standard.secret, body))
    assert.equal(res.status, 202)
    assert.equal((res.json as { commit: string }).commit, 'a'.repeat(40))
  })
})

describe("the relay's redeliveries", () => {
  it('never start a second deployment, sealed or not', async () => {
    const relay = await startFakeRelay()
    const agent = await startAgent({ relay, registrationToken: null })
    try {
      await agent.waitFor((line) => line.msg === 'local API listening')
      const first = relay.nextConnection()
      const { socket, sealingJwk } = await first
      const secret = 'ci-trigger-secret-0123456789abcdef'
      await toehold(agent.home, [
        'app',
        'add',
        'ci',
        '--repo',
        stack.repo.remote,
        '--branch',
        'master',
      ])
      const enabled = await toehold(
        agent.home,
        ['webhook', 'enable', 'ci', '--provider', 'standard', '--secret-stdin', '--json'],
        { input: secret },
      )
      const token = enabled.json.triggerToken as string

      // A CI trigger carries no provider delivery id: only the relay's id can de-duplicate it.
      const delivery: Delivery = {
        t: 'delivery',
        id: 'dlv_redelivered',
        app: 'ci',
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        query: '',
        receivedAt: Date.now(),
        remote: '127.0.0.1',
      }
      const once = await relay.deliver(socket, delivery, Buffer.alloc(0))
      assert.equal(once.result.status, 202)
      const { deployment } = JSON.parse(once.body.toString())

      // The tunnel drops before the relay saw the result; on the next tunnel it redelivers.
      const second = relay.nextConnection()
      socket.close(1012, 'restart')
      const again = await relay.deliverSealed(
        (await second).socket,
        delivery,
        Buffer.alloc(0),
        sealingJwk,
      )
      assert.equal(again.result.status, 200)
      assert.deepEqual(JSON.parse(again.body.toString()), { status: 'duplicate' })

      const status = await toehold(agent.home, ['webhook', 'status', 'ci', '--json'])
      const queued = status.json.deliveries.filter((d: { result: string }) => d.result === 'queued')
      assert.deepEqual(
        queued.map((d: { deployment: number }) => d.deployment),
        [deployment],
      )
    } finally {
      await agent.kill()
      await relay.close()
    }
  })

  it('catch a copy sent in the same burst, before the first one is written down', async () => {
    const relay = await startFakeRelay()
    const agent = await startAgent({ relay, registrationToken: null })
    try {
      const { socket } = await relay.nextConnection()
      await agent.waitFor((line) => line.msg === 'local API listening')
      const secret = 'burst-secret-0123456789abcdef'
      await toehold(agent.home, ['app', 'add', 'burst', '--repo', stack.repo.remote])
      await toehold(
        agent.home,
        ['webhook', 'enable', 'burst', '--provider', 'github', '--secret-stdin'],
        { input: secret },
      )
      // A push to a branch the app does not track: answered "ignored", so written after the answer.
      const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/feature', after: 'b'.repeat(40) }))
      const copy = (id: string): Delivery => ({
        t: 'delivery',
        id,
        app: 'burst',
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-github-delivery': 'same-github-delivery',
          'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
        },
        query: '',
        receivedAt: Date.now(),
        remote: '127.0.0.1',
      })
      const answers = await relay.deliverTogether(
        socket,
        ['dlv_burst_1', 'dlv_burst_2'].map((id) => ({ delivery: copy(id), body })),
      )
      const statuses = answers.map((a) => JSON.parse(a.body.toString()).status).sort()
      assert.deepEqual(statuses, ['duplicate', 'ignored'])

      const status = await toehold(agent.home, ['webhook', 'status', 'burst', '--json'])
      assert.deepEqual(status.json.deliveries.map((d: { result: string }) => d.result).sort(), [
        'duplicate',
        'ignored',
      ])
    } finally {
      await agent.kill()
      await relay.close()
    }
  })

  it('answers an undecryptable sealed delivery (so it leaves the queue) and keeps the tunnel', async () => {
    const relay = await startFakeRelay()
    const agent = await startAgent({ relay, registrationToken: null })
    try {
      const { socket } = await relay.nextConnection()
      await connected(agent)
      const { encodeFrame } = await import('../shared/frame.ts')
      const garbage = encodeFrame(
        { t: 'sealed', id: 'dlv_garbage', receivedAt: Date.now() },
        Buffer.from('not.a.jwe.at.all'),
      )
      const answer = await relay.sendRaw(socket, garbage, 'dlv_garbage')
      assert.equal(answer.result.status, 400)
      const delivery: Delivery = {
        t: 'delivery',
        id: 'dlv_after',
        app: 'nope',
        method: 'POST',
        headers: {},
        query: '',
        receivedAt: Date.now(),
        remote: '127.0.0.1',
      }
      const next = await relay.deliver(socket, delivery, Buffer.from('{}'))
      assert.equal(next.result.status, 404)
    } finally {
      await agent.kill()
      await relay.close()
    }
  })
})

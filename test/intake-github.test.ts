// Webhook intake through a real relay and agent, signed by GitHub's own library
// (@octokit/webhooks-methods) over GitHub's own example payloads (@octokit/webhooks-examples).
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import examples from '@octokit/webhooks-examples/api.github.com/index.json' with { type: 'json' }
import { sign } from '@octokit/webhooks-methods'
import { connected, startAgent } from './helpers/agent.ts'
import { toehold } from './helpers/cli.ts'
import { createRepo } from './helpers/git-repo.ts'
import { type Stack, startStack } from './helpers/stack.ts'

type Example = { name: string; examples: Record<string, unknown>[] }
const example = (event: string, match: (payload: Record<string, unknown>) => boolean) => {
  const found = (examples as unknown as Example[])
    .find((e) => e.name === event)
    ?.examples.find(match)
  assert.ok(found, `no ${event} example`)
  return found
}
const pushToMaster = example('push', (p) => p.ref === 'refs/heads/master' && p.deleted === false)
const tagPush = example('push', (p) => p.ref === 'refs/tags/simple-tag' && p.deleted === false)
const ping = example('ping', () => true)
const issues = example('issues', () => true)

/** Another push's bytes (the agent remembers a body it saw, whatever its delivery id). */
const unique = (payload: Record<string, unknown>) => ({
  ...payload,
  compare: `${payload.compare}#${crypto.randomUUID()}`,
})

let stack: Stack
let hook: { url: string; secret: string }

async function github(
  event: string,
  payload: unknown,
  options: { delivery?: string; secret?: string; url?: string; form?: boolean } = {},
) {
  const json = JSON.stringify(payload)
  const body = options.form ? `payload=${encodeURIComponent(json)}` : json
  return stack.post(options.url ?? hook.url, body, {
    'Content-Type': options.form ? 'application/x-www-form-urlencoded' : 'application/json',
    'X-GitHub-Event': event,
    'X-GitHub-Delivery': options.delivery ?? crypto.randomUUID(),
    'X-Hub-Signature-256': await sign(options.secret ?? hook.secret, body),
    'User-Agent': 'GitHub-Hookshot/test',
  })
}

before(async () => {
  stack = await startStack()
  hook = await stack.addApp('site', 'github')
})
after(() => stack?.stop())

describe('GitHub deliveries', () => {
  it('answers a ping', async () => {
    const res = await github('ping', ping)
    assert.equal(res.status, 200)
    assert.deepEqual(res.json, { status: 'ping' })
  })

  it('queues a deployment for a push to the tracked branch', async () => {
    const res = await github('push', pushToMaster)
    assert.equal(res.status, 202)
    const body = res.json as { status: string; deployment: number; commit: string }
    assert.equal(body.status, 'queued')
    assert.equal(body.commit, pushToMaster.after)
    assert.ok(Number.isInteger(body.deployment) && body.deployment >= 1)
  })

  it('reads the form-encoded content type', async () => {
    const res = await github('push', pushToMaster, { form: true })
    assert.equal(res.status, 202)
    assert.equal((res.json as { commit: string }).commit, pushToMaster.after)
  })

  it('ignores other branches, tags, deletions and other events, saying why', async () => {
    const other = await github('push', { ...pushToMaster, ref: 'refs/heads/feature' })
    assert.equal(other.status, 200)
    assert.deepEqual(other.json, {
      status: 'ignored',
      reason: 'push to feature; site tracks master',
    })

    const tag = await github('push', tagPush)
    assert.equal(tag.status, 200)
    assert.equal((tag.json as { status: string }).status, 'ignored')
    assert.match((tag.json as { reason: string }).reason, /tag simple-tag/)

    const deletion = await github('push', { ...pushToMaster, deleted: true, after: '0'.repeat(40) })
    assert.deepEqual(deletion.json, { status: 'ignored', reason: 'branch master was deleted' })

    const event = await github('issues', issues)
    assert.equal(event.status, 200)
    assert.deepEqual(event.json, { status: 'ignored', reason: 'event "issues" does not deploy' })
  })

  it('acts once per X-GitHub-Delivery, also on a manual redelivery', async () => {
    const delivery = crypto.randomUUID()
    const push = unique(pushToMaster)
    const first = await github('push', push, { delivery })
    assert.equal(first.status, 202)
    const again = await github('push', push, { delivery })
    assert.equal(again.status, 200)
    assert.deepEqual(again.json, { status: 'duplicate' })
    const deployments = await toehold(stack.agent.home, ['webhook', 'status', 'site', '--json'])
    const results = (deployments.json.deliveries as { deliveryId: string; result: string }[])
      .filter((d) => d.deliveryId === delivery)
      .map((d) => d.result)
    assert.deepEqual(results, ['duplicate', 'queued'])
  })
})

describe('bad input', () => {
  const body = JSON.stringify(pushToMaster)
  const headers = (signature: string) => ({
    'content-type': 'application/json',
    'x-github-event': 'push',
    'x-github-delivery': crypto.randomUUID(),
    'x-hub-signature-256': signature,
  })

  it('refuses a missing, malformed or wrong signature with 401 and an empty body', async () => {
    const good = await sign(hook.secret, body)
    const cases: [string, Record<string, string>][] = [
      ['missing', { 'content-type': 'application/json', 'x-github-event': 'push' }],
      ['too short', headers(good.slice(0, -2))],
      ['too long', headers(`${good}00`)],
      ['not hex', headers(`sha256=${'z'.repeat(64)}`)],
      ['no prefix', headers(good.slice(7))],
      ['sha1', headers(`sha1=${'a'.repeat(40)}`)],
      ['another secret', headers(await sign('a-different-secret-entirely', body))],
    ]
    for (const [what, h] of cases) {
      const res = await stack.post(hook.url, body, h)
      assert.equal(res.status, 401, what)
      assert.equal(res.text, '', what)
    }
  })

  it('refuses a body one byte off the signed one', async () => {
    const signature = await sign(hook.secret, body)
    const changed = Buffer.from(body)
    changed[10] = (changed[10] ?? 0) ^ 1
    const res = await stack.post(hook.url, changed, headers(signature))
    assert.equal(res.status, 401)
    assert.equal(res.text, '')
  })

  it("refuses another app's secret", async () => {
    const other = await stack.addApp('other', 'github')
    const res = await github('push', pushToMaster, { secret: other.secret })
    assert.equal(res.status, 401)
    const own = await github('ping', ping, { url: other.url, secret: other.secret })
    assert.equal(own.status, 200)
  })

  it('takes header names in any letter case', async () => {
    const fresh = JSON.stringify(unique(pushToMaster))
    const signature = await sign(hook.secret, fresh)
    const res = await stack.post(hook.url, fresh, {
      'CONTENT-TYPE': 'application/json',
      'x-GitHub-EVENT': 'push',
      'X-GITHUB-DELIVERY': crypto.randomUUID(),
      'x-HUB-signature-256': signature.toUpperCase().replace('SHA256=', 'sha256='),
    })
    assert.equal(res.status, 202)
  })

  it('answers 400 for a validly signed payload that is not JSON', async () => {
    for (const bad of [body.slice(0, 40), 'not json at all', '[1,2,3]', 'payload=%7B']) {
      const res = await stack.post(hook.url, bad, headers(await sign(hook.secret, bad)))
      assert.equal(res.status, 400, bad)
      assert.deepEqual(res.json, { error: 'invalid payload' })
    }
  })

  it('refuses bad app names at `app add` and at the URL', async () => {
    for (const name of ['a/b', '..', 'a..b', 'bad\u0007name', 'Upper', '_lead', 'x'.repeat(64)]) {
      const res = await toehold(stack.agent.home, [
        'app',
        'add',
        name,
        '--repo',
        stack.repo.remote,
        '--json',
      ])
      assert.equal(res.code, 1, name)
      assert.match(res.json.error, /app names are/, name)
    }
    const base = hook.url.slice(0, hook.url.lastIndexOf('/'))
    for (const path of ['..', '%2e%2e', 'a%2Fb', 'bad%07name', 'x'.repeat(80)]) {
      const res = await stack.post(`${base}/${path}`, body, headers(await sign(hook.secret, body)))
      assert.equal(res.status, 404, path)
    }
  })

  it('answers 404 for an unknown app and for a disabled webhook', async () => {
    const base = hook.url.slice(0, hook.url.lastIndexOf('/'))
    const unknown = await github('ping', ping, { url: `${base}/nosuchapp` })
    assert.equal(unknown.status, 404)
    assert.deepEqual(unknown.json, { error: 'unknown app' })

    const off = await stack.addApp('paused', 'github')
    assert.equal(
      (await toehold(stack.agent.home, ['webhook', 'disable', 'paused', '--json'])).code,
      0,
    )
    const disabled = await github('ping', ping, { url: off.url, secret: off.secret })
    assert.equal(disabled.status, 404)
    assert.deepEqual(disabled.json, { error: 'unknown app' })
  })
})

describe('manual trigger from a CI', () => {
  it('deploys on Authorization: Bearer <trigger token>, and refuses a wrong one', async () => {
    const issued = await toehold(stack.agent.home, ['webhook', 'enable', 'site', '--json'])
    const token = issued.json.triggerToken as string
    assert.match(token, /^tht_[0-9a-f]{64}$/)
    const ok = await stack.post(hook.url, '', { authorization: `Bearer ${token}` })
    assert.equal(ok.status, 202)
    assert.equal((ok.json as { status: string }).status, 'queued')
    const wrong = await stack.post(hook.url, '', { authorization: `Bearer ${token}x` })
    assert.equal(wrong.status, 401)
    assert.equal(wrong.text, '')
  })
})

describe('webhook management', () => {
  it('shows status without the secret, and rotates the secret', async () => {
    const status = await toehold(stack.agent.home, ['webhook', 'status', 'site', '--json'])
    assert.equal(status.code, 0)
    assert.equal(status.json.url, hook.url)
    assert.equal(status.json.provider, 'github')
    assert.equal(status.json.enabled, true)
    assert.ok(status.json.lastDelivery.at)
    assert.ok(!status.stdout.includes(hook.secret))

    await stack.addApp('rotating', 'github')
    const rotated = await toehold(stack.agent.home, [
      'webhook',
      'rotate',
      'rotating',
      '--provider',
      'rev',
      '--json',
    ])
    assert.equal(rotated.code, 0)
    assert.equal(rotated.json.provider, 'rev')
    assert.match(rotated.json.secret, /^whsec_[A-Za-z0-9+/]{43}=$/)
    assert.equal(Buffer.from(rotated.json.secret.slice(6), 'base64').length, 32)
  })

  it('makes 32-byte base64url secrets for signature providers', async () => {
    assert.match(hook.secret, /^[A-Za-z0-9_-]{43}$/)
    assert.equal(Buffer.from(hook.secret, 'base64url').length, 32)
  })

  it('defaults NAME to the app whose repo is the current directory, else lists the apps', async () => {
    const repo = createRepo('master')
    repo.commit({ 'README.md': 'own repo' }, 'initial', 'master')
    await toehold(stack.agent.home, [
      'app',
      'add',
      'own',
      '--repo',
      repo.remote,
      '--branch',
      'master',
    ])
    const here = await toehold(stack.agent.home, ['webhook', 'status', '--json'], {
      cwd: repo.work,
    })
    assert.equal(here.code, 0, here.stderr)
    assert.equal(here.json.app, 'own')
    const shared = await toehold(stack.agent.home, ['webhook', 'status', '--json'], {
      cwd: stack.repo.work,
    })
    assert.equal(shared.code, 1)
    assert.match(shared.stderr, /several apps deploy this repository \(.*site.*\): name one/)
    const elsewhere = await toehold(stack.agent.home, ['webhook', 'status', '--json'], { cwd: '/' })
    assert.equal(elsewhere.code, 1)
    assert.match(elsewhere.stderr, /name an app .*apps: .*site/)
  })

  it('never writes the secret to a log line or a file other than the state', async () => {
    const logs = stack.agent.lines.map((line) => JSON.stringify(line)).join('\n')
    assert.ok(!logs.includes(hook.secret))
    const files = readdirSync(stack.agent.home, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && !entry.name.startsWith('state.db'))
      .map((entry) => join(entry.parentPath, entry.name))
    for (const file of files) assert.ok(!readFileSync(file).includes(hook.secret), file)
  })
})

describe('persistence', () => {
  it('remembers delivery ids across an agent restart', async () => {
    const delivery = crypto.randomUUID()
    const push = unique(pushToMaster)
    assert.equal((await github('push', push, { delivery })).status, 202)
    await stack.agent.kill('SIGTERM')
    const agent = await startAgent({ relay: stack.relay, home: stack.agent.home })
    stack.agent = agent
    await connected(agent)
    const again = await github('push', push, { delivery })
    assert.deepEqual(again.json, { status: 'duplicate' })
    const fresh = await github('push', push)
    assert.deepEqual(fresh.json, { status: 'duplicate' }, 'and bodies')
  })
})

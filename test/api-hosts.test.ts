// The local API's new routes in-process: registration falls back to manual with a reason where
// no host API can be driven, `register --all` with nothing to do, and the notification routes'
// shapes and their JSON errors for bad input.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type ApiUnderTest, apiUnderTest } from './helpers/api.ts'
import { createRepo, type Repo } from './helpers/git-repo.ts'

let api: ApiUnderTest
let repo: Repo
before(() => {
  api = apiUnderTest()
  repo = createRepo('main')
  repo.commit({ 'package.json': '{"name":"x"}' })
})
after(() => api.close())

test('--register on a repo no host API manages: manual, with the reason, and the URL to paste', async () => {
  assert.equal((await api.call('POST', '/apps', { name: 'local', repo: repo.remote })).status, 201)
  const enabled = await api.call('POST', '/apps/local/webhook/enable', { register: true })
  assert.equal(enabled.status, 200)
  assert.equal(enabled.json.url, 'https://relay.example.com/hooks/testinstance0000000a/local')
  assert.deepEqual(enabled.json.registration, {
    app: 'local',
    mode: 'manual',
    host: null,
    hookId: null,
    created: false,
    pruned: 0,
    reason: 'the repo is not an HTTPS or ssh remote of a git host',
    test: { event: null, arrived: null },
  })
  const status = await api.call('GET', '/apps/local/webhook')
  assert.equal(status.json.registration.mode, 'manual')
  assert.equal(JSON.stringify(status.json).includes(enabled.json.secret), false)
  const app = await api.call('GET', '/apps/local')
  assert.deepEqual(app.json.webhook, {
    enabled: true,
    provider: 'github',
    url: enabled.json.url,
    mode: 'manual',
    problem: null,
  })
  const all = await api.call('POST', '/webhooks/register-all')
  assert.deepEqual(all.json, [], 'only auto hooks are re-registered')
  const bad = await api.call('POST', '/apps/local/webhook/enable', { register: 'yes' })
  assert.equal(bad.status, 400)
  assert.match(bad.json.error, /^register: /)
})

test('notification routes: shapes, the secret only on add, JSON errors for bad input', async () => {
  const added = await api.call('POST', '/notify', {
    url: 'https://example.com/deploys/s3cr3t',
    on: 'all',
  })
  assert.equal(added.status, 201)
  assert.equal(added.json.url, 'https://example.com/…')
  assert.equal(added.json.format, 'json')
  assert.match(added.json.secret, /^whsec_/)
  const listed = await api.call('GET', '/notify')
  assert.deepEqual(Object.keys(listed.json[0]).sort(), [
    'app',
    'createdAt',
    'format',
    'id',
    'on',
    'url',
  ])
  for (const [body, error] of [
    [{ url: 'ftp://example.com/x' }, /^url: not an http\(s\) URL$/],
    [{ url: 'https://example.com', format: 'email' }, /^format: /],
    [{ url: 'https://example.com', on: 'sometimes' }, /^on: /],
    [{ url: 'https://example.com', app: 'nope' }, /^no app "nope"/],
  ] as const) {
    const refused = await api.call('POST', '/notify', body)
    assert.ok(refused.status === 400 || refused.status === 404, JSON.stringify(refused.json))
    assert.match(refused.json.error, error)
  }
  assert.equal((await api.call('DELETE', '/notify/abc')).status, 404)
  assert.equal((await api.call('POST', '/notify/999/test')).status, 404)
  assert.deepEqual((await api.call('DELETE', `/notify/${added.json.id}`)).json, {
    removed: added.json.id,
  })
})

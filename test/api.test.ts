// The local API in-process (createApi(deps).request): authentication, the shapes the contract
// (agent/api/contract.ts) promises, and a clear JSON error with the right status for bad input.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { API_KEY, type ApiUnderTest, apiUnderTest } from './helpers/api.ts'
import { createRepo, type Repo } from './helpers/git-repo.ts'

let api: ApiUnderTest
let repo: Repo
before(() => {
  api = apiUnderTest()
  repo = createRepo('main')
  repo.commit({ 'package.json': '{"name":"x"}' })
})
after(() => api.close())

describe('authentication', () => {
  test('/health is open; everything else needs the key, as Bearer or Token', async () => {
    assert.deepEqual((await api.call('GET', '/health', undefined, { authorization: '' })).json, {
      ok: true,
    })
    const none = await api.call('GET', '/status', undefined, { authorization: '' })
    assert.equal(none.status, 401)
    assert.match(none.json.error, /unauthorized: send Authorization: Bearer/)
    const wrong = await api.call('GET', '/status', undefined, { authorization: 'Bearer thk_no' })
    assert.equal(wrong.status, 401)
    const token = await api.call('GET', '/status', undefined, { authorization: `Token ${API_KEY}` })
    assert.equal(token.status, 200)
    const rebound = await api.call('GET', '/status', undefined, { host: 'evil.example:7171' })
    assert.equal(
      rebound.status,
      421,
      'a foreign Host (DNS rebinding) gets nothing, even with the key',
    )
  })

  test('without a dashboard, a browser asking for a page gets the same 401 JSON', async () => {
    const page = await api.call('GET', '/', undefined, { authorization: '', accept: 'text/html' })
    assert.equal(page.status, 401)
  })
})

describe('apps', () => {
  test('add: 201 with the status shape and a warning for a branch that does not exist yet', async () => {
    const added = await api.call('POST', '/apps', { name: 'web', repo: repo.remote, port: 4100 })
    assert.equal(added.status, 201)
    assert.deepEqual(Object.keys(added.json).sort(), [
      'app',
      'bind',
      'branch',
      'commit',
      'deployment',
      'desired',
      'health',
      'hostname',
      'lastDeployment',
      'pid',
      'pin',
      'port',
      'release',
      'repo',
      'state',
      'strategy',
      'tag',
      'track',
      'warnings',
      'webhook',
    ])
    assert.equal(added.json.state, 'not_deployed')
    assert.deepEqual(added.json.warnings, [])
    const early = await api.call('POST', '/apps', {
      name: 'early',
      repo: repo.remote,
      branch: 'next',
    })
    assert.match(early.json.warnings[0], /branch next does not exist on the remote yet/)
  })

  test('bad input: 400 naming the field; a duplicate 409; an unknown app 404 listing the others', async () => {
    const cases: [unknown, RegExp][] = [
      [{ name: 'Bad Name', repo: repo.remote }, /^name: /],
      [{ name: 'ok', repo: repo.remote, port: 70000 }, /^port: /],
      [{ name: 'ok', repo: repo.remote, branch: '-x' }, /^branch: not a valid branch name/],
      [{ name: 'ok', repo: '--upload-pack=x' }, /^repo: not a git URL or path/],
      [{ name: 'ok', repo: '/nowhere/at/all.git' }, /cannot reach \/nowhere\/at\/all.git/],
    ]
    for (const [body, message] of cases) {
      const answer = await api.call('POST', '/apps', body)
      assert.equal(answer.status, 400, JSON.stringify(body))
      assert.match(answer.json.error, message)
    }
    const duplicate = await api.call('POST', '/apps', { name: 'web', repo: repo.remote })
    assert.equal(duplicate.status, 409)
    const unknown = await api.call('GET', '/apps/nope')
    assert.equal(unknown.status, 404)
    assert.match(unknown.json.error, /no app "nope" \(apps: early, web\)/)
  })

  test('a body that is not JSON, or too large, is refused with 400', async () => {
    const notJson = await api.call('POST', '/apps', '{"name": ')
    assert.equal(notJson.status, 400)
    assert.match(notJson.json.error, /request body is not JSON/)
    const big = await api.call('PUT', '/env', { key: 'A', value: 'x'.repeat(300 * 1024) })
    assert.equal(big.status, 400)
    assert.match(big.json.error, /request body too large/)
  })

  test('deploy, rollback and logs of what does not exist answer 404 or 409 with a reason', async () => {
    assert.equal((await api.call('POST', '/apps/nope/deploy')).status, 404)
    const rollback = await api.call('POST', '/apps/web/rollback')
    assert.equal(rollback.status, 404)
    assert.match(rollback.json.error, /web has no earlier release to roll back to/)
    const start = await api.call('POST', '/apps/web/start')
    assert.equal(start.status, 409)
    assert.match(start.json.error, /web has not been deployed yet: toehold deploy web/)
    const log = await api.call('GET', '/logs/web/12')
    assert.equal(log.status, 404)
    assert.match(log.json.error, /no deployment "12" of web/)
    const endpoint = await api.call('GET', '/nothing/here')
    assert.equal(endpoint.status, 404)
    assert.match(endpoint.json.error, /no such endpoint: GET \/nothing\/here/)
  })
})

describe('webhooks and env', () => {
  test('enable shows the secret once; the status never does', async () => {
    const enabled = await api.call('POST', '/apps/web/webhook/enable', { provider: 'github' })
    assert.equal(enabled.status, 200)
    assert.equal(enabled.json.url, 'https://relay.example.com/hooks/testinstance0000000a/web')
    assert.ok(enabled.json.secret.length >= 32)
    const status = await api.call('GET', '/apps/web/webhook')
    assert.equal(status.json.enabled, true)
    assert.ok(!JSON.stringify(status.json).includes(enabled.json.secret))
    const bad = await api.call('POST', '/apps/web/webhook/enable', { provider: 'svn' })
    assert.equal(bad.status, 400)
    assert.match(bad.json.error, /^provider: /)
  })

  test('env set, list and unset, globally and per app; bad names refused', async () => {
    assert.equal((await api.call('PUT', '/env', { key: 'MODE', value: 'prod' })).status, 200)
    assert.equal(
      (await api.call('PUT', '/env', { app: 'web', key: 'MODE', value: 'x' })).status,
      200,
    )
    assert.deepEqual((await api.call('GET', '/env')).json, { MODE: 'prod' })
    assert.deepEqual((await api.call('GET', '/env?app=web')).json, { MODE: 'x' })
    const bad = await api.call('PUT', '/env', { key: '1BAD', value: 'x' })
    assert.equal(bad.status, 400)
    assert.match(bad.json.error, /invalid variable name "1BAD"/)
    assert.equal((await api.call('DELETE', '/env', { app: 'web', key: 'MODE' })).status, 200)
    assert.deepEqual((await api.call('GET', '/env?app=web')).json, {})
  })
})

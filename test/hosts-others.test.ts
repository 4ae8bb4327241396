// GitLab, Gitea/Forgejo and Bitbucket Cloud: the same idempotent registration and commit
// statuses through each host's own API shapes and refusals; GitLab and Gitea also end to end
// (real relay, real agent, the host's test delivery coming back through the relay).
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { HostTarget } from '../agent/hosts/base.ts'
import { hostApi } from '../agent/hosts/client.ts'
import { HostError } from '../agent/hosts/http.ts'
import { registerHook } from '../agent/hosts/register.ts'
import { type Agent, connected, freePort, startAgent } from './helpers/agent.ts'
import { toehold } from './helpers/cli.ts'
import { appRepo } from './helpers/deploy.ts'
import { type FakeHost, type HostKind, startFakeHost } from './helpers/fake-hosts.ts'
import { startRelay, stopAll } from './helpers/procs.ts'
import { until } from './helpers/wait.ts'

const TOKEN = 'host-admin-token-0123456789'
const URL_NOW = 'https://relay.example/hooks/inst/blog'

after(stopAll)

for (const kind of ['gitlab', 'gitea', 'bitbucket'] as const satisfies HostKind[]) {
  describe(`${kind} API client`, () => {
    let host: FakeHost
    let target: HostTarget
    before(async () => {
      host = await startFakeHost(kind, { pageSize: 2 })
      host.grant(TOKEN, 'admin')
      host.grant('limited-token', 'limited')
      host.addRepo('acme/blog', appRepo().remote)
      target = { kind, api: host.api, repo: 'acme/blog', origin: host.origin }
    })
    after(() => host.close())

    test('registers idempotently across pages, pruning duplicates; a second run changes nothing', async () => {
      for (const other of ['a', 'b', 'c']) host.seedHook('acme/blog', `https://ci.example/${other}`)
      const first = host.seedHook('acme/blog', URL_NOW)
      host.seedHook('acme/blog', URL_NOW)
      const api = hostApi(target, { token: TOKEN })
      const done = await registerHook(
        api,
        { url: URL_NOW, secret: 'new-secret-0123456789' },
        { id: null, url: null },
      )
      assert.equal(done.id, first)
      assert.equal(done.created, false)
      assert.equal(done.pruned, 1)
      const ours = host.hooks('acme/blog').filter((hook) => hook.url === URL_NOW)
      assert.equal(ours.length, 1)
      assert.equal(ours[0]?.secret, 'new-secret-0123456789')
      assert.equal(ours[0]?.active, true)
      assert.ok(ours[0]?.events.some((event) => event === 'push' || event === 'repo:push'))
      assert.equal(host.hooks('acme/blog').length, 4)
      const again = await registerHook(
        api,
        { url: URL_NOW, secret: 'new-secret-0123456789' },
        { id: first, url: URL_NOW },
      )
      assert.deepEqual(
        { ...again, test: null },
        { id: first, created: false, pruned: 0, test: null },
      )
    })

    test('a moved URL updates the hook registered before (never old and new side by side)', async () => {
      const api = hostApi(target, { token: TOKEN })
      const known = host.hooks('acme/blog').find((hook) => hook.url === URL_NOW)
      const moved = 'https://relay2.example/hooks/inst/blog'
      const done = await registerHook(
        api,
        { url: moved, secret: 's3cret-0123456789' },
        { id: known?.id ?? null, url: URL_NOW },
      )
      assert.equal(done.id, known?.id)
      assert.equal(
        host.hooks('acme/blog').filter((h) => h.url === URL_NOW || h.url === moved).length,
        1,
      )
      // GitLab drops a hook's token when its URL changes: the agent sends it again.
      assert.equal(
        host.hooks('acme/blog').find((h) => h.id === done.id)?.secret,
        's3cret-0123456789',
      )
    })

    test("a token without the scope is refused in the host's own words", async () => {
      const api = hostApi(target, { token: 'limited-token' })
      const refused = await registerHook(
        api,
        { url: URL_NOW, secret: 'x'.repeat(20) },
        { id: null, url: null },
      ).catch((error: unknown) => error)
      assert.ok(refused instanceof HostError)
      assert.equal(refused.status, 403)
      const words = {
        gitlab: /insufficient_scope: The request requires higher privileges/,
        gitea: /token does not have at least one of required scope\(s\): \[write:repository\]/,
        bitbucket: /lack one or more required privilege scopes\. \(required: webhook\)/,
      }
      assert.match(refused.message, words[kind])
    })

    test('commit statuses: one per app and commit, the description cut to the limit', async () => {
      const api = hostApi(target, { token: TOKEN })
      const sha = 'a'.repeat(40)
      const context = 'toehold/blog'
      await api.setStatus(sha, { state: 'pending', description: 'deploying: fetching', context })
      await api.setStatus(sha, { state: 'pending', description: 'deploying: installing', context })
      await api.setStatus(sha, {
        state: 'failure',
        description: `failed at building: ${'x'.repeat(400)}`,
        context,
      })
      const statuses = host.statuses('acme/blog').filter((s) => s.sha === sha)
      const last = statuses.at(-1)?.body as Record<string, string>
      assert.equal(last.state, { gitlab: 'failed', gitea: 'failure', bitbucket: 'FAILED' }[kind])
      assert.ok(last.description && last.description.length <= 255)
      assert.match(last.description ?? '', /^failed at building: x+…$/)
      if (kind === 'gitlab') {
        // GitLab refuses running → running: the second pending was not sent.
        assert.deepEqual(
          statuses.map((s) => s.body.state),
          ['running', 'failed'],
        )
        assert.equal(last.name, context)
      }
      if (kind === 'gitea') assert.equal(last.context, context)
      if (kind === 'bitbucket') {
        // The same key overwrites: one status per app on the commit.
        assert.equal(statuses.length, 1)
        assert.equal(last.key, context)
      }
    })
  })
}

for (const kind of ['gitlab', 'gitea'] as const) {
  test(`${kind} end to end: enable --register, the test push comes back through the relay and is reported`, async () => {
    const host = await startFakeHost(kind)
    host.grant(TOKEN, 'admin')
    const relay = await startRelay()
    const agent: Agent = await startAgent({ relay, env: { TOEHOLD_REPORT_BACKOFF_MS: '50' } })
    await connected(agent)
    const repo = appRepo()
    const url = host.addRepo('acme/blog', repo.remote)
    const added = await toehold(
      agent.home,
      [
        'app',
        'add',
        'blog',
        '--repo',
        url,
        '--port',
        String(await freePort()),
        '--token-stdin',
        '--json',
      ],
      { input: `${TOKEN}\n` },
    )
    assert.equal(added.code, 0, added.stderr)
    const provider = kind === 'gitlab' ? 'gitlab' : 'github'
    const enabled = await toehold(agent.home, [
      'webhook',
      'enable',
      'blog',
      '--provider',
      provider,
      '--register',
      '--json',
    ])
    assert.equal(enabled.code, 0, enabled.stderr)
    const { registration } = enabled.json
    assert.equal(registration.mode, 'auto')
    assert.equal(
      registration.host,
      kind,
      'Gitea told apart from GitHub Enterprise by its version endpoint',
    )
    assert.equal(registration.test.event, 'push')
    assert.equal(
      registration.test.arrived.status,
      202,
      'the test push was verified and queued a deployment',
    )
    const hooks = host.hooks('acme/blog')
    assert.equal(hooks.length, 1)
    assert.equal(hooks[0]?.url, agent.webhookUrl('blog'))
    assert.equal(hooks[0]?.active, true)
    const success = await until(
      () =>
        host.statuses('acme/blog').find((s) => s.sha === repo.first && s.body.state === 'success'),
      'the success status',
    )
    assert.match(String(success.body.description), /^live in \d+\.\d s$/)
    await Promise.all([agent.kill(), relay.kill()])
    await host.close()
  })
}

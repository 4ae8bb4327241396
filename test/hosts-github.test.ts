// Talking back to GitHub (Enterprise Server at a local origin): the agent registers its webhook
// through the API idempotently, GitHub's ping comes back through the real relay, pushes deploy,
// and every deployment is reported on the commit. The fake is checked against GitHub's OpenAPI.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { HostTarget } from '../agent/hosts/base.ts'
import { githubApi } from '../agent/hosts/github.ts'
import { registerHook } from '../agent/hosts/register.ts'
import { type Agent, connected, freePort, startAgent } from './helpers/agent.ts'
import { toehold } from './helpers/cli.ts'
import { appRepo } from './helpers/deploy.ts'
import { type FakeGitHub, startFakeGitHub } from './helpers/fake-github.ts'
import { type RelayProc, startRelay, stopAll } from './helpers/procs.ts'
import { assertNoSecret } from './helpers/secrets.ts'
import { until } from './helpers/wait.ts'

const TOKEN = 'ghp_fake_admin_token_0123456789'
let github: FakeGitHub
let relay: RelayProc
let agent: Agent
let apps = 0

before(async () => {
  github = await startFakeGitHub({ pageSize: 2 })
  github.grant(TOKEN, 'admin')
  relay = await startRelay()
  agent = await startAgent({
    relay,
    env: { TOEHOLD_REPORT_BACKOFF_MS: '50', TOEHOLD_REPORT_TIMEOUT_MS: '2000' },
  })
  await connected(agent)
})

after(async () => {
  // SIGTERM first: the agent stops its apps (stopAll's SIGKILL would leave them running).
  await agent?.kill()
  await stopAll()
  await github.close()
  assert.deepEqual(
    github.state.violations,
    [],
    'every exchange matches GitHub’s OpenAPI description',
  )
})

/** A new repository on the fake and an app tracking its main branch with `token`. */
async function newApp(token = TOKEN) {
  apps += 1
  const name = `app${apps}`
  const repo = appRepo()
  const full = `acme/${name}`
  const url = github.addRepo(full, repo.remote)
  const port = await freePort()
  const added = await toehold(
    agent.home,
    [
      'app',
      'add',
      name,
      '--repo',
      url,
      '--branch',
      'main',
      '--port',
      String(port),
      '--token-stdin',
      '--json',
    ],
    { input: `${token}\n` },
  )
  assert.equal(added.code, 0, added.stderr)
  return { name, repo, full, hookUrl: agent.webhookUrl(name) }
}

const enable = (name: string, ...extra: string[]) =>
  toehold(agent.home, [
    'webhook',
    'enable',
    name,
    '--provider',
    'github',
    '--register',
    ...extra,
    '--json',
  ])

test('enable --register creates the hook, the ping comes back through the relay, a push is reported on the commit', async () => {
  const { name, repo, full, hookUrl } = await newApp()
  const enabled = await enable(name)
  assert.equal(enabled.code, 0, enabled.stderr)
  const { registration } = enabled.json
  assert.equal(registration.mode, 'auto')
  assert.equal(registration.host, 'github')
  assert.equal(registration.created, true)
  assert.equal(registration.test.event, 'ping')
  assert.equal(registration.test.arrived.status, 200)
  assert.equal(registration.test.arrived.result, 'ping')

  const [hook, ...others] = github.hooks(full)
  assert.equal(others.length, 0)
  assert.ok(hook)
  assert.equal(hook.config.url, hookUrl)
  assert.equal(hook.config.content_type, 'json')
  assert.equal(hook.secret, enabled.json.secret)
  assert.deepEqual(hook.events, ['push'])
  assert.equal(hook.active, true)
  assert.equal(registration.hookId, String(hook.id))

  const human = await toehold(agent.home, ['webhook', 'status', name])
  assert.match(human.stdout, new RegExp(`mode +auto \\(GitHub hook ${hook.id}\\)`))

  const sha = repo.commit({ 'version.txt': 'v2\n' }, 'v2')
  assert.deepEqual(await github.push(full, 'main', sha), [202])
  const success = await until(
    () => github.state.statuses.find((s) => s.sha === sha && s.body.state === 'success'),
    'the success status',
  )
  assert.equal(success.body.context, `toehold/${name}`)
  assert.match(success.body.description ?? '', /^live in \d+\.\d s$/)
  const mine = github.state.statuses.filter((s) => s.sha === sha)
  assert.ok(mine.length >= 2, 'pending before success')
  assert.ok(
    mine
      .slice(0, -1)
      .every((s) => s.body.state === 'pending' && s.body.context === `toehold/${name}`),
  )
  assert.match(mine[0]?.body.description ?? '', /^deploying: /)

  const deployment = await until(
    () => github.state.deployments.find((d) => d.repo === full && d.body.ref === sha),
    'the GitHub deployment',
  )
  assert.equal(deployment.body.environment, name)
  assert.equal(deployment.body.auto_merge, false)
  assert.deepEqual(deployment.body.required_contexts, [])
  const states = await until(() => {
    const seen = github.state.deploymentStatuses
      .filter((s) => s.deployment === deployment.id)
      .map((s) => s.body.state)
    return seen.at(-1) === 'success' && seen
  }, 'the deployment to be marked success')
  assert.deepEqual(states, ['in_progress', 'success'])

  const log = await until(async () => {
    const { stdout } = await toehold(agent.home, ['logs', name, '1'])
    return stdout.includes('GitHub: deployment') && stdout
  }, 'the status lines in the deploy log')
  assert.match(log, /GitHub: commit status success \(live in/)
})

test('duplicates left by a crash are pruned to one, hooks on later pages are found, a second run changes nothing', async () => {
  const { name, full, hookUrl } = await newApp()
  // Page size 2: three strangers' hooks first, then two at our URL (a crash between create and store).
  for (const other of ['a', 'b', 'c']) github.seedHook(full, `https://ci.example/${other}`)
  const first = github.seedHook(full, hookUrl, 'stale-secret')
  github.seedHook(full, hookUrl, 'stale-secret')
  const pings = github.state.deliveries.length

  const enabled = await enable(name)
  assert.equal(enabled.code, 0, enabled.stderr)
  const { registration } = enabled.json
  assert.equal(registration.created, false)
  assert.equal(registration.pruned, 1)
  assert.equal(registration.hookId, String(first))
  const ours = github.hooks(full).filter((hook) => hook.config.url === hookUrl)
  assert.equal(ours.length, 1)
  assert.equal(ours[0]?.secret, enabled.json.secret, 'the secret on the host is ours now')
  assert.equal(github.hooks(full).length, 4, "strangers' hooks are left alone")
  // An updated hook is not pinged by GitHub by itself: the agent asked for it, and it arrived.
  assert.equal(registration.test.arrived.status, 200)
  assert.ok(github.state.deliveries.length > pings)
  assert.ok(
    github.state.requests.some(
      (r) => r.method === 'GET' && r.path === `/repos/${full}/hooks` && r.status === 200,
    ),
  )

  const again = await enable(name)
  assert.equal(again.json.registration.created, false)
  assert.equal(again.json.registration.pruned, 0)
  assert.equal(again.json.registration.hookId, String(first))
  assert.equal(github.hooks(full).length, 4)
})

test('a token without the hook scope leaves the webhook manual with GitHub’s reason, --poll makes it polling', async () => {
  github.grant('ghp_no_hooks', 'no-hooks')
  github.grant('github_pat_no_webhooks', 'fine-grained')
  const classic = await newApp('ghp_no_hooks')
  const manual = await enable(classic.name)
  assert.equal(manual.code, 0, manual.stderr)
  assert.equal(manual.json.registration.mode, 'manual')
  assert.match(
    manual.json.registration.reason,
    /GitHub answered 404: Not Found \(GitHub answers 404 when the token lacks the permission\)/,
  )
  assert.equal(manual.json.url, classic.hookUrl, 'the URL to paste')
  assert.equal(github.hooks(classic.full).length, 0)
  const human = await toehold(agent.home, ['webhook', 'rotate', classic.name])
  assert.equal(human.code, 0, human.stderr)
  assert.match(human.stdout, /Settings → Webhooks → Add webhook/, 'how to paste it by hand')

  const fine = await newApp('github_pat_no_webhooks')
  const polled = await enable(fine.name, '--poll')
  assert.equal(polled.json.registration.mode, 'polling')
  assert.match(
    polled.json.registration.reason,
    /403: Resource not accessible by personal access token/,
  )
  const status = await toehold(agent.home, ['webhook', 'status', fine.name, '--json'])
  assert.equal(status.json.registration.mode, 'polling')
  const app = await toehold(agent.home, ['status', fine.name, '--json'])
  assert.equal(app.json.webhook.mode, 'polling')
})

test('a hook deleted on the host is reported by status and recreated by --register', async () => {
  const { name, full } = await newApp()
  const enabled = await enable(name)
  const id = Number(enabled.json.registration.hookId)
  github.deleteHook(full, id)
  const status = await toehold(agent.home, ['webhook', 'status', name])
  assert.match(status.stdout, /problem +the hook was deleted on the git host/)
  const app = await toehold(agent.home, ['status', name])
  assert.match(app.stdout, /webhook +enabled \(github, auto\)/)
  assert.match(app.stdout, /the hook was deleted on the git host/)
  const again = await enable(name)
  assert.equal(again.json.registration.created, true)
  assert.notEqual(again.json.registration.hookId, String(id))
  assert.equal(github.hooks(full).length, 1)
  const healthy = await toehold(agent.home, ['webhook', 'status', name, '--json'])
  assert.equal(healthy.json.registration.problem, null)
  const human = await toehold(agent.home, ['webhook', 'enable', name, '--register'])
  assert.equal(human.code, 0, human.stderr)
  assert.match(human.stdout, /registered on GitHub: hook \d+ updated/)
  assert.match(human.stdout, /GitHub's ping arrived through the relay: the path works\./)
})

test('rotate puts the new secret on the host; disable and app remove delete the hook', async () => {
  const { name, full } = await newApp()
  const enabled = await enable(name)
  const rotated = await toehold(agent.home, ['webhook', 'rotate', name, '--json'])
  assert.equal(rotated.code, 0, rotated.stderr)
  assert.notEqual(rotated.json.secret, enabled.json.secret)
  assert.equal(github.hooks(full)[0]?.secret, rotated.json.secret)
  assert.equal(
    rotated.json.registration.test.arrived.status,
    200,
    'the ping signed with the new secret verified',
  )

  const disabled = await toehold(agent.home, ['webhook', 'disable', name, '--json'])
  assert.equal(disabled.code, 0, disabled.stderr)
  assert.equal(github.hooks(full).length, 0)

  await enable(name)
  assert.equal(github.hooks(full).length, 1)
  const removed = await toehold(agent.home, ['app', 'remove', name, '--json'])
  assert.equal(removed.code, 0, removed.stderr)
  assert.equal(github.hooks(full).length, 0)
})

test('a rate limit is waited out as GitHub says, never hammered', async () => {
  const { name, repo, full } = await newApp()
  const before = github.state.requests.length
  github.state.fault = { kind: 'rate-limit', count: 1, retryAfter: 1 }
  const enabled = await enable(name)
  github.state.fault = null
  assert.equal(enabled.json.registration.mode, 'auto')
  const requests = github.state.requests.slice(before)
  const limited = requests.filter((r) => r.status === 403)
  assert.equal(limited.length, 1)
  const next = requests[requests.indexOf(limited[0] as (typeof requests)[number]) + 1]
  assert.ok(next && next.at - (limited[0]?.at ?? 0) >= 1000, 'the retry waited Retry-After')
  assert.equal(github.hooks(full).length, 1)

  // The commit statuses of a deploy meet the limit too: waited out, then sent.
  const sha = repo.commit({ 'version.txt': 'v2\n' }, 'v2')
  const mark = github.state.requests.length
  github.state.fault = { kind: 'rate-limit', count: 1, resetIn: 1 }
  assert.deepEqual(await github.push(full, 'main', sha), [202])
  await until(
    () => github.state.statuses.some((s) => s.sha === sha && s.body.state === 'success'),
    'the success status after the limit',
  )
  const statusCalls = github.state.requests.slice(mark)
  const hit = statusCalls.findIndex((r) => r.status === 403)
  assert.ok(hit !== -1, 'the limit was met')
  assert.equal(statusCalls.filter((r) => r.status === 403).length, 1)
  assert.ok(
    (statusCalls[hit + 1]?.at ?? 0) >= (statusCalls[hit]?.at ?? 0) + 500,
    'waited for X-RateLimit-Reset',
  )
  const status = await toehold(agent.home, ['status', name, '--json'])
  assert.equal(status.json.lastDeployment.status, 'live')
})

test('GitHub down: enable still completes in manual mode; statuses refused leave the deploy unaffected', async () => {
  const { name, repo, full } = await newApp()
  github.state.fault = { kind: 'down' }
  const started = Date.now()
  const enabled = await enable(name)
  assert.equal(enabled.code, 0, enabled.stderr)
  assert.equal(enabled.json.registration.mode, 'manual')
  assert.match(enabled.json.registration.reason, /GitHub answered 503/)
  assert.ok(Date.now() - started < 15_000)
  github.state.fault = { kind: 'hang' }
  const slow = await enable(name)
  assert.equal(slow.code, 0, slow.stderr)
  assert.equal(slow.json.registration.mode, 'manual')
  assert.match(slow.json.registration.reason, /timed out/)
  github.state.fault = null

  const registered = await enable(name)
  assert.equal(registered.json.registration.mode, 'auto')
  github.state.fault = { kind: 'fail-writes', status: 502 }
  const sha = repo.commit({ 'version.txt': 'v2\n' }, 'v2')
  assert.deepEqual(await github.push(full, 'main', sha), [202])
  const log = await until(async () => {
    const { stdout } = await toehold(agent.home, ['logs', name, '1'])
    return /GitHub refused the commit status success/.test(stdout) && stdout
  }, 'the refusal in the deploy log')
  github.state.fault = null
  const status = await toehold(agent.home, ['status', name, '--json'])
  assert.equal(
    status.json.lastDeployment.status,
    'live',
    'the deploy did not wait for or fail with GitHub',
  )
  assert.match(log, /GitHub refused the commit status success: Server Error/)
  assert.equal(github.state.statuses.filter((s) => s.sha === sha).length, 0)
})

test('a failed deployment is a failure status with the stage and the reason, cut to 140 characters', async () => {
  const { name, repo, full } = await newApp()
  await enable(name)
  const sha = repo.commit({ 'mode.txt': 'predeploy-fail\n' }, 'broken')
  await github.push(full, 'main', sha)
  const failure = await until(
    () => github.state.statuses.find((s) => s.sha === sha && s.body.state === 'failure'),
    'the failure status',
  )
  assert.match(failure.body.description ?? '', /^failed at building: /)
  assert.ok((failure.body.description ?? '').length <= 140)
  const deployment = github.state.deployments.find((d) => d.body.ref === sha)
  assert.ok(deployment)
  await until(
    () =>
      github.state.deploymentStatuses.some(
        (s) => s.deployment === deployment.id && s.body.state === 'failure',
      ),
    'the deployment to be marked failed',
  )
})

test('the relay moved: the audit reports every stale hook, register --all moves them, idempotently', async () => {
  const { name, full, hookUrl } = await newApp()
  await enable(name)
  const port = new URL(relay.url).port
  const moved = `http://localhost:${port}`
  await relay.kill()
  relay = await startRelay({
    dataDir: relay.dataDir,
    args: ['--port', port, '--public-url', moved],
  })
  // The relay only accepts tokens for its public host: its user points the agent there too.
  await agent.kill()
  agent = await startAgent({
    relay: { url: moved },
    home: agent.home,
    env: { TOEHOLD_REPORT_BACKOFF_MS: '50', TOEHOLD_REPORT_TIMEOUT_MS: '2000' },
  })
  const audited = agent.waitFor(
    (line) => line.msg === 'webhook on the git host needs attention' && line.app === name,
  )
  await connected(agent)
  assert.match(String((await audited).problem), /^stale: the host delivers to /)
  const status = await toehold(agent.home, ['webhook', 'status', name, '--json'])
  assert.match(status.json.registration.problem, /stale/)

  const fixed = await toehold(agent.home, ['webhook', 'register', '--all', '--json'])
  assert.equal(fixed.code, 0, fixed.stderr)
  const outcome = fixed.json.find((o: { app: string }) => o.app === name)
  assert.equal(outcome.mode, 'auto')
  assert.equal(outcome.created, false, 'the old hook was moved, not doubled')
  assert.equal(outcome.test.arrived.status, 200, 'the ping came through the moved relay')
  const hooks = github.hooks(full)
  assert.equal(hooks.length, 1)
  assert.equal(hooks[0]?.config.url, hookUrl.replace(/^http:\/\/127\.0\.0\.1:\d+/, moved))
  const again = await toehold(agent.home, ['webhook', 'register', '--all', '--json'])
  assert.ok(
    again.json.every(
      (o: { mode: string; created: boolean; pruned: number }) =>
        o.mode === 'auto' && !o.created && o.pruned === 0,
    ),
  )
  assert.equal(github.hooks(full).length, 1)
  const clean = await toehold(agent.home, ['webhook', 'status', name, '--json'])
  assert.equal(clean.json.registration.problem, null)
})

test('the tokens never reach the log, the home’s files or the relay', () => {
  const tokens = [TOKEN, 'ghp_no_hooks', 'github_pat_no_webhooks']
  const lines = (proc: { lines: unknown[] }) =>
    proc.lines.map((line) => JSON.stringify(line)).join('\n')
  assertNoSecret(Object.fromEntries(tokens.map((token, i) => [`token ${i}`, token])), {
    texts: { 'agent log': lines(agent), 'agent stderr': agent.stderr, 'relay log': lines(relay) },
    dirs: [agent.home],
    // The state keeps the app's GIT_TOKEN by design (env set).
    skip: (path) => /state\.db(-wal|-shm)?$/.test(path),
  })
})

test('two registrations racing end in one hook: the loser takes GitHub’s 422 and updates the winner’s', async () => {
  const full = 'acme/race'
  github.addRepo(full, appRepo().remote)
  const target: HostTarget = {
    kind: 'github',
    api: `${github.origin}/api/v3`,
    repo: full,
    origin: github.origin,
  }
  const spec = { url: 'https://relay.example/hooks/inst/race', secret: 'race-secret-0123456789' }
  const [a, b] = await Promise.all([
    registerHook(githubApi(target, TOKEN), spec, { id: null, url: null }),
    registerHook(githubApi(target, TOKEN), spec, { id: null, url: null }),
  ])
  assert.equal(a.id, b.id)
  assert.deepEqual([a.created, b.created].sort(), [false, true])
  assert.equal(github.hooks(full).length, 1)
  assert.ok(
    github.state.requests.some(
      (r) => r.method === 'POST' && r.path === `/repos/${full}/hooks` && r.status === 422,
    ),
  )
})

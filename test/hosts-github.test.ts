// Talking back to GitHub (Enterprise Server at a local origin): the agent registers its webhook
// through the API idempotently, GitHub's ping comes back through the real relay, pushes deploy,
// and every deployment is reported on the commit. The fake is checked against GitHub's OpenAPI.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { toehold } from './helpers/cli.ts'
import { appRepo, freePort, PATH, until } from './helpers/deploy.ts'
import { type FakeGitHub, startFakeGitHub } from './helpers/fake-github.ts'
import {
  type AgentProc,
  connected,
  type RelayProc,
  startAgent,
  startRelay,
  stopAll,
} from './helpers/procs.ts'

const TOKEN = 'ghp_fake_admin_token_0123456789'
let github: FakeGitHub
let relay: RelayProc
let agent: AgentProc
let apps = 0

before(async () => {
  github = await startFakeGitHub({ pageSize: 2 })
  github.grant(TOKEN, 'admin')
  relay = await startRelay()
  agent = await startAgent(relay, { env: { PATH, TOEHOLD_REPORT_BACKOFF_MS: '50' } })
  await Promise.all([agent.waitFor((line) => line.msg === 'recovered'), connected(agent)])
})

after(async () => {
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

// Apps that track tags (`--track tags:v*`) through a real relay and agent with real git repos:
// a tag push or a published GitHub release is a hint, the newest matching tag on the remote is
// what deploys, and a tag that moved, is gone, is off the newest tag's history or would take the
// app backwards is refused with its reason. Convergence and --poll follow tags too.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Agent, connected, freePort, startAgent } from './helpers/agent.ts'
import { toehold } from './helpers/cli.ts'
import { answers, appRepo, deploy, finished } from './helpers/deploy.ts'
import { type RelayProc, startRelay, tempDir } from './helpers/procs.ts'
import { until } from './helpers/wait.ts'
import { github, type Hook } from './helpers/webhooks.ts'

const T = { timeout: 180_000 }
const ZERO = '0'.repeat(40)

const tagPush = (hook: Hook, tag: string, after: string) =>
  github(hook, 'push', {
    ref: `refs/tags/${tag}`,
    after,
    deleted: after === ZERO,
    repository: { name: 'app' },
  })

const release = (
  hook: Hook,
  tag: string,
  options: { action?: string; draft?: boolean; prerelease?: boolean } = {},
) =>
  github(hook, 'release', {
    action: options.action ?? 'published',
    release: {
      tag_name: tag,
      target_commitish: 'main',
      draft: options.draft ?? false,
      prerelease: options.prerelease ?? false,
    },
  })

async function addTracked(agent: Agent, name: string, repo: string, extra: string[] = []) {
  const port = await freePort()
  const added = await toehold(agent.home, [
    'app',
    'add',
    name,
    '--repo',
    repo,
    '--port',
    String(port),
    '--track',
    'tags:v*',
    ...extra,
    '--json',
  ])
  assert.equal(added.code, 0, added.stderr)
  const enabled = await agent.api('POST', `/apps/${name}/webhook/enable`, { provider: 'github' })
  assert.equal(enabled.status, 200, JSON.stringify(enabled.body))
  return { port, hook: enabled.body as Hook, added: added.json }
}

/** Waits for the webhook's deployment and returns it finished. */
async function outcome(
  agent: Agent,
  app: string,
  answer: { status: number; body: { deployment: number } },
) {
  assert.equal(answer.status, 202, JSON.stringify(answer.body))
  return finished(agent, app, answer.body.deployment)
}

const ignored = (reason: string) => ({ status: 200, body: { status: 'ignored', reason } })

describe('tag tracking', { concurrency: true }, () => {
  let relay: RelayProc
  before(async () => {
    relay = await startRelay()
  })
  after(() => relay.kill())

  test(
    'a tag push deploys the newest matching tag; bad tags are refused with the reason',
    T,
    async () => {
      const agent = await startAgent({ relay })
      await connected(agent)
      const repo = appRepo()
      const { port, hook, added } = await addTracked(agent, 'app', repo.remote)
      assert.deepEqual(added.warnings, [
        'no tag matching v* on the remote yet; the first one pushed deploys',
      ])
      const short = (sha: string) => sha.slice(0, 7)

      repo.git('tag', 'v1.0.0', repo.first)
      repo.git('push', '--quiet', 'origin', 'v1.0.0')
      const first = await outcome(agent, 'app', await tagPush(hook, 'v1.0.0', repo.first))
      assert.deepEqual([first.status, first.commit, first.ref], ['live', repo.first, 'v1.0.0'])
      await answers(port, 'v1')

      // Semver order: v1.10.0 is newer than v1.2.0 (a name sort says otherwise). An annotated tag's
      // push names the tag object; that is the tag the remote has, so it is no "move".
      const c2 = repo.commit({ 'version.txt': 'v2\n' }, 'v2')
      const c3 = repo.commit({ 'version.txt': 'v3\n' }, 'v3')
      repo.git('tag', 'v1.2.0', c2)
      repo.git('tag', '-a', '-m', 'v1.10.0', 'v1.10.0', c3)
      repo.git('push', '--quiet', 'origin', 'v1.2.0', 'v1.10.0')
      const tagObject = repo.git('rev-parse', 'v1.10.0')
      const newest = await outcome(agent, 'app', await tagPush(hook, 'v1.2.0', c2))
      assert.deepEqual([newest.status, newest.commit, newest.ref], ['live', c3, 'v1.10.0'])
      await answers(port, 'v3')
      const again = await outcome(agent, 'app', await tagPush(hook, 'v1.10.0', tagObject))
      assert.equal(again.status, 'unchanged')
      const status = await agent.api('GET', '/apps/app')
      assert.deepEqual([status.body.track, status.body.tag], ['tags:v*', 'v1.10.0'])
      const shown = await toehold(agent.home, ['status', 'app'])
      assert.match(shown.stdout, /\(tags:v\*, live tag v1\.10\.0\)/)

      // Not deploy hints at all.
      assert.deepEqual(
        await tagPush(hook, 'release-1', c3),
        ignored('tag release-1 does not match v*'),
      )
      assert.deepEqual(
        await tagPush(hook, 'v2.0.0-rc.1', c3),
        ignored('tag v2.0.0-rc.1 is a pre-release; app takes those only with --prereleases'),
      )
      assert.deepEqual(await tagPush(hook, 'v1.2.0', ZERO), ignored('tag v1.2.0 was deleted'))
      const branch = repo.commit({ 'version.txt': 'v4\n' }, 'v4 on main, untagged')
      assert.deepEqual(
        await github(hook, 'push', { ref: 'refs/heads/main', after: branch }),
        ignored('push to main; app tracks tags v*'),
      )

      // Hints the remote contradicts: each fails at fetching, the live version keeps serving.
      const refused = async (
        answer: { status: number; body: { deployment: number } },
        reason: string,
      ) => {
        const failed = await outcome(agent, 'app', answer)
        assert.deepEqual(
          [failed.status, failed.stage, failed.reason],
          ['failed', 'fetching', reason],
        )
      }
      await refused(
        await tagPush(hook, 'v1.10.0', c2),
        `tag v1.10.0 moved: the event named ${short(c2)}, ${repo.remote} has ${short(c3)}`,
      )
      await refused(
        await tagPush(hook, 'v1.11.0', c3),
        `tag v1.11.0 does not exist on ${repo.remote} (deleted?)`,
      )
      const side = repo.commit({ 'version.txt': 'side\n' }, 'side', 'side')
      repo.git('tag', 'v1.5.0', side)
      repo.git('push', '--quiet', 'origin', 'v1.5.0')
      await refused(
        await tagPush(hook, 'v1.5.0', side),
        `tag v1.5.0 (${short(side)}) is not reachable from v1.10.0 (${short(c3)}), the newest tag matching v*`,
      )
      repo.git('tag', 'v3.0.0', repo.first)
      repo.git('push', '--quiet', 'origin', 'v3.0.0')
      await refused(
        await tagPush(hook, 'v3.0.0', repo.first),
        `tag v3.0.0 (${short(repo.first)}) is older than the live commit ${short(c3)}: tags never move an app backwards (toehold deploy --ref v3.0.0 does)`,
      )
      await answers(port, 'v3')
      // By hand it may: the newest tag, even behind the live commit.
      const manual = await deploy(agent, 'app')
      assert.deepEqual([manual.status, manual.commit, manual.ref], ['live', repo.first, 'v3.0.0'])
      await answers(port, 'v1')
      await agent.kill()
    },
  )

  test(
    'a published release deploys; drafts and pre-releases only with --prereleases',
    T,
    async () => {
      const agent = await startAgent({ relay })
      await connected(agent)
      const repo = appRepo()
      repo.git('tag', 'v1.0.0', repo.first)
      const rc = repo.commit({ 'version.txt': 'v2-rc\n' }, 'v2 rc')
      repo.git('tag', 'v2.0.0-rc.1', rc)
      repo.git('push', '--quiet', 'origin', '--tags')
      const stable = await addTracked(agent, 'stable', repo.remote)
      assert.deepEqual(stable.added.warnings, [])

      assert.deepEqual(
        await release(stable.hook, 'v1.0.0', { draft: true }),
        ignored('release v1.0.0 is a draft'),
      )
      assert.deepEqual(
        await release(stable.hook, 'v1.0.0', { action: 'created' }),
        ignored('release created: only published releases deploy'),
      )
      assert.deepEqual(
        await release(stable.hook, 'v2.0.0-rc.1', { prerelease: true }),
        ignored('release v2.0.0-rc.1 is a pre-release; stable takes those only with --prereleases'),
      )
      assert.deepEqual(
        await release(stable.hook, 'nightly'),
        ignored('tag nightly does not match v*'),
      )
      const gone = await outcome(agent, 'stable', await release(stable.hook, 'v1.1.0'))
      assert.deepEqual(
        [gone.status, gone.reason],
        ['failed', `tag v1.1.0 does not exist on ${repo.remote} (deleted?)`],
      )
      const live = await outcome(agent, 'stable', await release(stable.hook, 'v1.0.0'))
      assert.deepEqual([live.status, live.commit, live.ref], ['live', repo.first, 'v1.0.0'])
      await answers(stable.port, 'v1')

      const early = await addTracked(agent, 'early', repo.remote, ['--prereleases'])
      const pre = await outcome(
        agent,
        'early',
        await release(early.hook, 'v2.0.0-rc.1', { prerelease: true }),
      )
      assert.deepEqual([pre.status, pre.commit, pre.ref], ['live', rc, 'v2.0.0-rc.1'])
      await answers(early.port, 'v2-rc')
      await agent.kill()
    },
  )

  test('convergence and --poll deploy a tag pushed while nobody listened', T, async () => {
    const home = tempDir('toehold-home-')
    let agent = await startAgent({ home, relay })
    await connected(agent)
    const repo = appRepo()
    repo.git('tag', 'v0.1.0', repo.first)
    repo.git('push', '--quiet', 'origin', 'v0.1.0')
    const port = await freePort()
    const added = await agent.api('POST', '/apps', {
      name: 'app',
      repo: repo.remote,
      port,
      track: 'tags:v*',
      pollMs: 10_000,
    })
    assert.equal(added.status, 201, JSON.stringify(added.body))
    await agent.api('POST', '/apps/app/webhook/enable', { provider: 'github' })
    assert.equal((await deploy(agent, 'app')).status, 'live')
    await agent.kill()

    const c2 = repo.commit({ 'version.txt': 'v2\n' }, 'v2')
    repo.git('tag', 'v0.2.0', c2)
    repo.git('push', '--quiet', 'origin', 'v0.2.0')
    agent = await startAgent({ home, relay })
    const newest = async (trigger: string) =>
      until(async () => {
        const [last] = (await agent.api('GET', '/apps/app/deployments?limit=1')).body
        return last?.trigger === trigger && last
      }, `the ${trigger} deployment`)
    const converged = await finished(agent, 'app', (await newest('converge')).id)
    assert.deepEqual([converged.status, converged.commit, converged.ref], ['live', c2, 'v0.2.0'])
    await answers(port, 'v2')

    // Untagged commits do not deploy; the next tag does, on the poll.
    repo.commit({ 'version.txt': 'v3\n' }, 'v3')
    const c4 = repo.commit({ 'version.txt': 'v4\n' }, 'v4')
    repo.git('tag', 'v0.3.0', c4)
    repo.git('push', '--quiet', 'origin', 'v0.3.0')
    const polled = await finished(agent, 'app', (await newest('poll')).id)
    assert.deepEqual([polled.status, polled.commit, polled.ref], ['live', c4, 'v0.3.0'])
    await answers(port, 'v4')
    await agent.kill()
  })
})

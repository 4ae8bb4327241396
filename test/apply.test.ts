// `toehold apply FILE` and `toehold export` through the real CLI and a real agent: a file brings
// the apps to it (created, deployed), a second run changes nothing, export → apply is a no-op,
// a dry run changes nothing, a restart happens only for settings the process sees, --prune
// removes what the file does not name, secrets come from references, and a bad file is refused
// with its file, line and field before anything changed.
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { assertNoLeak, freePort, startAgent } from './helpers/agent.ts'
import { toehold } from './helpers/cli.ts'
import { answer, answers, appRepo, finished } from './helpers/deploy.ts'
import { tempDir } from './helpers/procs.ts'

const T = { timeout: 180_000 }
/** A secret reference as the file writes it: "${NAME}". */
const ref = (name: string) => `\${${name}}`

describe('toehold apply', { concurrency: true }, () => {
  test(
    'brings the apps to the file, idempotently; export round-trips; restarts only when needed',
    T,
    async (t) => {
      const agent = await startAgent()
      t.after(() => agent.kill())
      const dir = tempDir('toehold-apply-')
      const web = appRepo()
      const tagged = appRepo()
      tagged.git('tag', 'v1.0.0', tagged.first)
      tagged.git('push', '--quiet', 'origin', 'v1.0.0')
      const [webPort, taggedPort] = [await freePort(), await freePort()]
      const dbUrl = 'postgres://user:hunter2-db-password@localhost/web'
      const token = 'token-from-a-file-0123456789'
      writeFileSync(join(dir, 'web.token'), `${token}\n`)
      const env = { WEB_DB: dbUrl }

      const file = join(dir, 'toehold.toml')
      const webRemote = web.remote
      type Changes = {
        health?: string
        greeting?: string
        port?: number
        hostname?: string
        track?: string
      }
      const write = (web: Changes = {}) =>
        writeFileSync(
          file,
          `# two apps
[[apps]]
name = "web"
repo = "${webRemote}"
port = ${web.port ?? webPort}
health = "${web.health ?? '/'}"
poll = "5m"
${web.hostname ? `hostname = "${web.hostname}"\n` : ''}
[apps.env]
DATABASE_URL = "\${WEB_DB}"
GREETING = "${web.greeting ?? 'hello'}"
GIT_TOKEN = { file = "web.token" }

[apps.webhook]
provider = "github"

[[apps]]
name = "tagged"
repo = "${tagged.remote}"
track = "${web.track ?? 'tags:v*'}"
port = ${taggedPort}
`,
        )
      write()

      const dry = await toehold(agent.home, ['apply', file, '--dry-run'], { env })
      assert.equal(dry.code, 0, dry.stderr)
      assert.match(dry.stdout, /^create web\n/)
      assert.match(dry.stdout, /\n {4}env\.DATABASE_URL +set\n/)
      assert.match(dry.stdout, /\ndry run: nothing changed$/m)
      assert.deepEqual((await agent.api('GET', '/apps')).body, [], 'the dry run changed nothing')

      const first = await toehold(agent.home, ['apply', file, '--json'], { env })
      assert.equal(first.code, 0, first.stderr)
      assert.deepEqual(
        first.json.steps.map((s: { app: string; action: string }) => [s.app, s.action]),
        [
          ['web', 'create'],
          ['tagged', 'create'],
        ],
      )
      assert.deepEqual(
        first.json.webhooks.map((h: { app: string; provider: string }) => [h.app, h.provider]),
        [['web', 'github']],
      )
      assert.equal(first.json.webhooks[0].secret.length, 43)
      for (const { app, deployment } of first.json.deployments)
        assert.equal((await finished(agent, app, deployment)).status, 'live')
      const started = await answers(webPort, 'v1')
      assert.equal(started.sawGitToken, false)
      await answers(taggedPort, 'v1')
      const settings = (await agent.api('GET', '/apps/web')).body
      assert.deepEqual(
        [settings.port, settings.health, settings.webhook.enabled],
        [webPort, '/', true],
      )
      const vars = (await agent.api('GET', '/env?app=web')).body
      assert.deepEqual(vars, { DATABASE_URL: dbUrl, GIT_TOKEN: token, GREETING: 'hello' })
      assert.equal((await agent.api('GET', '/apps/tagged')).body.track, 'tags:v*')

      const again = await toehold(agent.home, ['apply', file, '--json'], { env })
      assert.deepEqual(
        again.json.steps.map((s: { action: string }) => s.action),
        ['unchanged', 'unchanged'],
      )
      assert.deepEqual([again.json.webhooks, again.json.deployments], [[], []])
      const human = await toehold(agent.home, ['apply', file], { env })
      assert.equal(human.stdout, 'unchanged: web, tagged\nnothing to change\n')

      // export → apply changes nothing, and the export holds no secret.
      const exported = await toehold(agent.home, ['export'])
      assert.equal(exported.code, 0, exported.stderr)
      for (const secret of [dbUrl, token, first.json.webhooks[0].secret])
        assert.ok(!exported.stdout.includes(secret), 'no secret in the export')
      assert.match(exported.stdout, /\nDATABASE_URL = "\$\{WEB_DATABASE_URL\}"\n/)
      assert.match(exported.stdout, /\ntrack = "tags:v\*"\n/)
      const copy = join(dir, 'exported.toml')
      writeFileSync(copy, exported.stdout)
      const roundTrip = await toehold(agent.home, ['apply', copy, '--json'], {
        env: { WEB_DATABASE_URL: dbUrl, WEB_GIT_TOKEN: token, WEB_GREETING: 'hello' },
      })
      assert.equal(roundTrip.code, 0, roundTrip.stderr)
      assert.deepEqual(
        roundTrip.json.steps.map((s: { action: string }) => s.action),
        ['unchanged', 'unchanged'],
      )

      // A dry run of real changes lists them and changes nothing.
      const otherPort = await freePort()
      write({ port: otherPort, health: '/healthz', greeting: 'bonjour', hostname: 'web.home.arpa' })
      const plan = await toehold(agent.home, ['apply', file, '--dry-run', '--json'], { env })
      assert.deepEqual(plan.json.steps[0], {
        app: 'web',
        action: 'update',
        changes: [
          { field: 'port', from: String(webPort), to: String(otherPort) },
          { field: 'health', from: '/', to: '/healthz' },
          { field: 'hostname', from: null, to: 'web.home.arpa' },
          { field: 'env.GREETING', from: 'set', to: 'set' },
        ],
        restart: true,
        deploy: false,
        notes: [],
      })
      assert.equal((await agent.api('GET', '/apps/web')).body.port, webPort)
      assert.equal((await agent.api('GET', '/env?app=web')).body.GREETING, 'hello')

      // A setting the process does not see: no restart.
      write({ health: '/healthz' })
      const quiet = await toehold(agent.home, ['apply', file, '--json'], { env })
      assert.deepEqual([quiet.json.steps[0].action, quiet.json.steps[0].restart], ['update', false])
      assert.equal((await agent.api('GET', '/apps/web')).body.health, '/healthz')
      assert.equal((await answer(webPort))?.pid, started.pid, 'not restarted')

      // One it sees: a restart, with the new value.
      write({ health: '/healthz', greeting: 'bonjour' })
      const loud = await toehold(agent.home, ['apply', file, '--json'], { env })
      assert.deepEqual([loud.json.steps[0].action, loud.json.steps[0].restart], ['update', true])
      assert.equal((await agent.api('GET', '/env?app=web')).body.GREETING, 'bonjour')
      const restarted = await answer(webPort)
      assert.ok(restarted && restarted.pid !== started.pid, 'restarted')

      // What an app tracks changed: it deploys again (the same newest tag here: unchanged).
      write({ health: '/healthz', greeting: 'bonjour', track: 'tags:v1.*' })
      const retracked = await toehold(agent.home, ['apply', file, '--json'], { env })
      assert.deepEqual(retracked.json.steps[1].changes, [
        { field: 'track', from: 'tags:v*', to: 'tags:v1.*' },
      ])
      assert.deepEqual(
        [retracked.json.steps[1].deploy, retracked.json.steps[1].restart],
        [true, false],
      )
      const [redeploy] = retracked.json.deployments
      assert.equal(redeploy.app, 'tagged')
      assert.equal((await finished(agent, 'tagged', redeploy.deployment)).status, 'unchanged')

      // An app the file no longer names stays unless --prune.
      const text = readFileSync(file, 'utf8')
      writeFileSync(file, text.slice(0, text.lastIndexOf('[[apps]]')))
      const kept = await toehold(agent.home, ['apply', file, '--json'], { env })
      assert.deepEqual(kept.json.unlisted, ['tagged'])
      assert.equal((await agent.api('GET', '/apps/tagged')).status, 200)
      const pruned = await toehold(agent.home, ['apply', file, '--prune', '--json'], { env })
      assert.deepEqual(
        pruned.json.steps.map((s: { app: string; action: string }) => [s.app, s.action]),
        [
          ['web', 'unchanged'],
          ['tagged', 'remove'],
        ],
      )
      assert.equal((await agent.api('GET', '/apps/tagged')).status, 404)
      assert.equal(await answer(taggedPort), null)

      // A new public port: the agent's listener moves there and the old port is free.
      const current = readFileSync(file, 'utf8')
      writeFileSync(file, current.replace(`port = ${webPort}`, `port = ${otherPort}`))
      const moved = await toehold(agent.home, ['apply', file, '--json'], { env })
      assert.equal(moved.code, 0, moved.stderr)
      assert.ok(await answer(otherPort), 'served on the new port')
      assert.equal(await answer(webPort), null, 'the old port is free')

      assertNoLeak(agent, { dbUrl, token })
    },
  )

  test('refuses a bad file with its file, line and field, and changes nothing', T, async (t) => {
    const agent = await startAgent()
    t.after(() => agent.kill())
    const dir = tempDir('toehold-apply-')
    const repo = appRepo()
    const app = (body: string) => `[[apps]]\nname = "web"\nrepo = "${repo.remote}"\n${body}`
    const cases: [string, string, string | RegExp, NodeJS.ProcessEnv?][] = [
      ['syntax', app('port = = 3\n'), /^toehold: FILE:4:8: invalid value\n/],
      ['unknown field', app('port = 3000\nprot = 3001\n'), 'FILE:5: apps[0].prot: unknown field'],
      [
        'wrong type',
        app('port = "3000"\n'),
        'FILE:4: apps[0].port: expected number, received string',
      ],
      [
        'a token in the wrong field',
        app('strategy = "ghp_0123456789abcdefghij0123456789abcd"\n'),
        'FILE:4: apps[0].strategy: expected one of "blue-green" | "restart"',
      ],
      [
        'a token as a branch',
        app('branch = "ghp_0123456789abcdefghij 0123456789abcd"\n'),
        'FILE:4: apps[0].branch: not a valid branch name',
      ],
      ['missing field', '\n[[apps]]\nname = "web"\nport = 3000\n', 'FILE:2: apps[0].repo: missing'],
      [
        'duplicate name',
        `${app('')}\n${app('')}`,
        `FILE:6: apps[1].name: name "web" is already apps[0]'s`,
      ],
      [
        'duplicate port',
        `${app('port = 3000\n')}\n${app('port = 3000\n').replace('"web"', '"api"')}`,
        "FILE:9: apps[1].port: port 3000 is already apps[0]'s",
      ],
      [
        'both branch and track',
        app('branch = "main"\ntrack = "tags:v*"\n'),
        'FILE:4: apps[0].branch: give branch or track, not both',
      ],
      [
        'a hostname without a port',
        app('hostname = "blog.home.arpa"\n'),
        'FILE:4: apps[0].hostname: needs a port: the app listens on PORT behind its hostname',
      ],
      [
        'a bad tag pattern',
        app('track = "v*"\n'),
        'FILE:4: apps[0].track: must be tags:PATTERN (e.g. tags:v*)',
      ],
      [
        'a literal secret',
        app(
          '[apps.env]\nMODE = "production"\nGITHUB_TOKEN = "ghp_0123456789abcdefghij0123456789abcd"\n',
        ),
        `FILE:6: apps[0].env.GITHUB_TOKEN: looks like a secret written in the file; reference it instead: "${ref('GITHUB_TOKEN')}" (from the environment) or { file = "~/.config/toehold/github_token" }`,
      ],
      [
        'a token-shaped value',
        app('[apps.env]\nSOMETHING = "glpat-abcdefghijklmnopqrst"\n'),
        /^toehold: FILE:5: apps\[0\]\.env\.SOMETHING: looks like a secret written in the file/,
      ],
      [
        'an unset reference',
        app(`[apps.env]\nDB = "postgres://${ref('DB_USER')}@localhost"\n`),
        `FILE:5: apps[0].env.DB: ${ref('DB_USER')} is not set in the environment`,
      ],
      [
        'a missing secret file',
        app('env = { TOKEN = { file = "nope.token" } }\n'),
        'FILE:4: apps[0].env.TOKEN: cannot read nope.token: ENOENT',
      ],
      [
        'credentials in the repo URL',
        '[[apps]]\nname = "web"\nrepo = "https://me:ghs_secret@github.com/me/web"\n',
        /^toehold: FILE:3: apps\[0\]\.repo: a URL with credentials would be shown in status and the dashboard: .*GIT_TOKEN/,
      ],
      [
        'a remote that does not answer',
        '[[apps]]\nname = "web"\nrepo = "/nonexistent/repo.git"\n',
        /^toehold: FILE:3: apps\[0\]\.repo: cannot reach \/nonexistent\/repo\.git: /,
      ],
    ]
    await Promise.all(
      cases.map(async ([what, text, expected, env]) => {
        const file = join(dir, `${what.replaceAll(' ', '-')}.toml`)
        writeFileSync(file, text)
        const result = await toehold(agent.home, ['apply', file], env ? { env } : {})
        assert.equal(result.code, 1, what)
        const stderr = result.stderr.replaceAll(file, 'FILE')
        if (typeof expected === 'string') assert.equal(stderr, `toehold: ${expected}\n`, what)
        else assert.match(stderr, expected, what)
        for (const secret of ['ghp_0123', 'ghs_secret'])
          assert.ok(!stderr.includes(secret), 'the secret is not echoed')
      }),
    )
    assert.deepEqual((await agent.api('GET', '/apps')).body, [], 'nothing changed')
  })
})

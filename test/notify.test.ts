// Deploy notifications: targets added, listed, tested and removed through the CLI; a finished
// deployment posted in each format, the json one verifiable with the standardwebhooks library;
// a target that answers 500 or never answers is retried, then given up, the deploy unaffected.
import assert from 'node:assert/strict'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import { Webhook } from 'standardwebhooks'
import { type Agent, freePort, startAgent } from './helpers/agent.ts'
import { toehold } from './helpers/cli.ts'
import { addApp, appRepo, deploy } from './helpers/deploy.ts'
import { stopAll } from './helpers/procs.ts'
import { until } from './helpers/wait.ts'

type Received = { path: string; headers: IncomingHttpHeaders; body: string }

/** A receiver that records every request; /500 always fails, /hang never answers. */
async function startReceiver() {
  const received: Received[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      body += chunk
    })
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body })
      if (req.url === '/hang') return
      res.writeHead(req.url === '/500' ? 500 : 204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

let agent: Agent
let receiver: Awaited<ReturnType<typeof startReceiver>>

before(async () => {
  receiver = await startReceiver()
  agent = await startAgent({
    env: { TOEHOLD_REPORT_BACKOFF_MS: '20', TOEHOLD_REPORT_TIMEOUT_MS: '300' },
  })
})
after(async () => {
  // SIGTERM first: the agent stops its apps (stopAll's SIGKILL would leave them running).
  await agent?.kill()
  await stopAll()
  await receiver.close()
})

const notify = (...args: string[]) => toehold(agent.home, ['notify', ...args])

test('json targets are signed per Standard Webhooks, the secret shown once; test and remove work', async () => {
  const repo = appRepo()
  await addApp(agent, 'site', repo, { port: await freePort() })
  const added = await notify(
    'add',
    `${receiver.url}/hooks/secret-path`,
    '--app',
    'site',
    '--on',
    'all',
    '--json',
  )
  assert.equal(added.code, 0, added.stderr)
  assert.match(added.json.secret, /^whsec_[A-Za-z0-9+/]{43}=$/)
  assert.equal(added.json.url, `${receiver.url}/…`, 'the path (often a secret itself) is not shown')
  const listed = await notify('list', '--json')
  assert.equal(listed.json.length, 1)
  assert.equal(JSON.stringify(listed.json).includes('whsec_'), false)

  const live = await deploy(agent, 'site')
  assert.equal(live.status, 'live')
  const got = await until(
    () => receiver.received.find((r) => r.path === '/hooks/secret-path'),
    'the notification',
  )
  const verified = new Webhook(added.json.secret).verify(
    got.body,
    got.headers as Record<string, string>,
  ) as Record<string, unknown>
  assert.equal(verified.type, 'deployment.live')
  assert.equal(verified.app, 'site')
  assert.equal(verified.deployment, live.id)
  assert.equal(verified.commit, repo.first)
  assert.throws(() =>
    new Webhook(`whsec_${Buffer.alloc(32).toString('base64')}`).verify(
      got.body,
      got.headers as Record<string, string>,
    ),
  )

  const tested = await notify('test', String(added.json.id))
  assert.equal(tested.code, 0, tested.stderr)
  assert.match(tested.stdout, /took the test notification/)
  const test = receiver.received.at(-1)
  assert.ok(test)
  assert.equal(
    (
      new Webhook(added.json.secret).verify(test.body, test.headers as Record<string, string>) as {
        type: string
      }
    ).type,
    'deployment.test',
  )

  const removed = await notify('remove', String(added.json.id))
  assert.equal(removed.code, 0, removed.stderr)
  assert.equal((await notify('list', '--json')).json.length, 0)
})

test('a failed deployment is posted to Slack, Discord and ntfy targets; live-only targets stay quiet', async () => {
  const repo = appRepo({ 'mode.txt': 'predeploy-fail\n' })
  await addApp(agent, 'broken', repo, { port: await freePort() })
  for (const format of ['slack', 'discord', 'ntfy']) {
    const added = await notify(
      'add',
      `${receiver.url}/${format}`,
      '--format',
      format,
      '--app',
      'broken',
      '--json',
    )
    assert.equal(added.code, 0, added.stderr)
    assert.equal(added.json.secret, null)
  }
  assert.equal(
    (await notify('add', `${receiver.url}/quiet`, '--on', 'live', '--app', 'broken')).code,
    0,
  )
  const failed = await deploy(agent, 'broken')
  assert.equal(failed.status, 'failed')
  const by = (path: string) => until(() => receiver.received.find((r) => r.path === path), path)
  const slack = JSON.parse((await by('/slack')).body)
  assert.match(slack.text, /^❌ broken [0-9a-f]{7} failed at building: /)
  const discord = JSON.parse((await by('/discord')).body)
  assert.match(discord.content, /^❌ broken [0-9a-f]{7} failed at building: /)
  const ntfy = await by('/ntfy')
  assert.equal(ntfy.headers.title, 'toehold: broken')
  assert.equal(ntfy.headers.priority, 'high')
  assert.match(ntfy.body, /failed at building/)
  // The failure notices all went out in the same step: a live-only target would have had one by now.
  assert.equal(
    receiver.received.some((r) => r.path === '/quiet'),
    false,
  )
})

test('a target that answers 500 or never answers is retried, then given up; the deploy is unaffected', async () => {
  const repo = appRepo()
  await addApp(agent, 'steady', repo, { port: await freePort() })
  for (const path of ['/500', '/hang']) {
    assert.equal(
      (await notify('add', `${receiver.url}${path}`, '--app', 'steady', '--on', 'live')).code,
      0,
    )
  }
  const gaveUp = [
    agent.waitFor((line) => line.msg === 'notification given up' && line.reason === 'answered 500'),
    agent.waitFor((line) => line.msg === 'notification given up' && line.reason === 'timed out'),
  ]
  const live = await deploy(agent, 'steady')
  assert.equal(live.status, 'live')
  const [five, hang] = await Promise.all(gaveUp)
  assert.equal(String(five?.to), receiver.url, 'the log names the target only up to its host')
  assert.ok(hang)
  assert.equal(
    receiver.received.filter((r) => r.path === '/500').length,
    4,
    'four attempts, then no more',
  )
  assert.equal(receiver.received.filter((r) => r.path === '/hang').length, 4)
})

test('bad input: an unknown format, a URL with credentials, a target id that is not there', async () => {
  const format = await notify('add', `${receiver.url}/x`, '--format', 'email')
  assert.equal(format.code, 1)
  assert.match(format.stderr, /--format must be one of json, slack, discord, ntfy/)
  const creds = await notify('add', 'https://user:pass@example.com/x')
  assert.equal(creds.code, 1)
  assert.match(creds.stderr, /not user:password@/)
  const gone = await notify('test', '999')
  assert.equal(gone.code, 1)
  assert.match(gone.stderr, /no notification target 999/)
  const app = await notify('add', `${receiver.url}/x`, '--app', 'nope')
  assert.equal(app.code, 1)
  assert.match(app.stderr, /no app "nope"/)
})

// Serving through the agent: a WebSocket and an SSE stream opened before a deploy live through the
// switch (the WebSocket until the drain timeout), a release that binds the public port itself,
// two apps claiming one port or hostname, the shared --http-port routing by Host, the forwarded
// headers, --strategy restart, and an agent killed with SIGKILL taking its ports back.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, request } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { type Agent, freePort, startAgent } from './helpers/agent.ts'
import { toehold } from './helpers/cli.ts'
import { addApp, alive, answers, appProcesses, appRepo, deploy } from './helpers/deploy.ts'
import { tempDir } from './helpers/procs.ts'
import { show, startTraffic } from './helpers/traffic.ts'
import { until } from './helpers/wait.ts'

const T = { timeout: 90_000 }
const DRAIN_MS = 2500

/** GET through `port` with a Host header: status, headers and body. */
function get(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk) => {
          body += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      })
      req.on('error', reject)
      req.end()
    },
  )
}

describe('serving apps', { concurrency: true }, () => {
  let agent: Agent
  let httpPort: number
  before(async () => {
    httpPort = await freePort()
    agent = await startAgent({
      env: {
        TOEHOLD_DRAIN: `${DRAIN_MS}ms`,
        TOEHOLD_HEALTH_TIMEOUT: '3s',
        TOEHOLD_HTTP_PORT: String(httpPort),
      },
    })
  })
  after(() => agent.kill())

  test(
    'a WebSocket and an SSE stream opened before a deploy live through the switch',
    T,
    async () => {
      const repo = appRepo()
      const port = await freePort()
      await addApp(agent, 'streams', repo, { port })
      assert.equal((await deploy(agent, 'streams')).status, 'live')

      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`)
      await once(ws, 'open')
      const replies: string[] = []
      ws.addEventListener('message', (event) => replies.push(String(event.data)))
      const closed = once(ws, 'close')
      ws.send('before')
      // 40 events 50 ms apart: the stream outlives the switch, not the drain.
      const sse = get(port, '/sse?n=40&every=50', { accept: 'text/event-stream' })

      repo.commit({ 'version.txt': 'v2\n' }, 'v2')
      const switched = await deploy(agent, 'streams')
      assert.equal(switched.status, 'live')
      const liveAt = Date.parse(switched.finishedAt ?? '')
      ws.send('after the switch')
      await until(() => replies.length === 2, 'two replies')
      assert.deepEqual(
        replies,
        ['v1: before', 'v1: after the switch'],
        'the old release still talks',
      )
      const fresh = new WebSocket(`ws://127.0.0.1:${port}/ws`)
      await once(fresh, 'open')
      fresh.send('hello')
      const [greeting] = (await once(fresh, 'message')) as [MessageEvent]
      assert.equal(greeting.data, 'v2: hello', 'new connections go to the new release')
      fresh.close()

      const stream = await sse
      assert.equal(stream.status, 200)
      assert.equal(stream.headers['content-type'], 'text/event-stream')
      const events = stream.body.trim().split('\n\n')
      assert.deepEqual(
        events,
        Array.from({ length: 40 }, (_, i) => `data: v1 ${i}`),
        'the stream completed intact, from the old release',
      )

      await closed
      const openFor = Date.now() - liveAt
      assert.ok(openFor >= DRAIN_MS - 200, `closed by the drain timeout, after ${openFor} ms`)
      const metrics = (await agent.api('GET', '/metrics')).body as string
      assert.match(metrics, /toehold_app_drains_total\{app="streams",result="cut"\} 1/)
    },
  )

  test('a release that binds the public port itself fails at starting, saying so', T, async () => {
    const port = await freePort()
    await addApp(agent, 'hardwired', appRepo({ 'mode.txt': 'public-port\n' }), {
      port,
      env: { PUBLIC_PORT: String(port) },
    })
    const failed = await deploy(agent, 'hardwired')
    assert.deepEqual([failed.status, failed.stage], ['failed', 'starting'])
    assert.match(
      failed.reason ?? '',
      new RegExp(
        `^the release tried to listen on port ${port} itself: toehold holds hardwired's public port ${port} and passes each release a private port in PORT; listen on process.env.PORT`,
      ),
    )
    const refused = await get(port, '/', { accept: 'application/json' })
    assert.equal(refused.status, 503)
    assert.equal(refused.headers['retry-after'], '5')
    assert.deepEqual(JSON.parse(refused.body), {
      error: 'hardwired is not serving right now: it has not been deployed yet',
      app: 'hardwired',
    })
  })

  test('two apps cannot claim one port or one hostname', T, async () => {
    const port = await freePort()
    const add = (name: string, ...flags: string[]) =>
      toehold(agent.home, ['app', 'add', name, '--repo', appRepo().remote, '--json', ...flags])
    assert.equal(
      (await add('first', '--port', String(port), '--hostname', 'first.home.arpa')).code,
      0,
    )
    const samePort = await add('second', '--port', String(port))
    assert.equal(samePort.code, 1)
    assert.equal(samePort.json.error, `port ${port} is already first's: give second another --port`)
    const sameHost = await add(
      'third',
      '--port',
      String(await freePort()),
      '--hostname',
      'FIRST.home.arpa',
    )
    assert.equal(sameHost.code, 1)
    assert.equal(
      sameHost.json.error,
      "hostname first.home.arpa is already first's: give third another --hostname",
    )
    const taken = await add('fourth', '--port', String(httpPort))
    assert.equal(taken.code, 1)
    assert.match(
      taken.json.error,
      new RegExp(`^fourth: port ${httpPort} is in use by another program$`),
    )
    const bad = await add('fifth', '--port', String(await freePort()), '--strategy', 'rolling')
    assert.equal(bad.code, 1)
    assert.match(bad.json.error, /^--strategy must be one of: blue-green, restart$/)
    const apps = (await agent.api('GET', '/apps')).body.map((a: { app: string }) => a.app)
    assert.ok(!apps.includes('second') && !apps.includes('third') && !apps.includes('fourth'))
  })

  test(
    '--http-port routes by Host; unknown hosts get a 404 page; forwarded headers',
    T,
    async () => {
      for (const name of ['blog', 'shop']) {
        const added = await agent.api('POST', '/apps', {
          name,
          repo: appRepo({ 'version.txt': `${name}\n` }).remote,
          port: await freePort(),
          hostname: `${name}.home.arpa`,
        })
        assert.equal(added.status, 201, JSON.stringify(added.body))
        assert.equal((await deploy(agent, name)).status, 'live')
      }
      for (const name of ['blog', 'shop']) {
        const got = await get(httpPort, '/', { host: `${name}.home.arpa:${httpPort}` })
        assert.equal(got.status, 200)
        const body = JSON.parse(got.body)
        assert.equal(body.version, name)
        assert.equal(body.headers.host, `${name}.home.arpa:${httpPort}`, 'Host kept')
        assert.equal(body.headers['x-forwarded-host'], `${name}.home.arpa:${httpPort}`)
        assert.equal(body.headers['x-forwarded-proto'], 'http')
        assert.equal(body.headers['x-forwarded-for'], '127.0.0.1')
      }
      const spoofed = await get(httpPort, '/', {
        host: 'blog.home.arpa',
        'x-forwarded-for': '6.6.6.6',
        connection: 'keep-alive, x-secret-hop',
        'x-secret-hop': 'dropped',
      })
      const seen = JSON.parse(spoofed.body).headers
      assert.equal(seen['x-forwarded-for'], '127.0.0.1', "the client's own value is not trusted")
      assert.equal(seen['x-secret-hop'], undefined, 'headers named by Connection are hop-by-hop')

      const unknown = await get(httpPort, '/', { host: 'nope.home.arpa', accept: 'text/html' })
      assert.equal(unknown.status, 404)
      assert.match(unknown.headers['content-type'] as string, /^text\/html/)
      assert.match(unknown.body, /No app answers to this name here\./)
      assert.doesNotMatch(unknown.body, /blog|shop/, 'names no app')
    },
  )

  test(
    '--strategy restart: stop, then start; the gap answers 503 with Retry-After',
    T,
    async () => {
      const repo = appRepo()
      const port = await freePort()
      const added = await agent.api('POST', '/apps', {
        name: 'single',
        repo: repo.remote,
        port,
        strategy: 'restart',
      })
      assert.equal(added.status, 201)
      assert.equal((await deploy(agent, 'single')).status, 'live')
      await answers(port, 'v1')
      const traffic = startTraffic(port, 2)
      repo.commit({ 'version.txt': 'v2\n' }, 'v2')
      const second = await deploy(agent, 'single')
      assert.equal(second.status, 'live')
      assert.equal(typeof second.timings.stop, 'number', 'the old one stopped first')
      await answers(port, 'v2')
      const tally = await traffic.stop()
      assert.deepEqual(Object.keys(tally.errors), [], `nothing refused: ${show(tally)}`)
      assert.equal(tally.bare503, 0)
      assert.ok(tally.codes[200], show(tally))
    },
  )
})

/** An agent in a home of its own with the fixture app live (v1) on a port of its own. */
async function deployedApp() {
  const home = tempDir('toehold-home-')
  const agent = await startAgent({ home })
  const port = await freePort()
  await addApp(agent, 'app', appRepo(), { port })
  assert.equal((await deploy(agent, 'app')).status, 'live')
  return { home, agent, port }
}

test(
  'an agent killed with SIGKILL takes its port back and serves the recovered release',
  T,
  async () => {
    let { home, agent, port } = await deployedApp()
    const v1 = await answers(port, 'v1')
    const before = appProcesses(home, 'app')
    await agent.kill('SIGKILL')

    agent = await startAgent({ home })
    try {
      const after = await answers(port, 'v1')
      assert.notEqual(after.pid, v1.pid, 'the stray was ended, the release started again')
      for (const { pid } of before) assert.equal(alive(pid), false, `${pid} ended`)
      assert.equal(
        new Set(appProcesses(home, 'app').map((p) => p.release)).size,
        1,
        'one copy of the app',
      )
    } finally {
      await agent.kill()
    }
  },
)

test(
  'a port another program took while the agent was down is served once that program lets go',
  T,
  async () => {
    let { home, agent, port } = await deployedApp()
    assert.deepEqual(await agent.kill('SIGTERM'), { code: 0, signal: null })

    const squatter = createServer((_req, res) => res.end('squatter'))
    await new Promise<void>((resolve) => squatter.listen({ port }, resolve))
    agent = await startAgent({ home })
    try {
      const refused = await agent.waitFor(
        (line) => line.msg?.startsWith('cannot serve the app') === true,
        'the agent saying it cannot take the port',
      )
      assert.match(String(refused.reason), new RegExp(`port ${port} is in use by another program`))
      const status = await toehold(home, ['status', 'app', '--json'])
      assert.equal(status.json.state, 'running', 'the release runs meanwhile')
      assert.equal((await get(port, '/')).body, 'squatter')

      await new Promise((resolve) => squatter.close(resolve))
      await agent.waitFor(
        (line) => line.msg === 'serving the app: its port is free again',
        'the agent taking the port',
      )
      await answers(port, 'v1')
    } finally {
      squatter.close()
      await agent.kill()
    }
  },
)

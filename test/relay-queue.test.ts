// The relay's durable queue as real processes: queued while away and replayed in order, sealed on
// disk, surviving SIGKILL, at-least-once redelivery, reply timeouts, and graceful SIGTERM.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, describe, test } from 'node:test'
import type { Answer } from '../agent/tunnel/client.ts'
import { connected, startAgent } from './helpers/agent.ts'
import { type EchoAgent, echo, type Handler, hold, startEchoAgent } from './helpers/echo-agent.ts'
import { json, postJson, send } from './helpers/http.ts'
import { scrape, value } from './helpers/metrics.ts'
import { closePeers } from './helpers/peers.ts'
import { type RelayProc, startRelay, stopAll } from './helpers/procs.ts'
import { assertNoSecret, marker, readTree } from './helpers/secrets.ts'

after(async () => {
  closePeers()
  await stopAll()
})

const T = { timeout: 45_000 }

/** An echo agent that registered once and went away again: its deliveries now queue. */
async function awayAgent(relay: RelayProc): Promise<EchoAgent> {
  const agent = await startEchoAgent(relay)
  await agent.welcomes.count(1)
  agent.close()
  await agent.closed()
  await relay.waitFor(
    (line) => line.msg === 'agent disconnected' && line.instance === agent.instance,
    'agent disconnected',
  )
  return agent
}

/** POSTs and expects `202 {"status":"queued","delivery":"dlv_…"}`; returns the delivery id. */
async function postQueued(url: string, body: Buffer, headers: Record<string, string> = {}) {
  const res = await send(url, { headers, body })
  assert.equal(res.status, 202, res.body.toString())
  const answer = json(res) as { status: string; delivery: string }
  assert.deepEqual(Object.keys(answer).sort(), ['delivery', 'status'])
  assert.equal(answer.status, 'queued')
  assert.match(answer.delivery, /^dlv_[\w-]{21}$/)
  return answer.delivery
}

/** Polls a condition the relay exposes no event for (here: acknowledgements via /metrics). */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** Lets pending microtasks and socket writes of this process run (not a timed wait). */
const tick = () => new Promise((resolve) => setImmediate(resolve))

describe('queue', () => {
  test(
    'queues while the agent is away and replays in arrival order after reconnect',
    T,
    async () => {
      const relay = await startRelay()
      const away = await awayAgent(relay)
      const sent: { id: string; body: Buffer }[] = []
      for (let i = 0; i < 40; i++) {
        const body = i % 3 === 0 ? randomBytes(i * 997) : Buffer.from(JSON.stringify({ i }))
        sent.push({ id: await postQueued(away.webhookUrl('app'), body), body })
      }
      const back = await startEchoAgent(relay, { home: away.home })
      const [welcome] = await back.welcomes.count(1)
      assert.equal(welcome?.queued, sent.length)
      const got = await back.received.count(sent.length)
      assert.deepEqual(
        got.map((r) => r.delivery.id),
        sent.map((s) => s.id),
      )
      for (const [i, r] of got.entries()) assert.ok(r.body.equals(sent[i]?.body as Buffer), `#${i}`)
      // Answered = acknowledged: after the agent leaves, nothing is left.
      back.close()
      await relay.waitFor(
        (line) => line.msg === 'agent disconnected' && line.instance === back.instance,
      )
      const metrics = await scrape(relay.url)
      assert.equal(value(metrics, 'toehold_relay_queue_depth'), 0)
      assert.equal(value(metrics, 'toehold_relay_deliveries_total', { outcome: 'replayed' }), 40)
      await relay.kill()
    },
  )

  test('the data directory never holds a body, header value or token', T, async () => {
    const relay = await startRelay()
    const away = await awayAgent(relay)
    const secrets = {
      body: marker('BODY'),
      header: marker('HEADER'),
      bearer: marker('BEARER'),
      gitlab: marker('GITLAB'),
      query: marker('QUERY'),
    }
    const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', note: secrets.body }))
    await postQueued(`${away.webhookUrl('app')}?q=${secrets.query}`, body, {
      'x-marker': secrets.header,
      authorization: `Bearer ${secrets.bearer}`,
      'x-gitlab-token': secrets.gitlab,
    })
    const check = (when: string) => {
      const files = readTree(relay.dataDir)
      assert.ok(
        files.some((f) => f.path.endsWith('relay.db')),
        'relay.db exists',
      )
      assert.doesNotThrow(() => assertNoSecret(secrets, { dirs: [relay.dataDir] }), when)
      return files
    }
    // While running (the write-ahead log holds the newest pages) and after a clean stop.
    const running = check('running')
    assert.ok(
      running.some((f) => f.path.endsWith('relay.db-wal')),
      'the WAL was inspected too',
    )
    const logs = JSON.stringify(relay.lines) + relay.stderr
    for (const secret of Object.values(secrets)) assert.equal(logs.includes(secret), false)
    assert.equal((await relay.kill()).code, 0)
    check('stopped')

    // It was stored all the same: sealed, and the agent opens it.
    const again = await startRelay({ dataDir: relay.dataDir })
    const back = await startEchoAgent(again, { home: away.home })
    const [got] = await back.received.count(1)
    assert.ok(got?.body.equals(body))
    assert.equal(got?.delivery.headers['x-marker'], secrets.header)
    assert.equal(got?.delivery.headers.authorization, `Bearer ${secrets.bearer}`)
    assert.equal(got?.delivery.headers['x-gitlab-token'], secrets.gitlab)
    assert.equal(got?.delivery.query, `q=${secrets.query}`)
    back.close()
    await again.kill()
  })

  test('a relay killed with SIGKILL loses no queued delivery', T, async () => {
    const relay = await startRelay()
    const away = await awayAgent(relay)
    const ids: string[] = []
    for (let i = 0; i < 12; i++) {
      ids.push(await postQueued(away.webhookUrl('app'), Buffer.from(`delivery ${i}`)))
    }
    assert.equal((await relay.kill('SIGKILL')).signal, 'SIGKILL')
    const again = await startRelay({ dataDir: relay.dataDir })
    const back = await startEchoAgent(again, { home: away.home })
    const got = await back.received.count(ids.length)
    assert.deepEqual(
      got.map((r) => r.delivery.id),
      ids,
    )
    assert.deepEqual(
      got.map((r) => r.body.toString()),
      ids.map((_, i) => `delivery ${i}`),
    )
    back.close()
    await again.kill()
  })
})

describe('at least once', () => {
  test('queued deliveries left unanswered come again; answered ones do not', T, async () => {
    const relay = await startRelay()
    const away = await awayAgent(relay)
    const ids: string[] = []
    for (let i = 0; i < 6; i++)
      ids.push(await postQueued(away.webhookUrl('app'), Buffer.from(`${i}`)))
    // This agent answers the even ones and dies holding the odd ones.
    const answered: string[] = []
    const partial = await startEchoAgent(relay, {
      home: away.home,
      handler: async (delivery, body) => {
        if (Number(body.toString()) % 2 === 1) return hold(delivery, body)
        answered.push(delivery.id)
        return echo(delivery, body)
      },
    })
    await partial.received.count(6)
    await tick()
    assert.equal(answered.length, 3)
    partial.close()
    await relay.waitFor(
      (line) => line.msg === 'agent disconnected' && line.instance === partial.instance,
    )
    const back = await startEchoAgent(relay, { home: away.home })
    const [welcome] = await back.welcomes.count(1)
    assert.equal(welcome?.queued, 3)
    const got = await back.received.count(3)
    assert.deepEqual(
      got.map((r) => r.delivery.id),
      [ids[1], ids[3], ids[5]],
    )
    back.close()
    await relay.kill()
  })

  test('a live delivery the agent never answered is queued and comes again', T, async () => {
    const relay = await startRelay()
    const first = await startEchoAgent(relay, { handler: hold })
    await first.welcomes.count(1)
    const pending = postJson(first.webhookUrl('app'), { n: 1 })
    const [live] = await first.received.count(1)
    first.close() // dies with the delivery in hand
    const res = await pending
    assert.equal(res.status, 202)
    assert.deepEqual(json(res), { status: 'queued', delivery: live?.delivery.id })
    const back = await startEchoAgent(relay, { home: first.home })
    const [again] = await back.received.count(1)
    assert.equal(again?.delivery.id, live?.delivery.id)
    assert.ok(again?.body.equals(live?.body as Buffer))
    back.close()
    await relay.kill()
  })

  test('a real agent SIGKILLed while deliveries wait gets them all after restart', T, async () => {
    const relay = await startRelay()
    const agent = await startAgent({ relay })
    await connected(agent)
    assert.equal((await agent.kill('SIGKILL')).signal, 'SIGKILL')
    await relay.waitFor(
      (line) => line.msg === 'agent disconnected' && line.instance === agent.instance,
    )
    const ids: string[] = []
    for (let i = 0; i < 3; i++) {
      ids.push(await postQueued(agent.webhookUrl('app'), Buffer.from(`{"n":${i}}`)))
    }
    const restarted = await startAgent({ relay, home: agent.home })
    assert.equal(restarted.instance, agent.instance)
    const welcome = await connected(restarted)
    assert.equal(welcome.queued, 3)
    // The agent answers each (404 until it knows the app), which acknowledges it.
    await eventually(async () => {
      const metrics = await scrape(relay.url)
      return (
        value(metrics, 'toehold_relay_deliveries_total', { outcome: 'replayed' }) === 3 &&
        value(metrics, 'toehold_relay_queue_depth') === 0
      )
    }, 'the three replayed deliveries acknowledged')
    await restarted.kill()
    await relay.kill()
  })
})

describe('reply timeout', () => {
  test('a slow agent: the sender gets 202; a late result still acknowledges', T, async () => {
    const relay = await startRelay({ env: { RELAY_REPLY_TIMEOUT_MS: '300' } })
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => (release = resolve))
    const answered: string[] = []
    const handler: Handler = async (delivery, body): Promise<Answer> => {
      if (body.toString() === 'never') return hold(delivery, body)
      await gate
      answered.push(delivery.id)
      return echo(delivery, body)
    }
    const slow = await startEchoAgent(relay, { handler })
    await slow.welcomes.count(1)

    const late = await postQueued(slow.webhookUrl('app'), Buffer.from('late'))
    const never = await postQueued(slow.webhookUrl('app'), Buffer.from('never'))
    assert.deepEqual(
      slow.received.items.map((r) => r.delivery.id),
      [late, never],
      'both were sent live, and neither again on this connection',
    )
    release()
    await gate
    await tick()
    assert.deepEqual(answered, [late])
    slow.close()
    await relay.waitFor(
      (line) => line.msg === 'agent disconnected' && line.instance === slow.instance,
    )

    // The late answer removed `late`; `never` is delivered again on the next connection.
    const back = await startEchoAgent(relay, { home: slow.home })
    const [welcome] = await back.welcomes.count(1)
    assert.equal(welcome?.queued, 1)
    const [again] = await back.received.count(1)
    assert.equal(again?.delivery.id, never)
    back.close()
    await relay.kill()
  })
})

describe('SIGTERM', () => {
  test(
    'answers in-flight requests, closes tunnels with 1012, agents come straight back',
    T,
    async (t) => {
      const relay = await startRelay()
      const port = new URL(relay.url).port
      const agent = await startAgent({ relay })
      await connected(agent)
      // Backoff jitter at its largest, so only an immediate reconnect can be quick (below).
      const random = Math.random
      Math.random = () => 0.999
      t.after(() => {
        Math.random = random
      })
      let calls = 0
      const echoAgent = await startEchoAgent(relay, {
        handler: (delivery, body) => (++calls === 1 ? hold(delivery, body) : echo(delivery, body)),
      })
      await echoAgent.welcomes.count(1)

      const inFlight = postJson(echoAgent.webhookUrl('app'), { in: 'flight' })
      const [live] = await echoAgent.received.count(1)
      const exit = relay.kill('SIGTERM')
      const res = await inFlight
      assert.equal(res.status, 202)
      assert.deepEqual(json(res), { status: 'queued', delivery: live?.delivery.id })
      assert.deepEqual(await exit, { code: 0, signal: null })

      const closed = await agent.waitFor((line) => line.msg === 'tunnel closed')
      assert.equal(closed.code, 1012)
      const echoClosed = await echoAgent.closed()
      assert.equal(echoClosed.code, 1012)
      // 1012 means "reconnect at once": the first attempt (refused: the relay is still down)
      // follows the close without the backoff, which would be ~500 ms here.
      const retry = await echoAgent.logs.until(
        (line) =>
          line.msg === 'tunnel error' && (line.time as number) >= (echoClosed.time as number),
      )
      const after = (retry.time as number) - (echoClosed.time as number)
      assert.ok(after < 250, `first reconnect attempt ${after} ms after the close`)

      const again = await startRelay({ dataDir: relay.dataDir, args: ['--port', port] })
      await connected(agent, 2)
      const [, replayed] = await echoAgent.received.count(2)
      assert.equal(replayed?.delivery.id, live?.delivery.id)
      echoAgent.close()
      await agent.kill()
      await again.kill()
    },
  )
})

// The relay as a real process: live forwarding, byte-exact bodies, isolation between instances,
// replaced connections, routing errors, malformed frames on both ends, heartbeats, metrics.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { ClientOptions, WebSocket } from 'ws'
import { encodeFrame } from '../shared/frame.ts'
import { PROTOCOL_VERSION, parseMessage } from '../shared/protocol.ts'
import { connected, startAgent } from './helpers/agent.ts'
import { authHeaders, connectToken, makeKeys, type Opened, rawConnect } from './helpers/connect.ts'
import { ECHO_BODY_LIMIT, type EchoAgent, sha256, startEchoAgent } from './helpers/echo-agent.ts'
import { startFakeRelay } from './helpers/fake-relay.ts'
import { json, postJson, send } from './helpers/http.ts'
import { family, scrape, value } from './helpers/metrics.ts'
import { closePeers } from './helpers/peers.ts'
import { REGISTRATION_TOKEN, type RelayProc, startRelay, stopAll } from './helpers/procs.ts'
import { Waitable } from './helpers/wait.ts'

after(async () => {
  closePeers()
  await stopAll()
})

const T = { timeout: 30_000 }

/** A hand-made agent that registered and got its welcome. */
async function rawAgent(
  relayUrl: string,
  options: ClientOptions = {},
): Promise<Opened & { instance: string }> {
  const keys = await makeKeys()
  const opened = await rawConnect(
    relayUrl,
    authHeaders(await connectToken(keys, relayUrl), REGISTRATION_TOKEN),
    options,
  )
  assert.ok(opened.ok, `connect refused: ${JSON.stringify(opened)}`)
  return Object.assign(opened, { instance: keys.instance })
}

describe('relay forwarding', () => {
  let relay: RelayProc
  let echoAgent: EchoAgent
  before(async () => {
    relay = await startRelay()
    echoAgent = await startEchoAgent(relay)
    await echoAgent.welcomes.count(1)
  })
  after(async () => {
    echoAgent.close()
    await relay.kill()
  })

  test("answers the sender with the agent's status, content type and body", T, async () => {
    const agent = await startAgent({ relay })
    await connected(agent)
    const res = await postJson(agent.webhookUrl('nosuchapp'), { zen: 'Keep it logically awesome.' })
    assert.equal(res.status, 404)
    assert.equal(res.headers['content-type'], 'application/json')
    assert.equal(res.body.toString(), '{"error":"unknown app"}')
    await agent.kill()
  })

  test('carries non-UTF-8, empty and multi-MB bodies byte for byte, both ways', T, async () => {
    const invalidUtf8 = Buffer.concat([
      Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc]),
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      Buffer.from([0xed, 0xa0, 0x80, 0x00, 0x0d, 0x0a]),
    ])
    const bodies = [invalidUtf8, Buffer.alloc(0), randomBytes(5 * 1024 ** 2 + 3)]
    for (const body of bodies) {
      const res = await send(echoAgent.webhookUrl('bytes'), {
        headers: { 'content-type': 'application/octet-stream' },
        body,
      })
      assert.equal(res.status, 200)
      assert.equal(res.headers['content-type'], 'application/octet-stream')
      const got = echoAgent.received.items.find(
        (r) => r.delivery.id === res.headers['x-echo-delivery'],
      )
      assert.ok(got, 'the agent saw the delivery')
      assert.ok(got.body.equals(body), `agent got ${got.body.length} bytes, sent ${body.length}`)
      assert.equal(res.headers['x-echo-sha256'], sha256(body))
      assert.equal(res.headers['x-echo-length'], String(body.length))
      if (body.length <= ECHO_BODY_LIMIT) assert.ok(res.body.equals(body), 'reply body intact')
    }
    // Chunked (no Content-Length) arrives the same.
    const chunks = [invalidUtf8, randomBytes(70_000), Buffer.from([0x80])]
    const res = await send(echoAgent.webhookUrl('bytes'), { body: chunks })
    assert.equal(res.status, 200)
    assert.ok(res.body.equals(Buffer.concat(chunks)))
  })

  test('gives the agent method, app, query string and headers as sent', T, async () => {
    const before = Date.now()
    const res = await send(`${echoAgent.webhookUrl('my-app_2')}?a=1&b=x%20y&a=2&empty=`, {
      headers: {
        'Content-Type': 'application/json',
        'X-GitHub-Event': 'push',
        'X-Repeated': ['one', 'two'],
        'User-Agent': 'GitHub-Hookshot/04ab3c1',
      },
      body: Buffer.from('{"ref":"refs/heads/main"}'),
    })
    assert.equal(res.status, 200)
    const { delivery } = await echoAgent.received.until(
      (r) => r.delivery.id === res.headers['x-echo-delivery'],
    )
    assert.match(delivery.id, /^dlv_[\w-]{21}$/)
    assert.equal(delivery.method, 'POST')
    assert.equal(delivery.app, 'my-app_2')
    assert.equal(delivery.query, 'a=1&b=x%20y&a=2&empty=')
    assert.equal(delivery.headers['content-type'], 'application/json')
    assert.equal(delivery.headers['x-github-event'], 'push')
    assert.equal(delivery.headers['x-repeated'], 'one, two')
    assert.equal(delivery.headers['user-agent'], 'GitHub-Hookshot/04ab3c1')
    for (const name of Object.keys(delivery.headers)) assert.equal(name, name.toLowerCase())
    for (const hop of ['host', 'content-length', 'connection', 'transfer-encoding']) {
      assert.equal(delivery.headers[hop], undefined, `${hop} is not forwarded`)
    }
    assert.match(delivery.remote, /127\.0\.0\.1$/)
    assert.ok(delivery.receivedAt >= before && delivery.receivedAt <= Date.now())
  })

  test("never hands one instance's deliveries to another", T, async () => {
    const other = await startEchoAgent(relay)
    await other.welcomes.count(1)
    const mineBefore = echoAgent.received.items.length
    const ids: string[] = []
    for (let i = 0; i < 3; i++) {
      const res = await postJson(other.webhookUrl('app'), { i })
      assert.equal(res.status, 200)
      ids.push(res.headers['x-echo-delivery'] as string)
    }
    assert.deepEqual(
      other.received.items.map((r) => r.delivery.id),
      ids,
    )
    // And the reverse: this one's delivery reaches only this one.
    const mine = await postJson(echoAgent.webhookUrl('app'))
    assert.equal(mine.status, 200)
    assert.equal(other.received.items.length, 3)
    assert.deepEqual(
      echoAgent.received.items.slice(mineBefore).map((r) => r.delivery.id),
      [mine.headers['x-echo-delivery']],
    )
    other.close()
  })

  test('a second connection of the same instance replaces the first with 4409', T, async () => {
    const keys = await makeKeys()
    const first = await rawConnect(
      relay.url,
      authHeaders(await connectToken(keys, relay.url), REGISTRATION_TOKEN),
    )
    assert.ok(first.ok)
    // A known instance reconnects with its key alone.
    const second = await rawConnect(relay.url, authHeaders(await connectToken(keys, relay.url)))
    assert.ok(second.ok)
    assert.equal((await first.closed).code, 4409)
    // Deliveries now go to the second connection, which answers them.
    second.ws.on('message', (data: Buffer) => {
      const parsed = parseMessage(data)
      if (parsed?.message.t !== 'delivery') return
      second.ws.send(
        encodeFrame(
          { t: 'result', id: parsed.message.id, status: 201, headers: { 'x-conn': 'second' } },
          Buffer.from('taken'),
        ),
      )
    })
    const res = await postJson(`${relay.url}/hooks/${keys.instance}/app`)
    assert.equal(res.status, 201)
    assert.equal(res.headers['x-conn'], 'second')
    assert.equal(res.body.toString(), 'taken')
    second.ws.close()
  })

  test('unknown instances and malformed app names are 404', T, async () => {
    for (const instance of ['aaaaaaaaaaaaaaaaaaaa', 'short', 'AAAAAAAAAAAAAAAAAAAA']) {
      const res = await postJson(`${relay.url}/hooks/${instance}/app`)
      assert.equal(res.status, 404, instance)
      assert.deepEqual(json(res), { error: 'unknown instance' })
    }
    const seen = echoAgent.received.items.length
    const base = echoAgent.webhookUrl('').slice(0, -1)
    for (const app of ['a%2Fb', '%01', 'a%00b', 'a%0Ab', 'UPPER', '-x', 'a.b', 'x'.repeat(64)]) {
      const res = await postJson(`${base}/${app}`)
      assert.equal(res.status, 404, app)
      assert.deepEqual(json(res), { error: 'unknown app' }, app)
    }
    for (const path of ['..', '.', '%2e%2e', '../app', 'a/b']) {
      const res = await postJson(`${base}/${path}`)
      assert.equal(res.status, 404, path)
      assert.equal(typeof (json(res) as { error: unknown }).error, 'string')
    }
    assert.equal(echoAgent.received.items.length, seen, 'none reached the agent')
  })

  test(
    'a malformed frame from an agent closes that socket with 1002, nothing else',
    T,
    async () => {
      const garbage: (Buffer | string)[] = [
        Buffer.from([0x00, 0x00, 0x00]),
        Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7b]),
        Buffer.concat([Buffer.from([0, 0, 0, 4]), Buffer.from('nope')]),
        encodeFrame({ t: 'result', id: 'dlv_x', status: 99, headers: {} }),
        encodeFrame({ t: 'result', id: 42 }),
        'a text frame',
      ]
      for (const frame of garbage) {
        const peer = await rawAgent(relay.url)
        // An unknown frame type is ignored: the socket stays open and keeps working.
        peer.ws.send(encodeFrame({ t: 'from-the-future', v: 99 }))
        peer.ws.send(frame, { binary: typeof frame !== 'string' })
        const { code } = await peer.closed
        assert.equal(code, 1002, `closed with ${code} after ${JSON.stringify(frame)}`)
      }
      const res = await send(`${relay.url}/health`, { method: 'GET' })
      assert.equal(res.status, 200)
      const forwarded = await postJson(echoAgent.webhookUrl('still-here'))
      assert.equal(forwarded.status, 200, 'other agents are still served')
      assert.equal(relay.child.exitCode, null)
    },
  )

  test('an unknown frame type is ignored, not treated as an error', T, async () => {
    const peer = await rawAgent(relay.url)
    peer.ws.send(encodeFrame({ t: 'from-the-future', v: 99 }, Buffer.from([1, 2, 3])))
    peer.ws.on('message', (data: Buffer) => {
      const parsed = parseMessage(data)
      if (parsed?.message.t === 'delivery') {
        peer.ws.send(encodeFrame({ t: 'result', id: parsed.message.id, status: 204, headers: {} }))
      }
    })
    const res = await postJson(`${relay.url}/hooks/${peer.instance}/app`)
    assert.equal(res.status, 204)
    peer.ws.close()
    assert.equal((await peer.closed).code, 1005)
  })

  test('/health is public and answers {"ok":true}', T, async () => {
    const res = await send(`${relay.url}/health`, { method: 'GET' })
    assert.equal(res.status, 200)
    assert.deepEqual(json(res), { ok: true })
  })
})

describe('agent against a misbehaving relay', () => {
  test('logs malformed frames, reconnects and stays alive', T, async (t) => {
    const fake = await startFakeRelay({ welcome: false })
    t.after(() => fake.close())
    const { sockets, url: fakeUrl } = fake
    const closes = (ws: WebSocket) =>
      new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
    const agent = await startAgent({ relay: { url: fakeUrl } })

    const garbage: (Buffer | string)[] = [
      Buffer.from('not a frame at all'),
      'text is not our protocol',
      encodeFrame({ t: 'delivery', id: 7 }),
    ]
    for (const [i, frame] of garbage.entries()) {
      const ws = (await sockets.count(i + 1))[i] as WebSocket
      const closed = closes(ws)
      ws.send(frame, { binary: typeof frame !== 'string' })
      assert.equal(await closed, 1002)
    }
    const ws = (await sockets.count(garbage.length + 1))[garbage.length] as WebSocket
    const results = new Waitable<Buffer>()
    ws.on('message', (data: Buffer) => results.push(data))
    ws.send(
      encodeFrame({
        t: 'welcome',
        v: PROTOCOL_VERSION,
        instance: agent.instance,
        publicUrl: fakeUrl,
        queued: 1,
      }),
    )
    await connected(agent)
    // A queued delivery that does not open with the agent's key is answered (so it leaves the
    // queue), not fatal.
    ws.send(encodeFrame({ t: 'sealed', id: 'dlv_sealedgarbage', receivedAt: 1 }, randomBytes(64)))
    const result = await results.until((data) => parseMessage(data)?.message.t === 'result')
    const parsed = parseMessage(result)
    assert.equal(parsed?.message.t, 'result')
    assert.equal(parsed.message.t === 'result' && parsed.message.status, 400)
    assert.equal(parsed.message.t === 'result' && parsed.message.id, 'dlv_sealedgarbage')

    const warned = agent.lines.filter((line) => line.msg === 'malformed frame from relay')
    assert.equal(warned.length, garbage.length)
    assert.equal(agent.child.exitCode, null)
    await agent.kill()
  })
})

describe('heartbeats', () => {
  const beat = 200

  test('the relay drops an agent that stops answering pings', T, async () => {
    const relay = await startRelay({ env: { RELAY_HEARTBEAT_MS: String(beat) } })
    // A client that never pongs.
    const silent = await rawAgent(relay.url, { autoPong: false })
    const since = Date.now()
    await relay.waitFor(
      (line) => line.msg === 'agent disconnected' && line.instance === silent.instance,
    )
    await silent.closed
    const elapsed = Date.now() - since
    assert.ok(elapsed < beat * 8, `dropped after ${elapsed} ms`)

    // A real agent process that is frozen (SIGSTOP) stops answering too.
    const agent = await startAgent({ relay, env: { TOEHOLD_HEARTBEAT_MS: String(beat) } })
    await connected(agent)
    agent.child.kill('SIGSTOP')
    const frozenAt = Date.now()
    try {
      await relay.waitFor(
        (line) => line.msg === 'agent disconnected' && line.instance === agent.instance,
      )
      const frozenFor = Date.now() - frozenAt
      assert.ok(frozenFor < beat * 8, `dropped after ${frozenFor} ms`)
      const metrics = await scrape(relay.url)
      assert.equal(value(metrics, 'toehold_relay_agents_connected'), 0)
    } finally {
      agent.child.kill('SIGCONT')
    }
    // Thawed, it notices and comes back.
    await connected(agent, 2)
    await agent.kill()
    await relay.kill()
  })

  test('the agent drops a relay that stops answering pings', T, async (t) => {
    const fake = await startFakeRelay({ autoPong: false })
    t.after(() => fake.close())
    const agent = await startAgent({ relay: fake, env: { TOEHOLD_HEARTBEAT_MS: String(beat) } })
    await connected(agent)
    const since = Date.now()
    await agent.waitFor((line) => line.msg === 'tunnel closed')
    const elapsed = Date.now() - since
    assert.ok(elapsed < beat * 8, `dropped after ${elapsed} ms`)
    await connected(agent, 2)
    await agent.kill()
  })
})

describe('metrics', () => {
  const token = 'metrics-bearer-0123456789'
  let relay: RelayProc
  before(async () => {
    relay = await startRelay({ env: { RELAY_METRICS_TOKEN: token, RELAY_RATE_INSTANCE: '3' } })
  })
  after(() => relay.kill())

  test('/metrics needs the bearer token when RELAY_METRICS_TOKEN is set', T, async () => {
    for (const authorization of [undefined, 'Bearer wrong', `Token ${token}`, token]) {
      const res = await send(`${relay.url}/metrics`, {
        method: 'GET',
        headers: authorization ? { authorization } : {},
      })
      assert.equal(res.status, 401, String(authorization))
      assert.equal(res.body.includes('toehold_relay'), false)
    }
    const res = await send(`${relay.url}/metrics`, {
      method: 'GET',
      headers: { authorization: `Bearer ${token}` },
    })
    assert.equal(res.status, 200)
    assert.match(String(res.headers['content-type']), /^text\/plain/)
  })

  test('Prometheus text whose values follow what happens', T, async () => {
    const start = await scrape(relay.url, token)
    assert.equal(family(start, 'toehold_relay_agents_connected').type, 'GAUGE')
    assert.equal(family(start, 'toehold_relay_deliveries_total').type, 'COUNTER')
    assert.equal(family(start, 'toehold_relay_forward_duration_seconds').type, 'HISTOGRAM')
    assert.equal(family(start, 'toehold_relay_rate_limited_total').type, 'COUNTER')
    assert.equal(value(start, 'toehold_relay_agents_connected'), 0)
    assert.equal(value(start, 'toehold_relay_queue_depth'), 0)
    assert.equal(value(start, 'toehold_relay_queue_oldest_age_seconds'), 0)

    const agent = await startEchoAgent(relay)
    await agent.welcomes.count(1)
    const live = await scrape(relay.url, token)
    assert.equal(value(live, 'toehold_relay_agents_connected'), 1)

    assert.equal((await postJson(agent.webhookUrl('app'))).status, 200)
    const answered = await scrape(relay.url, token)
    assert.equal(value(answered, 'toehold_relay_deliveries_total', { outcome: 'answered' }), 1)
    const histogram = family(answered, 'toehold_relay_forward_duration_seconds').metrics[0]
    assert.equal(histogram?.count, '1')
    assert.equal(histogram?.buckets?.['+Inf'], '1')
    assert.ok(Number(histogram?.sum) > 0)

    agent.close()
    await agent.closed()
    await relay.waitFor(
      (line) => line.msg === 'agent disconnected' && line.instance === agent.instance,
    )
    const receivedAt = Date.now()
    assert.equal((await postJson(agent.webhookUrl('app'))).status, 202)
    assert.equal((await postJson(`${relay.url}/hooks/aaaaaaaaaaaaaaaaaaaa/app`)).status, 404)
    const queued = await scrape(relay.url, token)
    assert.equal(value(queued, 'toehold_relay_agents_connected'), 0)
    assert.equal(value(queued, 'toehold_relay_deliveries_total', { outcome: 'queued' }), 1)
    assert.equal(
      value(queued, 'toehold_relay_deliveries_total', { outcome: 'unknown_instance' }),
      1,
    )
    assert.equal(value(queued, 'toehold_relay_queue_depth'), 1)
    const age = value(queued, 'toehold_relay_queue_oldest_age_seconds')
    assert.ok(age > 0 && age <= (Date.now() - receivedAt) / 1000 + 1, `oldest age ${age}`)

    assert.equal((await postJson(agent.webhookUrl('app'))).status, 202)
    assert.equal((await postJson(agent.webhookUrl('app'))).status, 429)
    const limited = await scrape(relay.url, token)
    assert.equal(value(limited, 'toehold_relay_rate_limited_total', { scope: 'instance' }), 1)
    assert.equal(value(limited, 'toehold_relay_queue_depth'), 2)
  })
})

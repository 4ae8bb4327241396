// The relay's limits as a real process: body size (with and without Content-Length), per-IP and
// per-instance rate limits (and turning them off), and a full queue that refuses instead of dropping.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { after, describe, test } from 'node:test'
import { type EchoAgent, startEchoAgent } from './helpers/echo-agent.ts'
import { json, postJson, type Response, send } from './helpers/http.ts'
import { scrape, value } from './helpers/metrics.ts'
import { closePeers } from './helpers/peers.ts'
import { type RelayProc, startRelay, stopAll } from './helpers/procs.ts'

after(async () => {
  closePeers()
  await stopAll()
})

const T = { timeout: 30_000 }

async function connectedEchoAgent(relay: RelayProc): Promise<EchoAgent> {
  const agent = await startEchoAgent(relay)
  await agent.welcomes.count(1)
  return agent
}

/** 429 with a whole number of seconds in Retry-After. */
function assertLimited(res: Response) {
  assert.equal(res.status, 429, res.body.toString())
  assert.match(String(res.headers['retry-after']), /^[1-9]\d*$/)
  assert.equal((json(res) as { error: string }).error, 'rate limited')
}

/**
 * POSTs over a raw socket, with Content-Length or (given chunks) chunked, reading the answer while
 * the body is still being written, as curl does: a server may answer 413 early and close without
 * reading the rest, which Node's own client can report as EPIPE instead of the answer.
 */
function earlyAnswer(
  url: string,
  body: Buffer | Buffer[],
): Promise<{ status: number; body: string }> {
  const target = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname)
    let received = ''
    const parse = () => {
      const head = /^HTTP\/1\.1 (\d{3}) [^\r]*\r\n([\s\S]*?)\r\n\r\n/.exec(received)
      const length = head && /^content-length: (\d+)$/im.exec(head[2] as string)?.[1]
      if (!head || length === undefined || length === null) return false
      const start = head[0].length
      if (received.length < start + Number(length)) return false
      resolve({ status: Number(head[1]), body: received.slice(start, start + Number(length)) })
      socket.destroy()
      return true
    }
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      received += chunk
      parse()
    })
    socket.on('error', () => {}) // EPIPE / ECONNRESET once the server stopped reading
    socket.on('close', () => parse() || reject(new Error(`no answer: ${received}`)))
    const framing = Array.isArray(body)
      ? 'Transfer-Encoding: chunked'
      : `Content-Length: ${body.length}`
    socket.write(`POST ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\n${framing}\r\n\r\n`)
    if (!Array.isArray(body)) return void socket.write(body)
    for (const chunk of body)
      socket.write(`${chunk.length.toString(16)}\r\n${chunk.toString('latin1')}\r\n`, 'latin1')
    socket.write('0\r\n\r\n')
  })
}

describe('body size', () => {
  test('RELAY_MAX_BODY: 413 with Content-Length and with a chunked upload', T, async () => {
    const limit = 64 * 1024
    const relay = await startRelay({ env: { RELAY_MAX_BODY: '64k' } })
    const agent = await connectedEchoAgent(relay)
    const url = agent.webhookUrl('app')

    const exact = await send(url, { body: randomBytes(limit) })
    assert.equal(exact.status, 200, 'exactly the limit is fine')
    for (const size of [limit + 1, 4 * 1024 ** 2]) {
      const over = await earlyAnswer(url, randomBytes(size))
      assert.equal(over.status, 413, `${size} bytes`)
      assert.deepEqual(JSON.parse(over.body), { error: 'payload too large', limit })
    }

    // No Content-Length: the relay counts while reading.
    const chunked = (total: number) =>
      Array.from({ length: Math.ceil(total / 8192) }, (_, i) =>
        randomBytes(Math.min(8192, total - i * 8192)),
      )
    const chunkedExact = await send(url, { body: chunked(limit) })
    assert.equal(chunkedExact.status, 200)
    assert.equal(chunkedExact.headers['x-echo-length'], String(limit))
    for (const size of [limit + 1, 4 * 1024 ** 2]) {
      const over = await earlyAnswer(url, chunked(size))
      assert.equal(over.status, 413, `${size} bytes, chunked`)
      assert.deepEqual(JSON.parse(over.body), { error: 'payload too large', limit })
    }

    assert.deepEqual(
      agent.received.items.map((r) => r.body.length),
      [limit, limit],
      'only the two within the limit reached the agent',
    )
    const metrics = await scrape(relay.url)
    assert.equal(value(metrics, 'toehold_relay_deliveries_total', { outcome: 'too_large' }), 4)
    agent.close()
    await relay.kill()
  })
})

describe('rate limits', () => {
  test('RELAY_RATE_IP: the 6th quick request from one address gets 429', T, async () => {
    const relay = await startRelay({ env: { RELAY_RATE_IP: '5', RELAY_RATE_INSTANCE: '0' } })
    const a = await connectedEchoAgent(relay)
    const b = await connectedEchoAgent(relay)
    // Across instances: the address is what counts.
    for (const url of [a, a, a, b, b].map((agent) => agent.webhookUrl('app'))) {
      assert.equal((await postJson(url)).status, 200)
    }
    assertLimited(await postJson(b.webhookUrl('app')))
    assertLimited(await postJson(a.webhookUrl('app')))
    // Checked before the instance is looked up: made-up ids cannot flood the relay's store.
    assertLimited(await postJson(`${relay.url}/hooks/${'a'.repeat(20)}/app`))
    assert.equal(a.received.items.length + b.received.items.length, 5)
    const metrics = await scrape(relay.url)
    assert.equal(value(metrics, 'toehold_relay_rate_limited_total', { scope: 'ip' }), 3)
    a.close()
    b.close()
    await relay.kill()
  })

  test('RELAY_RATE_INSTANCE: the 6th quick request for one instance gets 429', T, async () => {
    const relay = await startRelay({ env: { RELAY_RATE_INSTANCE: '5', RELAY_RATE_IP: '0' } })
    const a = await connectedEchoAgent(relay)
    const b = await connectedEchoAgent(relay)
    for (let i = 0; i < 5; i++) assert.equal((await postJson(a.webhookUrl('app'))).status, 200)
    assertLimited(await postJson(a.webhookUrl('app')))
    // Another instance has its own budget, and RELAY_RATE_IP=0 lets this address go on.
    for (let i = 0; i < 5; i++) assert.equal((await postJson(b.webhookUrl('app'))).status, 200)
    assertLimited(await postJson(b.webhookUrl('app')))
    assert.equal(a.received.items.length, 5)
    assert.equal(b.received.items.length, 5)
    const metrics = await scrape(relay.url)
    assert.equal(value(metrics, 'toehold_relay_rate_limited_total', { scope: 'instance' }), 2)
    a.close()
    b.close()
    await relay.kill()
  })

  test('0 turns both limits off', T, async () => {
    const relay = await startRelay({ env: { RELAY_RATE_IP: '0', RELAY_RATE_INSTANCE: '0' } })
    const agent = await connectedEchoAgent(relay)
    const answers = await Promise.all(
      Array.from({ length: 200 }, () => postJson(agent.webhookUrl('app'))),
    )
    assert.deepEqual(new Set(answers.map((res) => res.status)), new Set([200]))
    agent.close()
    await relay.kill()
  })
})

describe('queue limit', () => {
  test('RELAY_QUEUE_MAX: a full queue answers 503 and drops nothing', T, async () => {
    const relay = await startRelay({ env: { RELAY_QUEUE_MAX: '3' } })
    const away = await connectedEchoAgent(relay)
    away.close()
    await relay.waitFor(
      (line) => line.msg === 'agent disconnected' && line.instance === away.instance,
    )
    const queued: string[] = []
    for (let i = 0; i < 3; i++) {
      const res = await postJson(away.webhookUrl('app'), { i })
      assert.equal(res.status, 202)
      queued.push((json(res) as { delivery: string }).delivery)
    }
    for (let i = 3; i < 5; i++) {
      const res = await postJson(away.webhookUrl('app'), { i })
      assert.equal(res.status, 503)
      assert.match(String(res.headers['retry-after']), /^[1-9]\d*$/)
      assert.deepEqual(json(res), { error: 'queue full' })
    }
    const back = await startEchoAgent(relay, { home: away.home })
    const [welcome] = await back.welcomes.count(1)
    assert.equal(welcome?.queued, 3)
    const got = await back.received.count(3)
    assert.deepEqual(
      got.map((r) => r.delivery.id),
      queued,
    )
    assert.deepEqual(
      got.map((r) => JSON.parse(r.body.toString())),
      [{ i: 0 }, { i: 1 }, { i: 2 }],
    )
    // Room again: with the agent back, a new webhook is answered live.
    const live = await postJson(back.webhookUrl('app'), { i: 5 })
    assert.equal(live.status, 200)
    const metrics = await scrape(relay.url)
    assert.equal(value(metrics, 'toehold_relay_deliveries_total', { outcome: 'queue_full' }), 2)
    back.close()
    await relay.kill()
  })
})

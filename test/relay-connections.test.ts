// Connection-level abuse on a real relay process: a slowloris client, thousands of idle TCP
// connections, and more connections than RELAY_MAX_CONNECTIONS. The timeouts are enforced
// within about a second of their setting, and the relay keeps serving meanwhile.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { after, describe, test } from 'node:test'
import { startEchoAgent } from './helpers/echo-agent.ts'
import { memory, mib, openSocket } from './helpers/hostile.ts'
import { postJson } from './helpers/http.ts'
import { closePeers } from './helpers/peers.ts'
import { startRelay, stopAll } from './helpers/procs.ts'

after(async () => {
  closePeers()
  await stopAll()
})

const T = { timeout: 60_000 }
/** The deadline is the relay's own timer: allow a loaded machine's scheduling on top. */
const CHECK_SLACK_MS = 2_000

/** Resolves when the socket has closed, however (a reset included). */
const closed = (socket: Socket) =>
  new Promise<void>((resolve) => {
    // Read (and drop) what comes: a paused socket never sees the relay's FIN.
    socket.resume()
    socket.on('error', () => {})
    socket.once('close', () => resolve())
  })

describe('connections', () => {
  test('slowloris: headers one byte a second are cut at RELAY_HEADERS_TIMEOUT', T, async () => {
    const relay = await startRelay({ env: { RELAY_HEADERS_TIMEOUT: '2s' } })
    const socket = await openSocket(relay.url)
    const started = performance.now()
    const request = Buffer.from(
      'POST /hooks/aaaaaaaaaaaaaaaaaaaa/app HTTP/1.1\r\nHost: relay\r\nX-Slow: ',
    )
    let at = 0
    const drip = setInterval(() => {
      if (at < request.length && socket.writable) socket.write(request.subarray(at, ++at))
    }, 1000)
    await closed(socket)
    clearInterval(drip)
    const elapsed = performance.now() - started
    assert.ok(elapsed < 2000 + CHECK_SLACK_MS, `cut after ${Math.round(elapsed)} ms`)
    assert.ok(at < 5, `it sent only ${at} bytes`)
    await relay.kill()
  })

  test('a body trickling in is cut at RELAY_REQUEST_TIMEOUT', T, async () => {
    const relay = await startRelay({ env: { RELAY_REQUEST_TIMEOUT: '2s' } })
    const agent = await startEchoAgent(relay)
    await agent.welcomes.count(1)
    const target = new URL(agent.webhookUrl('app'))
    const socket = await openSocket(relay.url)
    const started = performance.now()
    socket.write(`POST ${target.pathname} HTTP/1.1\r\nHost: relay\r\nContent-Length: 1000\r\n\r\n`)
    let sent = 0
    const drip = setInterval(() => {
      if (socket.writable) socket.write('x')
      sent += 1
    }, 250)
    await closed(socket)
    clearInterval(drip)
    const elapsed = performance.now() - started
    assert.ok(elapsed < 2000 + CHECK_SLACK_MS, `cut after ${Math.round(elapsed)} ms`)
    assert.ok(sent < 1000, 'before the body was complete')
    assert.equal(agent.received.items.length, 0, 'nothing half-read was forwarded')
    agent.close()
    await relay.kill()
  })

  test(
    '5,000 idle TCP connections that never send: served meanwhile, all cut, memory bounded',
    T,
    async () => {
      const relay = await startRelay({ env: { RELAY_HEADERS_TIMEOUT: '5s', RELAY_RATE_IP: '0' } })
      const pid = relay.child.pid as number
      const agent = await startEchoAgent(relay)
      await agent.welcomes.count(1)
      const before = memory(pid).rss
      // Each socket's lifetime, from its accept to its close, as the client sees them.
      const lifetimes: Promise<number>[] = []
      const open = async () => {
        const socket = await openSocket(relay.url)
        const at = performance.now()
        lifetimes.push(closed(socket).then(() => performance.now() - at))
        return socket
      }
      // In batches: the listen backlog would otherwise drop SYNs and stretch the test out.
      for (let batch = 0; batch < 20; batch++) {
        await Promise.all(Array.from({ length: 250 }, open))
      }
      assert.equal((await postJson(agent.webhookUrl('app'))).status, 200, 'still forwarding')
      assert.equal((await fetch(`${relay.url}/health`)).status, 200)
      const held = memory(pid).rss - before
      console.log(`5,000 idle connections: relay RSS +${mib(held)} MiB`)
      assert.ok(held < 80 * 1024 ** 2, `${mib(held)} MiB`)
      const longest = Math.max(...(await Promise.all(lifetimes)))
      // Counted from the client's connect: on a busy machine the relay may accept a connection
      // seconds later (the listen backlog), and its deadline starts there. Unbounded, it was never.
      assert.ok(longest < 2 * 5000, `the last was cut after ${Math.round(longest)} ms`)
      assert.equal(
        (await postJson(agent.webhookUrl('app'))).status,
        200,
        'and the agent still works',
      )
      agent.close()
      await relay.kill()
    },
  )

  test(
    'RELAY_MAX_CONNECTIONS: one more is closed unanswered; the ones held still work',
    T,
    async () => {
      const relay = await startRelay({ env: { RELAY_MAX_CONNECTIONS: '20' } })
      const held = await Promise.all(Array.from({ length: 20 }, () => openSocket(relay.url)))
      const extra = connect(Number(new URL(relay.url).port), '127.0.0.1')
      extra.on('error', () => {})
      extra.on('connect', () => extra.write('GET /health HTTP/1.1\r\nHost: relay\r\n\r\n'))
      let answered = false
      extra.on('data', () => {
        answered = true
      })
      await closed(extra)
      assert.equal(answered, false, 'the 21st connection was closed unanswered')
      const [first] = held
      first?.write('GET /health HTTP/1.1\r\nHost: relay\r\n\r\n')
      const [reply] = (await once(first as Socket, 'data')) as [Buffer]
      assert.match(reply.toString(), /^HTTP\/1\.1 200/)
      for (const socket of held) socket.destroy()
      await relay.kill()
    },
  )
})

// The relay's memory under large webhooks, measured from /proc on a real relay process: one
// queued 25 MiB webhook, twenty at once, and an agent that never reads its socket.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, describe, test } from 'node:test'
import { authHeaders, connectToken, makeKeys, rawConnect } from './helpers/connect.ts'
import { type EchoAgent, sha256, startEchoAgent } from './helpers/echo-agent.ts'
import { memory, mib, post, resetPeak, storedQueue } from './helpers/hostile.ts'
import { closePeers } from './helpers/peers.ts'
import { REGISTRATION_TOKEN, type RelayProc, startRelay, stopAll } from './helpers/procs.ts'

after(async () => {
  closePeers()
  await stopAll()
})

const MiB = 1024 ** 2
const T = { timeout: 120_000 }

/** An instance the relay knows whose agent is away: its webhooks are queued. */
async function awayAgent(relay: RelayProc): Promise<EchoAgent> {
  const agent = await startEchoAgent(relay)
  await agent.welcomes.count(1)
  agent.close()
  await relay.waitFor((l) => l.msg === 'agent disconnected' && l.instance === agent.instance)
  return agent
}

describe('memory', () => {
  test('one queued 25 MiB webhook raises peak RSS by at most 3x its size', T, async () => {
    const relay = await startRelay()
    const pid = relay.child.pid as number
    const away = await awayAgent(relay)
    // Warm: the seal, store and intake paths have run once.
    assert.equal((await post(away.webhookUrl('app'), randomBytes(MiB))).status, 202)
    const body = randomBytes(25 * MiB)
    resetPeak(pid)
    const before = memory(pid).rss
    const answer = await post(away.webhookUrl('app'), body)
    assert.equal(answer.status, 202, answer.body)
    const rise = memory(pid).peak - before
    console.log(
      `peak RSS rise for one queued 25 MiB webhook: ${mib(rise)} MiB (${(rise / body.length).toFixed(2)}x)`,
    )
    assert.ok(rise <= 3 * body.length, `${mib(rise)} MiB`)

    const back = await startEchoAgent(relay, { home: away.home })
    const [, big] = await back.received.count(2)
    assert.equal(sha256(big?.body ?? Buffer.alloc(0)), sha256(body))
    back.close()
    await relay.kill()
  })

  test(
    '20 concurrent 25 MiB webhooks: alive, under 256 MB, 202 or 503 + Retry-After each, none stored twice',
    T,
    async () => {
      const relay = await startRelay()
      const pid = relay.child.pid as number
      const away = await awayAgent(relay)
      const bodies = Array.from({ length: 20 }, () => randomBytes(25 * MiB))
      const answers = await Promise.all(bodies.map((body) => post(away.webhookUrl('app'), body)))
      const peak = memory(pid).peak
      console.log(
        `20 concurrent 25 MiB webhooks: peak RSS ${mib(peak)} MiB; ${answers.filter((a) => a.status === 202).length} queued`,
      )
      assert.ok(peak < 256 * MiB, `${mib(peak)} MiB`)
      for (const answer of answers) {
        if (answer.status === 202) continue
        assert.equal(answer.status, 503, answer.body)
        assert.match(answer.headers['retry-after'] ?? '', /^[1-9]\d*$/)
      }
      const accepted = answers.flatMap((answer, i) =>
        answer.status === 202
          ? [{ id: JSON.parse(answer.body).delivery as string, body: bodies[i] as Buffer }]
          : [],
      )
      assert.ok(accepted.length >= 1, 'some got through')
      assert.equal((await fetch(`${relay.url}/health`)).status, 200)
      const stored = storedQueue(relay.dataDir)
      assert.deepEqual(
        stored.map((row) => row.id).sort(),
        accepted.map((a) => a.id).sort(),
        'exactly the accepted ones are stored, each once',
      )

      const back = await startEchoAgent(relay, { home: away.home })
      const got = await back.received.count(accepted.length)
      assert.deepEqual(
        got.map((r) => [r.delivery.id, sha256(r.body)]),
        accepted.map((a) => [a.id, sha256(a.body)]),
      )
      back.close()
      await relay.kill()
    },
  )

  test(
    'an agent that never reads: its deliveries go to the queue, memory stays flat',
    T,
    async () => {
      const relay = await startRelay({ env: { RELAY_REPLY_TIMEOUT_MS: '500' } })
      const pid = relay.child.pid as number
      const keys = await makeKeys()
      const token = await connectToken(keys, relay.url)
      const opened = await rawConnect(relay.url, authHeaders(token, REGISTRATION_TOKEN))
      assert.ok(opened.ok)
      // Stop reading: the relay's writes pile up in the kernel buffers, then in its own.
      const tcp = (opened.ws as unknown as { _socket: import('node:net').Socket })._socket
      tcp.pause()
      const url = `${relay.url}/hooks/${keys.instance}/app`
      const body = randomBytes(4 * MiB)
      const first = await post(url, body)
      assert.equal(first.status, 202, 'not answered: queued')
      resetPeak(pid)
      const before = memory(pid).rss
      const statuses: number[] = []
      const n = 50
      for (let i = 0; i < n; i++) statuses.push((await post(url, body)).status)
      const rise = memory(pid).peak - before
      console.log(`${n} x 4 MiB to an agent that never reads: peak RSS rise ${mib(rise)} MiB`)
      assert.deepEqual(new Set(statuses), new Set([202]))
      assert.equal(storedQueue(relay.dataDir).length, n + 1)
      // Each webhook is held while it is read and sealed (and its garbage until V8 collects
      // it), none piles up behind the socket: sent on, the relay would hold all 200 MiB.
      assert.ok(rise < (n * body.length) / 2, `${mib(rise)} MiB`)
      opened.ws.terminate()
      await relay.kill()
    },
  )
})

// The agent's side of registration, against a real relay through a recording TCP proxy: the
// registration token travels only when the relay does not know the key yet, and a plain ws://
// relay URL is refused unless it is a loopback address.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { type AddressInfo, connect, createServer } from 'node:net'
import { after, describe, test } from 'node:test'
import { connectUrl } from '../agent/tunnel/client.ts'
import { REGISTRATION_HEADER } from '../shared/protocol.ts'
import { startEchoAgent } from './helpers/echo-agent.ts'
import { closePeers } from './helpers/peers.ts'
import { REGISTRATION_TOKEN, spawnToehold, startRelay, stopAll, tempDir } from './helpers/procs.ts'

after(async () => {
  closePeers()
  await stopAll()
})

/** A TCP proxy to `target()` that keeps the head of every request it passes on. */
async function recordingProxy(target: () => number) {
  const heads: string[] = []
  const server = createServer((client) => {
    const upstream = connect(target(), '127.0.0.1')
    let head = ''
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1')
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      heads.push(head.slice(0, end).toLowerCase())
      client.off('data', onData)
    }
    client.on('data', onData)
    client.pipe(upstream).pipe(client)
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    heads,
    close: () => server.close(),
  }
}

describe('registration token', () => {
  test('sent only when the relay does not know the key yet', { timeout: 90_000 }, async () => {
    let relayPort = 0
    const proxy = await recordingProxy(() => relayPort)
    // The agent dials the proxy: that is the relay's public URL (the tokens' audience).
    const relay = await startRelay({ args: ['--public-url', proxy.url] })
    relayPort = Number(new URL(relay.url).port)
    const carries = () => proxy.heads.map((head) => head.includes(`${REGISTRATION_HEADER}:`))

    const first = await startEchoAgent({ url: proxy.url })
    await first.welcomes.count(1)
    assert.deepEqual(carries(), [false, true], 'asked first, registered second')
    assert.ok(proxy.heads[1]?.includes(REGISTRATION_TOKEN.toLowerCase()))
    first.close()

    const again = await startEchoAgent({ url: proxy.url }, { home: first.home })
    await again.welcomes.count(1)
    assert.deepEqual(carries(), [false, true, false], 'a known key never sends it again')
    again.close()
    proxy.close()
  })
})

describe('plain ws://', () => {
  test('refused to anything but a loopback address', { timeout: 90_000 }, async () => {
    for (const ok of [
      'ws://127.0.0.1:8080',
      'ws://localhost:8080',
      'ws://[::1]:8080',
      'wss://relay.example.com',
      'relay.example.com',
      'http://127.0.0.2',
    ]) {
      assert.doesNotThrow(() => connectUrl(ok), ok)
    }
    for (const bad of ['ws://relay.example.com', 'http://192.0.2.1:8080', 'ws://10.0.0.2']) {
      assert.throws(() => connectUrl(bad), /in clear: use wss:\/\//, bad)
    }
    const agent = spawnToehold(
      [
        'agent',
        '--relay',
        'ws://relay.example.com',
        '--home',
        tempDir('toehold-home-'),
        '--api-port',
        '0',
      ],
      { TOEHOLD_REGISTRATION_TOKEN: REGISTRATION_TOKEN },
    )
    const { code } = await agent.exited
    assert.equal(code, 1)
    assert.match(
      agent.stderr,
      /toehold: --relay: ws:\/\/ to relay\.example\.com would carry .* in clear: use wss:\/\//,
    )
  })
})

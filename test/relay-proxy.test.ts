// Client addresses that cannot be forged, on a real relay process: each RELAY_TRUST_PROXY mode
// reads exactly one header (a real Caddy in front for `xff`), IPv6 is limited per /64, a burst
// of failed /connect attempts cannot lock a valid agent out, and the JWT audience is the relay's
// own public host whatever `Host` the request names.
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { freePort } from './helpers/agent.ts'
import { type Caddy, startCaddy } from './helpers/caddy.ts'
import { authHeaders, connectToken, makeKeys, rawConnect } from './helpers/connect.ts'
import { startEchoAgent } from './helpers/echo-agent.ts'
import { send } from './helpers/http.ts'
import { closePeers } from './helpers/peers.ts'
import { REGISTRATION_TOKEN, type RelayProc, startRelay, stopAll } from './helpers/procs.ts'

const caddies: Caddy[] = []
after(async () => {
  closePeers()
  await Promise.all(caddies.map((caddy) => caddy.stop()))
  await stopAll()
})

const T = { timeout: 60_000 }

/** Statuses of webhooks posted one after another with these headers (RELAY_RATE_IP=2). */
async function statuses(url: string, headers: Record<string, string>[]): Promise<number[]> {
  const out: number[] = []
  for (const h of headers) {
    const res = await send(url, {
      headers: { 'content-type': 'application/json', ...h },
      body: Buffer.from('{}'),
    })
    out.push(res.status)
  }
  return out
}

async function relayWithAgent(
  trust: string | undefined,
): Promise<{ relay: RelayProc; url: string }> {
  const relay = await startRelay({
    env: {
      RELAY_RATE_IP: '2',
      RELAY_RATE_INSTANCE: '0',
      ...(trust ? { RELAY_TRUST_PROXY: trust } : {}),
    },
  })
  const agent = await startEchoAgent(relay)
  await agent.welcomes.count(1)
  return { relay, url: agent.webhookUrl('app') }
}

describe('RELAY_TRUST_PROXY', () => {
  test('unset: both headers are ignored, the socket address counts', T, async () => {
    const { url } = await relayWithAgent(undefined)
    assert.deepEqual(
      await statuses(url, [
        { 'fly-client-ip': '203.0.113.1' },
        { 'x-forwarded-for': '203.0.113.2' },
        { 'fly-client-ip': '203.0.113.3', 'x-forwarded-for': '203.0.113.4' },
      ]),
      [200, 200, 429],
    )
  })

  test(
    'fly: only Fly-Client-IP; a forged X-Forwarded-For buys nothing; IPv6 per /64',
    T,
    async () => {
      const { url } = await relayWithAgent('fly')
      assert.deepEqual(
        await statuses(url, [
          { 'fly-client-ip': '203.0.113.1', 'x-forwarded-for': '198.51.100.1' },
          { 'fly-client-ip': '203.0.113.1', 'x-forwarded-for': '198.51.100.2' },
          { 'fly-client-ip': '203.0.113.1', 'x-forwarded-for': '198.51.100.3' },
          { 'fly-client-ip': '203.0.113.2' },
        ]),
        [200, 200, 429, 200],
      )
      assert.deepEqual(
        await statuses(url, [
          { 'fly-client-ip': '2001:db8:1:2::1' },
          { 'fly-client-ip': '2001:db8:1:2:ffff::9' },
          { 'fly-client-ip': '2001:db8:1:2:0:0:0:7' },
          { 'fly-client-ip': '2001:db8:1:3::1' },
        ]),
        [200, 200, 429, 200],
        'one /64 is one client; the next /64 is another',
      )
    },
  )

  test(
    'xff behind a real Caddy: forged Fly-Client-IP and X-Forwarded-For are both ignored',
    T,
    async () => {
      const { relay, url } = await relayWithAgent('xff')
      const caddy = await startCaddy(relay.url)
      caddies.push(caddy)
      const viaCaddy = url.replace(relay.url, caddy.url)
      const forged = (i: number) => ({
        'fly-client-ip': `203.0.113.${i}`,
        'x-forwarded-for': `198.51.100.${i}`,
      })
      assert.deepEqual(
        await statuses(viaCaddy, [forged(1), forged(2), forged(3), forged(4)]),
        [200, 200, 429, 429],
      )
    },
  )

  test('N hops: the N-th X-Forwarded-For entry from the right', T, async () => {
    const { url } = await relayWithAgent('2')
    assert.deepEqual(
      await statuses(url, [
        { 'x-forwarded-for': '192.0.2.1, 203.0.113.1, 10.0.0.1' },
        { 'x-forwarded-for': '192.0.2.2, 203.0.113.1, 10.0.0.2' },
        { 'x-forwarded-for': '192.0.2.3, 203.0.113.1, 10.0.0.3' },
        { 'x-forwarded-for': '203.0.113.2, 10.0.0.1' },
      ]),
      [200, 200, 429, 200],
    )
  })
})

describe('/connect', () => {
  test('a burst of failed upgrades from strangers does not lock a valid agent out', T, async () => {
    const relay = await startRelay({ env: { RELAY_TRUST_PROXY: 'fly' } })
    const agent = await makeKeys()
    const registered = await rawConnect(
      relay.url,
      authHeaders(await connectToken(agent, relay.url), REGISTRATION_TOKEN),
    )
    assert.ok(registered.ok)
    registered.ws.close()
    await registered.closed

    // 150 strangers' attempts at once, from one address like everything behind a proxy: junk
    // tokens, and tokens claiming the agent's instance signed with another key.
    const imposter = await makeKeys()
    const burst = Array.from({ length: 150 }, async (_, i) =>
      rawConnect(relay.url, {
        'fly-client-ip': '203.0.113.66',
        ...authHeaders(i % 2 ? 'junk' : await connectToken(agent, relay.url, { signer: imposter })),
      }),
    )
    const reconnect = rawConnect(relay.url, {
      'fly-client-ip': '198.51.100.7',
      ...authHeaders(await connectToken(agent, relay.url)),
    })
    const [mine, ...theirs] = await Promise.all([reconnect, ...burst])
    assert.ok(mine?.ok, `the agent got in at its first try: ${JSON.stringify(mine)}`)
    mine.ws.close()
    const refusals = theirs.map((r) => (r.ok ? 'open' : r.status))
    assert.ok(!refusals.includes('open'))
    assert.ok(refusals.includes(429), 'the strangers ran out of failed attempts')

    // From the strangers' own address, the instance id they spent waits out its minute (the
    // price of sharing an address with them); another instance from there is not held up.
    const sameAddress = await rawConnect(relay.url, {
      'fly-client-ip': '203.0.113.66',
      ...authHeaders(await connectToken(agent, relay.url)),
    })
    assert.ok(
      sameAddress.ok === false && sameAddress.status === 429,
      'its claimed id is spent there',
    )
    const fresh = await makeKeys()
    const newcomer = await rawConnect(relay.url, {
      'fly-client-ip': '203.0.113.66',
      ...authHeaders(await connectToken(fresh, relay.url), REGISTRATION_TOKEN),
    })
    assert.ok(newcomer.ok, 'another instance from that address is not held up')
    newcomer.ws.close()
  })
})

describe('audience', () => {
  test(
    'pinned to the public URL host: a token for another host is refused whatever Host says',
    T,
    async () => {
      const port = await freePort()
      const publicUrl = `http://localhost:${port}`
      const relay = await startRelay({ args: ['--port', String(port), '--public-url', publicUrl] })
      const keys = await makeKeys()
      const forOther = await connectToken(keys, relay.url, { aud: 'toehold-relay:other.example' })
      const refused = await rawConnect(relay.url, {
        ...authHeaders(forOther, REGISTRATION_TOKEN),
        host: 'other.example',
      })
      assert.ok(!refused.ok && refused.status === 401, JSON.stringify(refused))
      assert.match(String((refused.body as { error: string }).error), /"aud"/)
      // Dialled by its loopback address (Host: 127.0.0.1:port), a token for the public host works.
      const mine = await connectToken(keys, publicUrl)
      const opened = await rawConnect(relay.url, authHeaders(mine, REGISTRATION_TOKEN))
      assert.ok(opened.ok, JSON.stringify(opened))
      opened.ws.close()
    },
  )
})

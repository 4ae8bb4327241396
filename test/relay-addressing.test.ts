// How the relay names itself and its senders: the public URL in every webhook URL (flag, or the
// bound address with a warning), and client addresses taken from a trusted proxy for rate limits.
import assert from 'node:assert/strict'
import { after, it } from 'node:test'
import { connected, startAgent } from './helpers/agent.ts'
import { toehold } from './helpers/cli.ts'
import { startRelay, stopAll } from './helpers/procs.ts'

after(() => stopAll())

it('puts --public-url in webhook URLs, and warns when it has to use the bound address', async () => {
  const named = await startRelay({ args: ['--public-url', 'https://hooks.example.com/'] })
  const agent = await startAgent({ relay: named })
  await Promise.all([connected(agent), agent.waitFor((line) => line.msg === 'local API listening')])
  await toehold(agent.home, ['app', 'add', 'site', '--repo', process.cwd()])
  const hook = await toehold(agent.home, ['webhook', 'enable', 'site', '--json'])
  assert.equal(hook.json.url, `https://hooks.example.com/hooks/${agent.instance}/site`)
  assert.ok(!named.lines.some((line) => line.msg?.includes('no --public-url')))

  const bare = await startRelay()
  const warning = await bare.waitFor((line) => line.msg?.startsWith('no --public-url') ?? false)
  assert.equal(warning.publicUrl, bare.url)
})

/** Posts `n` webhooks claiming to come from `from`; returns their statuses. */
async function post(url: string, n: number, from: string) {
  const statuses: number[] = []
  for (let i = 0; i < n; i++) {
    const res = await fetch(url, {
      method: 'POST',
      body: '{}',
      headers: { 'x-forwarded-for': from },
    })
    await res.arrayBuffer()
    statuses.push(res.status)
  }
  return statuses
}

it('rate-limits by the address a trusted proxy reports, and ignores the header otherwise', async () => {
  const env = { RELAY_RATE_IP: '2', RELAY_RATE_INSTANCE: '0' }
  const trusting = await startRelay({ env: { ...env, RELAY_TRUST_PROXY: '1' } })
  const viaProxy = await startAgent({ relay: trusting })
  await connected(viaProxy)
  const url = viaProxy.webhookUrl('site')
  assert.deepEqual(await post(url, 3, '203.0.113.7'), [404, 404, 429])
  assert.deepEqual(
    await post(url, 2, '198.51.100.9'),
    [404, 404],
    'another client has its own budget',
  )

  const direct = await startRelay({ env })
  const agent = await startAgent({ relay: direct })
  await connected(agent)
  const spoofed = [
    ...(await post(agent.webhookUrl('site'), 2, '203.0.113.7')),
    ...(await post(agent.webhookUrl('site'), 1, '198.51.100.9')),
  ]
  assert.deepEqual(spoofed, [404, 404, 429], 'a forged X-Forwarded-For buys no new budget')
})

// /metrics is not on the internet in the configurations we ship: RELAY_METRICS_ADDR moves it to
// a private port (fly.toml scrapes that port through its [metrics] section, which http_service
// does not publish), and the shipped Caddyfile, run by a real Caddy, answers 404 for it.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { parse } from 'smol-toml'
import { freePort } from './helpers/agent.ts'
import { type Caddy, startCaddy } from './helpers/caddy.ts'
import { ROOT, startRelay, stopAll } from './helpers/procs.ts'

const caddies: Caddy[] = []
after(async () => {
  await Promise.all(caddies.map((caddy) => caddy.stop()))
  await stopAll()
})

const T = { timeout: 30_000 }

test('RELAY_METRICS_ADDR: /metrics there only; the public port answers 404', T, async () => {
  const port = await freePort()
  const relay = await startRelay({ env: { RELAY_METRICS_ADDR: `127.0.0.1:${port}` } })
  assert.equal((await fetch(`${relay.url}/metrics`)).status, 404)
  const scraped = await fetch(`http://127.0.0.1:${port}/metrics`)
  assert.equal(scraped.status, 200)
  assert.match(await scraped.text(), /^# HELP toehold_relay_/m)
  await relay.kill()
})

test('fly.toml scrapes /metrics on a port it does not publish', () => {
  const fly = parse(readFileSync(join(ROOT, 'fly.toml'), 'utf8')) as {
    env: Record<string, string>
    metrics: { port: number; path: string }
    http_service: { internal_port: number }
  }
  assert.equal(fly.metrics.path, '/metrics')
  assert.equal(fly.env.RELAY_METRICS_ADDR, `[::]:${fly.metrics.port}`)
  assert.notEqual(fly.metrics.port, fly.http_service.internal_port)
  assert.equal(fly.env.RELAY_TRUST_PROXY, 'fly')
})

test(
  'the shipped Caddyfile keeps /metrics off the public site and proxies the rest',
  T,
  async () => {
    const relay = await startRelay()
    const shipped = readFileSync(join(ROOT, 'ops/Caddyfile'), 'utf8')
    const block = /\{\n([\s\S]*?)\n\}/.exec(shipped)?.[1] ?? ''
    const caddy = await startCaddy(
      relay.url,
      block.replace('127.0.0.1:8080', new URL(relay.url).host),
    )
    caddies.push(caddy)
    assert.equal((await fetch(`${caddy.url}/metrics`)).status, 404)
    assert.deepEqual(await (await fetch(`${caddy.url}/health`)).json(), { ok: true })
    assert.equal(
      (await fetch(`${relay.url}/metrics`)).status,
      200,
      'still there for a local scraper',
    )
    await relay.kill()
  },
)

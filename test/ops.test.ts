// The shipping files agree with the relay they ship: fly.toml, the systemd units and the
// Caddyfile. (The container's start command runs the installed package: test/package.test.ts.)
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { it } from 'node:test'
import { parse } from 'smol-toml'
import { relayConfig } from '../relay/config.ts'
import { ROOT } from './helpers/procs.ts'

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')
const defaults = relayConfig({}, {})

type Fly = {
  kill_signal: string
  env: Record<string, string>
  mounts: { source: string; destination: string }[]
  http_service: {
    internal_port: number
    auto_stop_machines: string | boolean
    min_machines_running: number
    checks: { path: string; method: string }[]
  }
}

it('fly.toml names the port, volume and health check the relay uses, and never stops machines', () => {
  const fly = parse(read('fly.toml')) as unknown as Fly
  assert.equal(fly.http_service.internal_port, defaults.port)
  assert.equal(Number(fly.env.PORT), defaults.port)
  assert.equal(fly.mounts.length, 1)
  assert.equal(fly.mounts[0]?.destination, fly.env.RELAY_DATA_DIR)
  assert.deepEqual(
    fly.http_service.checks.map((c) => [c.method, c.path]),
    [['GET', '/health']],
  )
  assert.ok(
    fly.http_service.auto_stop_machines === 'off' || fly.http_service.auto_stop_machines === false,
  )
  assert.ok(fly.http_service.min_machines_running >= 1)
  assert.equal(fly.kill_signal, 'SIGTERM')
})

it('the systemd units and the Caddyfile fit together', () => {
  const relay = read('ops/systemd/toehold-relay.service')
  const agent = read('ops/systemd/toehold-agent.service')
  const port = /--port (\d+)/.exec(relay)?.[1]
  assert.match(relay, /^ExecStart=\S*node (--\S+ )*\S*bin\/toehold\.js relay /m)
  assert.match(relay, /^KillSignal=SIGTERM$/m)
  assert.match(agent, /^ExecStart=\S*node (--\S+ )*\S*bin\/toehold\.js agent$/m)
  assert.match(agent, /^KillMode=mixed$/m)
  assert.match(read('ops/Caddyfile'), new RegExp(`reverse_proxy 127\\.0\\.0\\.1:${port}\\b`))
})

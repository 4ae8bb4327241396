// The shipping files agree with the relay they ship: fly.toml, the container's start command,
// the systemd units and the Caddyfile. (No Docker engine runs here, so the container's
// ENTRYPOINT + CMD are run as they are, on this machine.)
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { it } from 'node:test'
import { parse } from 'smol-toml'
import { relayConfig } from '../relay/config.ts'
import { REGISTRATION_TOKEN, ROOT, tempDir } from './helpers/procs.ts'

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

/** Instruction → JSON-array arguments, for the Dockerfile's final stage. */
function dockerfile() {
  const lines = read('Dockerfile').split('\n')
  const final = lines.slice(lines.findLastIndex((line) => line.startsWith('FROM ')))
  const instruction = (name: string) =>
    final.find((line) => line.startsWith(`${name} `))?.slice(name.length + 1)
  return {
    from: final[0]?.slice(5) ?? '',
    entrypoint: JSON.parse(instruction('ENTRYPOINT') ?? '[]') as string[],
    cmd: JSON.parse(instruction('CMD') ?? '[]') as string[],
    healthcheck: JSON.parse(
      instruction('HEALTHCHECK')?.replace(/^.*?CMD /, '') ?? '[]',
    ) as string[],
  }
}

it("the container's start command runs the relay, healthy, and stops cleanly on SIGTERM", async () => {
  const image = dockerfile()
  assert.match(image.from, /^node:24[\w.-]*-slim$/)
  const [entrypoint, ...command] = [...image.entrypoint, ...image.cmd].map((arg) =>
    arg.replace(/^\/app\//, `${ROOT}/`),
  )
  assert.deepEqual(command.slice(-2), ['bin/toehold.ts', 'relay'])
  const env = {
    ...process.env,
    PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH}`,
    PORT: '0',
    RELAY_HOST: '127.0.0.1',
    RELAY_DATA_DIR: join(tempDir(), 'data'),
    RELAY_REGISTRATION_TOKEN: REGISTRATION_TOKEN,
  }
  const relay = spawn(entrypoint as string, command, {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise((resolve) => relay.once('exit', (code) => resolve(code)))
  try {
    const url = await new Promise<string>((resolve, reject) => {
      relay.once('exit', () => reject(new Error('relay exited')))
      createInterface({ input: relay.stdout }).on('line', (text) => {
        const line = JSON.parse(text)
        if (line.msg === 'relay listening') resolve(line.url)
      })
    })
    assert.deepEqual(await (await fetch(`${url}/health`)).json(), { ok: true })
    const [node, ...check] = image.healthcheck
    const health = spawn(node as string, check, { env: { ...env, PORT: new URL(url).port } })
    assert.equal(await new Promise((resolve) => health.once('exit', resolve)), 0)
  } finally {
    relay.kill('SIGTERM')
  }
  assert.equal(await exited, 0)
})

it('the systemd units and the Caddyfile fit together', () => {
  const relay = read('ops/systemd/toehold-relay.service')
  const agent = read('ops/systemd/toehold-agent.service')
  const port = /--port (\d+)/.exec(relay)?.[1]
  assert.match(relay, /^ExecStart=\S*node \S*bin\/toehold\.ts relay /m)
  assert.match(relay, /^KillSignal=SIGTERM$/m)
  assert.match(agent, /^ExecStart=\S*node \S*bin\/toehold\.ts agent$/m)
  assert.match(agent, /^KillMode=mixed$/m)
  assert.match(read('ops/Caddyfile'), new RegExp(`reverse_proxy 127\\.0\\.0\\.1:${port}\\b`))
})

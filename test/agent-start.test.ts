// The agent in the test process: agentConfig reads every setting once with clear errors, and
// startAgent runs a whole agent (no relay) that close() stops without exiting anything.
import assert from 'node:assert/strict'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { pino } from 'pino'
import { agentConfig } from '../agent/config.ts'
import { agentHome } from '../agent/core/home.ts'
import { startAgent } from '../agent/start.ts'
import pkg from '../package.json' with { type: 'json' }
import { tempDir } from './helpers/procs.ts'

const silent = pino({ level: 'silent' })

describe('agentConfig', () => {
  test('flags win over the environment, which wins over the defaults', () => {
    const home = tempDir()
    const config = agentConfig(
      { home, apiPort: '7200' },
      { TOEHOLD_RELAY: 'wss://relay.example.com', TOEHOLD_HOME: '/x' },
    )
    assert.equal(config.home, home)
    assert.equal(config.apiPort, 7200)
    assert.equal(config.relayUrl, 'wss://relay.example.com')
    assert.equal(config.apiHost, '127.0.0.1')
    assert.equal(agentConfig({}, {}).apiPort, 7171)
    assert.equal(agentConfig({}, { TOEHOLD_HEALTH_TIMEOUT: '5s' }).deploy.healthTimeoutMs, 5000)
    assert.equal(agentConfig({}, {}).deploy.healthTimeoutMs, 30_000)
  })

  test('a value that does not read stops the start, naming the setting', () => {
    const cases: [Parameters<typeof agentConfig>, RegExp][] = [
      [[{ apiPort: 'x' }, {}], /^--api-port: expected a whole number, got "x"$/],
      [[{ apiPort: '70000' }, {}], /^--api-port: 70000 is not a port/],
      [[{}, { TOEHOLD_HEARTBEAT_MS: 'soon' }], /^TOEHOLD_HEARTBEAT_MS: expected a whole number/],
      [
        [{}, { TOEHOLD_HEALTH_TIMEOUT: 'forever' }],
        /^TOEHOLD_HEALTH_TIMEOUT: cannot read "forever"/,
      ],
      [[{}, { TOEHOLD_KEEP_RELEASES: '-1' }], /^TOEHOLD_KEEP_RELEASES: expected a whole number/],
    ]
    for (const [args, message] of cases) assert.throws(() => agentConfig(...args), { message })
  })
})

describe('startAgent', () => {
  test('serves the API, writes agent.json (0600, the package version), and closes cleanly', async (t) => {
    const home = join(tempDir(), 'home')
    const agent = await startAgent(agentConfig({ home, apiPort: '0' }, {}), silent)
    t.after(() => agent.close())
    const paths = agentHome(home)
    const info = JSON.parse(readFileSync(paths.agentInfo, 'utf8'))
    assert.deepEqual(
      { api: info.api, instance: info.instance, version: info.version, pid: info.pid },
      { api: agent.apiUrl, instance: agent.instance, version: pkg.version, pid: process.pid },
    )
    assert.equal(statSync(paths.agentInfo).mode & 0o777, 0o600)
    assert.equal(statSync(paths.secrets).mode & 0o777, 0o700)
    const status = await fetch(`${agent.apiUrl}/status`, {
      headers: { authorization: `Bearer ${agent.apiKey}` },
    })
    const body = await status.json()
    assert.ok(['bubblewrap', 'none'].includes(body.sandbox), body.sandbox)
    assert.deepEqual(
      { ...body, sandbox: 'any' },
      {
        instance: agent.instance,
        relay: null,
        sandbox: 'any',
        apps: [],
      },
    )
    await agent.close()
    await assert.rejects(fetch(`${agent.apiUrl}/health`), 'the API is gone')

    // The same home again: the same identity and key, the state reopens.
    const again = await startAgent(agentConfig({ home, apiPort: '0' }, {}), silent)
    t.after(() => again.close())
    assert.equal(again.instance, agent.instance)
    assert.equal(again.apiKey, agent.apiKey)
    await again.close()
  })

  test('an API port in use is a clear error naming the flag', async () => {
    const first = await startAgent(agentConfig({ home: tempDir(), apiPort: '0' }, {}), silent)
    const port = new URL(first.apiUrl).port
    await assert.rejects(startAgent(agentConfig({ home: tempDir(), apiPort: port }, {}), silent), {
      message: `--api-port ${port} is in use (another agent?)`,
    })
    await first.close()
  })
})

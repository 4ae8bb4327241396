// The agent's /metrics after a real deploy behind a real relay: Prometheus text that a real
// exposition-format parser reads, with the series DESIGN.md names moving as they should.
import assert from 'node:assert/strict'
import { it } from 'node:test'
import parsePrometheus from 'parse-prometheus-text-format'
import { connected, freePort, startAgent } from './helpers/agent.ts'
import { addApp, appRepo, deploy } from './helpers/deploy.ts'
import { startRelay } from './helpers/procs.ts'

it('exposes relay connection, app health, restarts, deployments and resources', {
  timeout: 90_000,
}, async () => {
  const relay = await startRelay()
  const agent = await startAgent({ relay })
  try {
    await connected(agent)
    const port = await freePort()
    await addApp(agent, 'shop', appRepo(), { port })
    assert.equal((await deploy(agent, 'shop')).status, 'live')

    const unauthorized = await fetch(`${agent.url}/metrics`)
    assert.equal(unauthorized.status, 401)
    const scraped = await agent.api<string>('GET', '/metrics')
    assert.equal(scraped.status, 200)
    const families = new Map(parsePrometheus(scraped.body).map((family) => [family.name, family]))
    const value = (name: string, labels: Record<string, string> = {}) =>
      Number(
        families
          .get(name)
          ?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
          ?.value,
      )

    assert.equal(value('toehold_agent_relay_connected'), 1)
    assert.equal(value('toehold_app_up', { app: 'shop' }), 1)
    assert.ok(value('toehold_app_pid', { app: 'shop' }) > 0)
    assert.equal(value('toehold_app_restarts_total', { app: 'shop' }) || 0, 0)
    assert.equal(value('toehold_deployments_total', { app: 'shop', result: 'live' }), 1)
    assert.ok(
      value('toehold_app_last_deploy_timestamp_seconds', { app: 'shop' }) > Date.now() / 1000 - 120,
    )
    assert.ok(value('toehold_app_memory_bytes', { app: 'shop' }) > 1024 * 1024)
    assert.ok(value('toehold_app_cpu_seconds', { app: 'shop' }) >= 0)
    // The parser keeps histogram buckets but drops their labels: read the count line itself.
    assert.equal(families.get('toehold_deployment_duration_seconds')?.type, 'HISTOGRAM')
    assert.match(scraped.body, /^toehold_deployment_duration_seconds_count\{app="shop"\} 1$/m)
    assert.ok(families.has('toehold_agent_process_resident_memory_bytes'))
  } finally {
    await Promise.all([agent.kill(), relay.kill()])
  }
})

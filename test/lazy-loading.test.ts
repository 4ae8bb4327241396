// The lazy boundaries of docs/ARCHITECTURE.md, checked on real processes: an idle relay and an
// idle agent connected to it, and a `toehold status` against that agent, never load the parts
// they do not use. Each process records every module it loads (helpers/loaded-modules.ts), so
// an import made eager anywhere fails here.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, test } from 'node:test'
import type { Hono } from 'hono'
import { OPEN_ROUTES, PAGE_ROUTES } from '../agent/dashboard/routes.ts'
import { startAgent } from './helpers/agent.ts'
import { apiUnderTest } from './helpers/api.ts'
import { toehold } from './helpers/cli.ts'
import { BIN, ROOT, startRelay, stopAll, tempDir } from './helpers/procs.ts'

after(stopAll)

const TRACE = join(ROOT, 'test/helpers/loaded-modules.ts')
const traced = (out: string) => ({
  command: [process.execPath, '--import', TRACE, BIN],
  env: { TOEHOLD_TEST_LOADED: out },
})
const loaded = (out: string) => readFileSync(out, 'utf8').split('\n')
const has = (urls: string[], part: string) => urls.some((url) => url.includes(part))
const ours = (path: string) => `file://${join(ROOT, path)}`

/** What an idle daemon defers: its module, and what loading it would show. */
const DEFERRED = {
  'prom-client': '/node_modules/prom-client/',
  '@hpke/core': '/node_modules/@hpke/core/',
  dashboard: '/agent/dashboard/index.ts',
  'simple-git': '/node_modules/simple-git/',
  'the build pipeline': '/agent/deploy/pipeline.ts',
}

test('an idle relay, an idle agent and `toehold status` load only what they use', async () => {
  const dir = tempDir('toehold-lazy-')
  const [relayOut, agentOut, statusOut] = ['relay', 'agent', 'status'].map((n) => join(dir, n))
  const relay = await startRelay(traced(relayOut as string))
  const agent = await startAgent({ relay, ...traced(agentOut as string) })
  await agent.waitFor((line) => line.msg === 'converged', 'convergence')

  const status = await toehold(agent.home, ['status', '--json'], traced(statusOut as string))
  assert.equal(status.code, 0, status.stderr)
  await agent.kill()
  await relay.kill()

  const relayLoaded = loaded(relayOut as string)
  const agentLoaded = loaded(agentOut as string)
  // The trace sees what each daemon does load, lazily mounted parts included.
  assert.ok(has(relayLoaded, ours('relay/server.ts')) && has(relayLoaded, ours('shared/seal.ts')))
  assert.ok(has(agentLoaded, '/agent/dashboard/lazy.ts') && has(agentLoaded, '/node_modules/ws/'))
  for (const [part, url] of Object.entries(DEFERRED)) {
    assert.ok(!has(agentLoaded, url), `the idle agent loaded ${part}`)
    assert.ok(!has(relayLoaded, url), `the idle relay loaded ${part}`)
  }

  const statusLoaded = loaded(statusOut as string)
  assert.ok(has(statusLoaded, ours('agent/cli/index.ts')))
  for (const url of [
    '/node_modules/smol-toml/',
    ours('agent/start.ts'),
    ours('relay/'),
    '/valibot/',
  ])
    assert.ok(!has(statusLoaded, url), `toehold status loaded ${url}`)
})

test("the dashboard's lazy routes are exactly the ones it serves", async () => {
  const { createDashboard } = await import('../agent/dashboard/index.ts')
  const api = apiUnderTest()
  const dashboard = createDashboard(api.deps)
  // One entry per route (a route's middleware, such as /login's body limit, is listed too).
  const served = (app: Hono) => [...new Set(app.routes.map((r) => `${r.method} ${r.path}`))].sort()
  const listed = (routes: typeof OPEN_ROUTES) => routes.map(([m, path]) => `${m} ${path}`).sort()
  assert.deepEqual(served(dashboard.open), listed(OPEN_ROUTES))
  assert.deepEqual(served(dashboard.pages), listed(PAGE_ROUTES))
  await api.close()
})

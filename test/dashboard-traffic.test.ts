// The dashboard's traffic chart: the buckets it is drawn from (in-process, a fake clock), and the
// app page of a real agent after real requests through the app's port.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { agentHome } from '../agent/core/home.ts'
import { BUCKET_MS, createTrafficHistory } from '../agent/serve/history.ts'
import { freePort, startAgent } from './helpers/agent.ts'
import { addApp, answers, appRepo, deploy } from './helpers/deploy.ts'

test('traffic buckets: requests and 5xx per 10 s, zeros where nothing came, 10 minutes kept', () => {
  let now = 1_000 * BUCKET_MS
  const history = createTrafficHistory(() => now)
  history.count('app', 200)
  history.count('app', 503)
  now += 2 * BUCKET_MS
  history.count('app', 404)
  const series = history.series('app')
  assert.equal(series.length, 60)
  assert.deepEqual(series.slice(-3), [
    { at: 1_000 * BUCKET_MS, requests: 2, errors: 1 },
    { at: 1_001 * BUCKET_MS, requests: 0, errors: 0 },
    { at: 1_002 * BUCKET_MS, requests: 1, errors: 0 },
  ])
  now += 60 * BUCKET_MS
  assert.ok(
    history.series('app').every((point) => point.requests === 0),
    'older than 10 min',
  )
})

test('the app page charts requests/s and errors/s next to the deployments', {
  timeout: 60_000,
}, async () => {
  const agent = await startAgent()
  try {
    const port = await freePort()
    await addApp(agent, 'blog', appRepo(), { port })
    // Before the first deploy: 503s, counted as errors.
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 503)
    assert.equal((await deploy(agent, 'blog')).status, 'live')
    await answers(port, 'v1')
    for (let i = 0; i < 20; i++)
      assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 200)

    const apiKey = keyOf(agent.home)
    const login = await fetch(`${agent.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: agent.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: apiKey, next: '/app/blog' }),
    })
    assert.equal(login.status, 303)
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string
    const page = await (await fetch(`${agent.url}/app/blog`, { headers: { cookie } })).text()
    const section = /<section id="traffic"[\s\S]*?<\/section>/.exec(page)?.[0] ?? ''
    assert.match(section, /<h2 id="traffic-h">Traffic/)
    assert.match(section, /<polyline class="requests" points="[\d., ]+"\/>/)
    assert.match(section, /<line class="tick" /, 'the deployment that went live is marked')
    const errors = /<polyline class="errors" points="([\d., ]+)"\/>/.exec(section)?.[1] ?? ''
    const heights = errors.split(' ').map((point) => Number(point.split(',')[1]))
    assert.ok(
      heights.some((y) => y < 60),
      'the 503s show as errors',
    )
    assert.ok(
      page.indexOf('id="traffic"') < page.indexOf('id="deployments"'),
      'next to the history',
    )
  } finally {
    await agent.kill()
  }
})

const keyOf = (home: string): string =>
  JSON.parse(readFileSync(agentHome(home).agentInfo, 'utf8')).apiKey

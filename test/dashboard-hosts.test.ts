// The dashboard's one-form onboarding against a fake GitHub Enterprise in a real browser, a real
// relay and agent: add an app with a token and "register the webhook", land on its page with the
// ping proven and the first deployment going live (and reported on the commit); a hook deleted
// on the host shown and re-registered with one button; a notification test; the app removed
// (and its hook with it).
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import { type Agent, connected, freePort, startAgent } from './helpers/agent.ts'
import {
  apiKeyOf,
  assertFitsWidth,
  type Browser,
  openBrowser,
  screenshot,
  signIn,
} from './helpers/browser.ts'
import { appRepo } from './helpers/deploy.ts'
import { type FakeGitHub, startFakeGitHub } from './helpers/fake-github.ts'
import { type RelayProc, startRelay } from './helpers/procs.ts'
import { until } from './helpers/wait.ts'

const TOKEN = 'ghp_dashboard_token_0123456789'
let github: FakeGitHub
let relay: RelayProc
let agent: Agent
let browser: Browser

before(async () => {
  github = await startFakeGitHub()
  github.grant(TOKEN, 'admin')
  relay = await startRelay()
  agent = await startAgent({ relay, env: { TOEHOLD_REPORT_BACKOFF_MS: '50' } })
  await connected(agent)
  browser = await openBrowser()
  await signIn(browser.page, agent.url, apiKeyOf(agent.home))
})
after(async () => {
  await browser?.close()
  await Promise.all([agent?.kill(), relay?.kill()])
  await github?.close()
  assert.deepEqual(github.state.violations, [])
})

test('Add an app: one form from nothing to a registered hook and a first deployment live, shown on the commit', {
  timeout: 90_000,
}, async () => {
  const { page } = browser
  const repo = appRepo()
  const url = github.addRepo('acme/shop', repo.remote)
  await page.getByLabel('Name').fill('shop')
  await page.getByLabel('Repository URL').fill(url)
  await page.getByLabel('Port').fill(String(await freePort()))
  await page.getByLabel('Git host', { exact: true }).selectOption('github')
  await page.getByLabel('Git token (GIT_TOKEN)').fill(TOKEN)
  assert.equal(await page.getByLabel(/Register the webhook/).isChecked(), true)
  await page.getByRole('button', { name: 'Add and deploy' }).click()
  await page.waitForURL(`${agent.url}/app/shop`)
  await page
    .locator('#toast', {
      hasText: /Registered on GitHub \(hook \d+\): the ping arrived through the relay/,
    })
    .waitFor()
  await page.locator('#webhook-mode[data-mode="auto"]').waitFor()
  assert.equal(await page.locator('#secret-box').isVisible(), true, 'the secret, shown this once')
  await page
    .locator('#stages[data-deployment="1"][data-status="live"]')
    .waitFor({ timeout: 60_000 })
  const hooks = github.hooks('acme/shop')
  assert.equal(hooks.length, 1)
  assert.equal(
    hooks[0]?.config.url,
    `${relay.url}/hooks/${(await agent.api('GET', '/status')).body.instance}/shop`,
  )
  await until(
    () => github.state.statuses.some((s) => s.sha === repo.first && s.body.state === 'success'),
    'the commit to show toehold/shop ✔',
  )
  await screenshot(page, 'dashboard-added-app')
  assert.deepEqual(browser.errors, [])
})

test('a hook deleted on the host: the overview says so, one button re-registers it', {
  timeout: 60_000,
}, async () => {
  const { page } = browser
  const [hook] = github.hooks('acme/shop')
  assert.ok(hook)
  github.deleteHook('acme/shop', hook.id)
  // webhook status (?check=1) is what asks the host; the audit runs at every relay welcome.
  await agent.api('GET', '/apps/shop/webhook?check=1')
  await page.goto(`${agent.url}/`)
  await page.getByRole('heading', { name: 'Webhooks need attention' }).waitFor()
  await page.getByRole('button', { name: 'Re-register all hooks' }).click()
  await page.locator('#toast', { hasText: /shop: Registered on GitHub/ }).waitFor()
  await page.locator('#stale[hidden]').waitFor({ state: 'attached' })
  assert.equal(github.hooks('acme/shop').length, 1)
  assert.deepEqual(browser.errors, [])
})

test('a notification target is listed and sends a test; Remove app deletes the hook too', {
  timeout: 60_000,
}, async () => {
  const { page } = browser
  const received: string[] = []
  const receiver = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      received.push(req.url ?? '')
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const port = (receiver.address() as AddressInfo).port
  const added = await agent.api('POST', '/notify', {
    url: `http://127.0.0.1:${port}/t`,
    format: 'slack',
    on: 'all',
  })
  assert.equal(added.status, 201)
  await page.goto(`${agent.url}/`)
  await page.getByRole('button', { name: 'Send a test' }).click()
  await page.locator('#toast', { hasText: `Target #${added.body.id} took the test` }).waitFor()
  assert.deepEqual(received, ['/t'])
  receiver.close()
  await page.setViewportSize({ width: 390, height: 844 })
  await assertFitsWidth(page)
  await screenshot(page, 'dashboard-overview-phone')
  await page.setViewportSize({ width: 1280, height: 900 })

  await page.goto(`${agent.url}/app/shop`)
  page.once('dialog', (dialog) => void dialog.accept())
  await page.getByRole('button', { name: 'Remove app' }).click()
  await page.waitForURL(`${agent.url}/`)
  assert.equal(github.hooks('acme/shop').length, 0)
  assert.deepEqual(browser.errors, [])
})

// Deploying from the dashboard in a real browser, against a real agent (with its relay), a real
// git repository holding the fixture Bun app, real `bun install` and predeploy: Deploy now with
// its stages live, a failing build shown with its stage and reason while the old version keeps
// answering, rollback to an earlier release, build and app logs, and the page at phone width.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { type Agent, connected, freePort, startAgent } from './helpers/agent.ts'
import {
  apiKeyOf,
  assertFitsWidth,
  type Browser,
  openBrowser,
  screenshot,
  signIn,
} from './helpers/browser.ts'
import { addApp, answer, answers, appRepo } from './helpers/deploy.ts'
import { type RelayProc, startRelay } from './helpers/procs.ts'

const T = { timeout: 60_000 }
const DEPLOY = { timeout: 45_000 }
const STAGES = ['queued', 'fetching', 'installing', 'building', 'starting', 'health_check', 'live']

/** The stage list's class per stage: done, active, failed, skipped or '' (not reached). */
const stageStates = (page: Page) =>
  page
    .locator('#stages li')
    .evaluateAll((items) => items.map((item) => item.className || 'pending'))

/** Starts recording every text the deploy status line shows; the result reads the record. */
async function recordStatus(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const line = document.getElementById('deploy-status') as HTMLElement
    const texts: string[] = []
    ;(globalThis as unknown as { statusTexts: string[] }).statusTexts = texts
    new MutationObserver(() => texts.push(line.textContent ?? '')).observe(line, {
      childList: true,
      characterData: true,
      subtree: true,
    })
  })
  return () => page.evaluate(() => (globalThis as unknown as { statusTexts: string[] }).statusTexts)
}

/** Waits until the stage list shows deployment #id ended with `status`. */
const ended = (page: Page, id: number, status: string) =>
  page.locator(`#stages[data-deployment="${id}"][data-status="${status}"]`).waitFor(DEPLOY)

describe('dashboard: deploy, fail, roll back', () => {
  let relay: RelayProc
  let agent: Agent
  let browser: Browser
  let port: number
  const repo = appRepo()

  before(async () => {
    relay = await startRelay()
    agent = await startAgent({ relay })
    await connected(agent)
    port = await freePort()
    await addApp(agent, 'shop', repo, { port })
    browser = await openBrowser()
    await signIn(browser.page, agent.url, apiKeyOf(agent.home), '/app/shop')
  })
  after(async () => {
    await browser?.close()
    await Promise.all([agent?.kill(), relay?.kill()])
  })

  test('Deploy now shows every stage live and reaches live; the app answers', T, async () => {
    const { page } = browser
    const shown = await recordStatus(page)
    await page.getByRole('button', { name: 'Deploy now' }).click()
    await ended(page, 1, 'live')
    // Each stage was announced as it happened, in order, in the aria-live status line.
    const steps = (await shown()).filter((text, i, all) => text !== all[i - 1])
    assert.deepEqual(
      steps.slice(0, -1),
      STAGES.slice(0, -1).map((s) => `#1 ${s === 'queued' ? s : `${s.replace('_', ' ')}…`}`),
    )
    assert.match(steps.at(-1) ?? '', /^#1 live: [0-9a-f]{7}$/)
    assert.deepEqual(
      await stageStates(page),
      STAGES.map(() => 'done'),
    )
    await page
      .getByRole('status')
      .filter({ hasText: /^#1 live: [0-9a-f]{7}$/ })
      .waitFor()
    assert.equal((await answers(port, 'v1')).built, 'v1')

    // The rest of the page caught up: live commit and message, release, the followed build log.
    const summary = page.locator('#summary')
    await summary.getByText(`${repo.first.slice(0, 7)}`).waitFor()
    await summary.getByText('v1', { exact: true }).waitFor()
    await summary.locator('.badge.running').waitFor()
    await summary.locator('.last .badge.live').waitFor()
    await page.locator('#releases li[data-release^="001-"] .badge.live').waitFor()
    assert.equal(
      await page.locator('#releases li').count(),
      1,
      'only a live deploy makes a release',
    )
    await page.locator('#log-text').getByText('predeploy: building v1').waitFor()
    await screenshot(page, 'deploy-live')
  })

  test('a failing build shows its stage and reason; the running version stays', T, async () => {
    const { page } = browser
    const v1 = await answer(port)
    repo.commit({ 'version.txt': 'v2\n', 'mode.txt': 'predeploy-fail\n' }, 'v2 breaks its build')
    await page.getByRole('button', { name: 'Deploy now' }).click()
    await ended(page, 2, 'failed')
    assert.deepEqual(await stageStates(page), [
      'done',
      'done',
      'done',
      'failed',
      'pending',
      'pending',
      'pending',
    ])
    const reason = 'bun run predeploy exited with code 1 (see toehold logs shop 2)'
    await page
      .getByRole('status')
      .filter({ hasText: `#2 failed at building: ${reason}` })
      .waitFor()
    await page.locator('#summary .last').getByText(`at building: ${reason}`).waitFor()
    await page.locator('#deployments li[data-deployment="2"] .badge.failed').waitFor()
    await page.locator('#log-text').getByText('predeploy: failing on purpose').waitFor()
    const still = await answer(port)
    assert.equal(still?.version, 'v1')
    assert.equal(still?.pid, v1?.pid, 'not even restarted')
    await screenshot(page, 'deploy-failed')

    await page.setViewportSize({ width: 390, height: 844 })
    await assertFitsWidth(page)
    await screenshot(page, 'phone-deploy-failed')
    await screenshot(page, 'phone-deploy-failed-top', 'body')
    await screenshot(page, 'phone-deploy-failed-deploy', '#deploy')
    await page.setViewportSize({ width: 1280, height: 900 })
  })

  test('a fixed push deploys; Rollback returns to the earlier release', T, async () => {
    const { page } = browser
    const message = 'v3 fixes the build <img src=x onerror="document.title=1">'
    repo.commit({ 'version.txt': 'v3\n', 'mode.txt': 'fine\n' }, message)
    await page.getByRole('button', { name: 'Deploy now' }).click()
    await ended(page, 3, 'live')
    await answers(port, 'v3')
    // Everything from outside (here a commit message) is text, never markup.
    await page.locator('#summary .message').getByText(message, { exact: true }).waitFor()
    assert.equal(await page.locator('main img').count(), 0)

    const first = page.locator('#releases li[data-release^="001-"]')
    await first.getByRole('button', { name: /^Rollback to 001-/ }).click()
    await ended(page, 4, 'live')
    // A rollback only restarts: no fetch, install or build.
    assert.deepEqual(await stageStates(page), [
      'done',
      'skipped',
      'skipped',
      'skipped',
      'done',
      'done',
      'done',
    ])
    assert.equal((await answers(port, 'v1')).version, 'v1')
    await first.locator('.badge.live').waitFor()
    await page
      .locator('#releases li[data-release^="003-"]')
      .getByRole('button', { name: /^Rollback to 003-/ })
      .waitFor()
    await page.locator('#summary .commit').getByText('v1').waitFor()
    await page.locator('#deployments li[data-deployment="4"]').getByText('rollback').waitFor()
  })

  test('build logs of any deployment, and the app log', T, async () => {
    const { page } = browser
    await page.reload()
    await page.getByRole('button', { name: 'Build log of #2' }).click()
    await page.locator('#log-title').getByText('build #2').waitFor()
    await page.locator('#log-text').getByText('predeploy: failing on purpose').waitFor()
    await page.getByRole('button', { name: 'App log' }).click()
    await page.locator('#log-title').getByText('app output').waitFor()
    await page.locator('#log-text').getByText('booting v3').waitFor()
    await page.locator('#log-text').getByText('booting v1').first().waitFor()

    await page.setViewportSize({ width: 390, height: 844 })
    await assertFitsWidth(page)
    await screenshot(page, 'phone-app')
    await screenshot(page, 'phone-app-webhook', '#webhook')
    await screenshot(page, 'phone-app-log', '#deployments')
    await page.goto(`${agent.url}/`)
    await page.getByRole('link', { name: 'shop' }).waitFor()
    await assertFitsWidth(page)
    await screenshot(page, 'phone-apps')
    assert.deepEqual(browser.errors, [])
  })
})

// A real browser for the dashboard tests: Debian's chromium driven by playwright-core, with a
// fresh profile per test file, page errors collected, and screenshots under test/artifacts/.

import assert from 'node:assert/strict'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { agentHome } from '../../agent/core/home.ts'
import { ROOT, tempDir } from './procs.ts'

export const ARTIFACTS = join(ROOT, 'test/artifacts')
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export type Browser = {
  context: BrowserContext
  page: Page
  /** Uncaught errors and console errors of the dashboard's own script. */
  errors: string[]
  close(): Promise<void>
}

export async function openBrowser(): Promise<Browser> {
  const context = await chromium.launchPersistentContext(tempDir('toehold-chromium-'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
    colorScheme: 'light',
  })
  context.setDefaultTimeout(20_000)
  const page = context.pages()[0] ?? (await context.newPage())
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  page.on('console', (message) => {
    // Chromium also logs every 4xx answer (the refusals tests provoke) as a console error.
    if (message.type() === 'error' && !/status of 4\d\d/.test(message.text()))
      errors.push(message.text())
  })
  return { context, page, errors, close: () => context.close() }
}

/** The API key of the agent whose home this is. */
export const apiKeyOf = (home: string): string =>
  JSON.parse(readFileSync(agentHome(home).agentInfo, 'utf8')).apiKey

/** Signs in through the form and waits to land on `path`. */
export async function signIn(page: Page, base: string, key: string, path = '/'): Promise<void> {
  await page.goto(`${base}${path}`)
  await page.getByLabel('API key').fill(key)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('button', { name: 'Sign out' }).waitFor()
  assert.equal(page.url(), `${base}${path}`)
}

/** A screenshot into test/artifacts/<name>.png: the whole page, or (`at`) the window scrolled
 *  to that element, as a phone shows it. */
export async function screenshot(page: Page, name: string, at?: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true })
  if (at) await page.locator(at).evaluate((element) => element.scrollIntoView())
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: !at })
}

/** At phone width nothing may stick out sideways (the page never scrolls horizontally). */
export async function assertFitsWidth(page: Page): Promise<void> {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }))
  assert.ok(scroll <= width, `page is ${scroll}px wide in a ${width}px window`)
}

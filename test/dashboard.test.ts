// The dashboard in a real browser (Debian's chromium through playwright-core) against a real
// agent and relay: sign-in, the session cookie and its CSRF defences, and the webhook section
// (enable, copy the URL, the secret shown once and working through the relay, rotate, the git
// token, disable). Deploys are in dashboard-deploy.test.ts.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { sign } from '@octokit/webhooks-methods'
import { Webhook } from 'standardwebhooks'
import { type Agent, connected, startAgent } from './helpers/agent.ts'
import { apiKeyOf, type Browser, openBrowser, screenshot } from './helpers/browser.ts'
import { addApp, appRepo } from './helpers/deploy.ts'
import { type RelayProc, startRelay } from './helpers/procs.ts'

const T = { timeout: 30_000 }

describe('dashboard: sign-in, CSRF, webhook', () => {
  let relay: RelayProc
  let agent: Agent
  let browser: Browser
  let key: string
  let hookUrl: string
  const repo = appRepo()

  /** A GitHub ping signed with `secret`, sent through the relay as GitHub would. */
  const ping = async (secret: string) => {
    const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 })
    const response = await fetch(hookUrl, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'ping',
        'x-github-delivery': crypto.randomUUID(),
        'x-hub-signature-256': await sign(secret, body),
      },
    })
    return response.status
  }

  /** A rev.host save to a branch the app does not track, signed per Standard Webhooks. */
  const revSave = async (secret: string) => {
    const body = JSON.stringify({
      event: 'save',
      repo: 'emma/blog',
      ref: 'refs/heads/elsewhere',
      commit: repo.first,
      timestamp: new Date().toISOString(),
    })
    const id = `msg_${randomBytes(8).toString('hex')}`
    const at = new Date()
    const response = await fetch(hookUrl, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(secret).sign(id, at, body),
      },
    })
    return { status: response.status, body: await response.json().catch(() => null) }
  }

  /** What the browser's own fetch gets (same origin, session cookie), with these headers. */
  const browserFetch = (method: string, path: string, headers: Record<string, string>) =>
    browser.page.evaluate(
      async ({ method, path, headers }) => {
        const response = await fetch(path, {
          method,
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ app: 'blog', key: 'PROBE', value: '1' }),
        })
        return { status: response.status, body: await response.json() }
      },
      { method, path, headers },
    )

  before(async () => {
    relay = await startRelay()
    agent = await startAgent({ relay })
    const welcome = await connected(agent)
    assert.ok(welcome)
    await addApp(agent, 'blog', repo)
    key = apiKeyOf(agent.home)
    const instance = (await agent.api('GET', '/status')).body.instance
    hookUrl = `${relay.url}/hooks/${instance}/blog`
    browser = await openBrowser()
  })
  after(async () => {
    await browser?.close()
    await Promise.all([agent?.kill(), relay?.kill()])
  })

  test('signed out: / is the sign-in page, the API still answers 401 JSON', T, async () => {
    const { page } = browser
    const api = await fetch(`${agent.url}/apps`)
    assert.equal(api.status, 401)
    assert.match((await api.json()).error, /unauthorized/)
    assert.deepEqual(await (await fetch(`${agent.url}/health`)).json(), { ok: true })

    await page.goto(`${agent.url}/app/blog`)
    assert.equal(page.url(), `${agent.url}/?next=%2Fapp%2Fblog`)
    await page.getByRole('heading', { name: 'Sign in' }).waitFor()
    await page.getByLabel('API key').waitFor()
  })

  test('a wrong key is refused; the right one signs in and returns to the page', T, async () => {
    const { page, context } = browser
    await page.getByLabel('API key').fill('thk_not-the-key')
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/login')),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ])
    assert.equal(refused.status(), 401)
    await page.getByRole('alert').filter({ hasText: 'not this agent’s API key' }).waitFor()
    assert.deepEqual(await context.cookies(), [])
    await screenshot(page, 'signin-refused')

    await page.getByLabel('API key').fill(key)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'blog', level: 1 }).waitFor()
    assert.equal(page.url(), `${agent.url}/app/blog`)
    const [cookie] = await context.cookies()
    assert.equal(cookie?.name, `toehold_session_${new URL(agent.url).port}`, 'named per port')
    assert.equal(cookie?.httpOnly, true)
    assert.equal(cookie?.sameSite, 'Strict')
    assert.equal(cookie?.secure, false, 'plain http on 127.0.0.1: no Secure flag')
    assert.equal(cookie?.path, '/')
    assert.ok(!cookie?.value.includes(key.slice(4)), 'the cookie is not the key')
    // Signed in, / is the apps list.
    await page.goto(`${agent.url}/`)
    await page.getByRole('link', { name: 'blog' }).click()
    await page.getByRole('heading', { name: 'blog', level: 1 }).waitFor()
  })

  test(
    'sign-in: Secure cookie behind TLS, no open redirect, none from another origin',
    T,
    async () => {
      const login = (headers: Record<string, string>, next = '/') =>
        fetch(`${agent.url}/login`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
          body: new URLSearchParams({ key, next }),
        })
      const tls = await login({
        origin: agent.url.replace('http:', 'https:'),
        'x-forwarded-proto': 'https',
      })
      assert.equal(tls.status, 303)
      assert.match(tls.headers.get('set-cookie') ?? '', /; HttpOnly; Secure; SameSite=Strict/)
      const plain = await login({ origin: agent.url }, '//evil.example/')
      assert.equal(plain.status, 303)
      assert.equal(plain.headers.get('location'), '/')
      assert.doesNotMatch(plain.headers.get('set-cookie') ?? '', /Secure/)
      const foreign = await login({ origin: 'http://evil.example' })
      assert.equal(foreign.status, 403)
      assert.equal(foreign.headers.get('set-cookie'), null)
    },
  )

  test('enable the webhook, copy its relay URL; the secret shows once and works', T, async () => {
    const { page, context } = browser
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: agent.url })
    await page.getByRole('switch', { name: /Deploy on push/ }).click()
    await page.getByRole('status').filter({ hasText: 'Webhook enabled' }).waitFor()
    await page.locator('#secret-box').waitFor({ state: 'visible' })
    const secret = await page.getByLabel('Secret (shown only now)').inputValue()
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/)
    assert.equal(await page.getByRole('switch', { name: /Deploy on push/ }).isChecked(), true)
    assert.equal(await page.getByLabel('Relay URL').inputValue(), hookUrl)

    await page.getByRole('button', { name: 'Copy URL' }).click()
    await page.getByRole('status').filter({ hasText: 'Copied' }).waitFor()
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), hookUrl)
    await screenshot(page, 'webhook-enabled')

    // The secret is real: GitHub's signature with it passes through the relay.
    assert.equal(await ping('not-the-secret-at-all'), 401)
    assert.equal(await ping(secret), 200)

    // Shown once: a reload has the URL but not the secret.
    await page.reload()
    await page.getByLabel('Relay URL').waitFor()
    assert.equal(await page.locator('#secret-box').isHidden(), true)
    assert.ok(!(await page.content()).includes(secret))
    await page.getByText(/Last delivery: .* ping → 200/).waitFor()
  })

  test('rotate for another provider: a new secret, and it works for that provider', T, async () => {
    const { page } = browser
    await page.getByLabel('Provider').selectOption('rev')
    await page.getByRole('button', { name: 'Rotate secret' }).click()
    await page.getByRole('status').filter({ hasText: 'New secret issued' }).waitFor()
    const secret = await page.getByLabel('Secret (shown only now)').inputValue()
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/)
    assert.equal(await page.getByLabel('Provider').inputValue(), 'rev')
    await page.getByText('rev.host: repository settings → Webhooks').waitFor()
    assert.equal((await agent.api('GET', '/apps/blog/webhook')).body.provider, 'rev')
    const signed = await revSave(secret)
    assert.equal(signed.status, 200)
    assert.equal(signed.body.status, 'ignored')
    assert.equal((await revSave(`whsec_${randomBytes(32).toString('base64')}`)).status, 401)
  })

  test('the token field sets REV_TOKEN for rev.host and never shows it back', T, async () => {
    const { page } = browser
    const token = 'rev_tok-1234567890-do-not-show'
    await page.getByLabel('Git token (REV_TOKEN)').fill(token)
    await page.getByRole('button', { name: 'Save token' }).click()
    await page.getByText('REV_TOKEN is set for this app.').waitFor()
    assert.equal((await agent.api('GET', '/env?app=blog')).body.REV_TOKEN, token)
    assert.equal(await page.getByLabel('Git token (REV_TOKEN)').inputValue(), '')
    await page.reload()
    await page.getByText('REV_TOKEN is set for this app.').waitFor()
    assert.ok(!(await page.content()).includes(token))

    await page.getByRole('button', { name: 'Remove REV_TOKEN' }).click()
    await page.getByText('No REV_TOKEN set').waitFor()
    assert.equal((await agent.api('GET', '/env?app=blog')).body.REV_TOKEN, undefined)
  })

  test(
    'with the cookie, a state change needs the CSRF token (403 without); the key does not',
    T,
    async () => {
      const { page } = browser
      const csrf = await page.locator('meta[name="csrf-token"]').getAttribute('content')
      assert.ok(csrf)

      const none = await browserFetch('PUT', '/env', {})
      assert.equal(none.status, 403)
      assert.match(none.body.error, /CSRF token/)
      const wrong = await browserFetch('PUT', '/env', { 'x-csrf-token': `${csrf.slice(0, -2)}xx` })
      assert.equal(wrong.status, 403)
      assert.equal((await agent.api('GET', '/env?app=blog')).body.PROBE, undefined)
      const right = await browserFetch('PUT', '/env', { 'x-csrf-token': csrf })
      assert.equal(right.status, 200, JSON.stringify(right.body))
      // Reading needs no token.
      assert.equal(await page.evaluate(async () => (await fetch('/apps/blog')).status), 200)

      // The CLI's way: the key in a header, no cookie, no CSRF token.
      const cli = await agent.api('DELETE', '/env', { app: 'blog', key: 'PROBE' })
      assert.equal(cli.status, 200)
      assert.equal(cli.body.removed, true)

      // The cookie and the right token, but another Origin (or none): refused all the same.
      const [cookie] = await browser.context.cookies()
      const post = (headers: Record<string, string>) =>
        fetch(`${agent.url}/apps/blog/webhook/rotate`, {
          method: 'POST',
          headers: { cookie: `${cookie?.name}=${cookie?.value}`, 'x-csrf-token': csrf, ...headers },
        })
      assert.equal((await post({ origin: 'http://evil.example' })).status, 403)
      assert.equal((await post({ referer: 'http://evil.example/page' })).status, 403)
      assert.equal((await post({})).status, 403, 'neither Origin nor Referer')
      assert.equal((await post({ origin: agent.url, 'sec-fetch-site': 'cross-site' })).status, 403)
    },
  )

  test(
    'a form on another origin cannot post with the cookie, even knowing the token',
    T,
    async () => {
      const { page } = browser
      const csrf = await page.locator('meta[name="csrf-token"]').getAttribute('content')
      // Another port on 127.0.0.1 is the same *site*: SameSite=Strict still sends the cookie, so
      // only the Origin check stands between it and the agent. localhost is another site: no cookie.
      const evil: Server = createServer((_req, res) => {
        res.setHeader('content-type', 'text/html')
        res.end(`<!doctype html><form method="post" action="${agent.url}/apps/blog/webhook/disable">
        <input type="hidden" name="_csrf" value="${csrf}"><button>Win a prize</button></form>`)
      })
      await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve))
      const port = (evil.address() as AddressInfo).port
      try {
        for (const [host, status] of [
          ['127.0.0.1', 403],
          ['localhost', 401],
        ] as const) {
          await page.goto(`http://${host}:${port}/`)
          const [answer] = await Promise.all([
            page.waitForResponse((r) => r.url().endsWith('/webhook/disable')),
            page.getByRole('button', { name: 'Win a prize' }).click(),
          ])
          assert.equal(answer.status(), status, host)
        }
      } finally {
        evil.close()
      }
      const hook = (await agent.api('GET', '/apps/blog/webhook')).body
      assert.equal(hook.enabled, true, 'the webhook was not disabled')
    },
  )

  test('switching the webhook off: the relay URL answers 404', T, async () => {
    const { page } = browser
    await page.goto(`${agent.url}/app/blog`)
    await page.getByRole('switch', { name: /Deploy on push/ }).click()
    await page.getByRole('status').filter({ hasText: 'Webhook disabled' }).waitFor()
    assert.equal(await page.getByRole('switch', { name: /Deploy on push/ }).isChecked(), false)
    assert.equal(await ping('whatever-secret'), 404)
  })

  test("the API's errors are shown to the user", T, async () => {
    const { page } = browser
    await addApp(agent, 'gone', repo)
    await page.goto(`${agent.url}/app/gone`)
    assert.equal((await agent.api('DELETE', '/apps/gone')).status, 200)
    await page.getByRole('button', { name: 'Deploy now' }).click()
    await page.locator('#toast.error').filter({ hasText: 'no app "gone"' }).waitFor()
    await screenshot(page, 'api-error')
  })

  test('the header follows the relay connection live', T, async () => {
    const { page } = browser
    await page.goto(`${agent.url}/`)
    await page.locator('#relay').getByText('Relay connected').waitFor()
    await relay.kill()
    await page.locator('#relay').getByText('Relay disconnected').waitFor()
    await screenshot(page, 'relay-disconnected')
  })

  test('signing out ends the session: its cookie no longer opens anything', T, async () => {
    const { page, context } = browser
    await page.goto(`${agent.url}/app/blog`)
    const [cookie] = await context.cookies()
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByRole('heading', { name: 'Sign in' }).waitFor()
    assert.deepEqual(await context.cookies(), [])
    const stale = await fetch(`${agent.url}/apps`, {
      headers: { cookie: `${cookie?.name}=${cookie?.value}` },
    })
    assert.equal(stale.status, 401)
    assert.deepEqual(browser.errors, [])
  })
})

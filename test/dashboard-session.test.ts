// Dashboard sessions and their CSRF checks in-process (no browser): expiry, the cap on how many
// are kept, constant-time comparison of any length, and what counts as our own origin.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Hono } from 'hono'
import { csrfProblem, foreignOrigin } from '../agent/dashboard/guard.ts'
import { createSessions } from '../agent/dashboard/session.ts'

/** The cookie name for plain HTTP on port 80, where these requests go. */
const COOKIE = 'toehold_session_80'

import { sameSecret } from '../shared/secrets.ts'

describe('dashboard sessions', () => {
  let now = 1_000_000
  const sessions = createSessions(() => now)
  const app = new Hono()
    .get('/', (c) => c.text(sessions.of(c) ? 'in' : 'out'))
    .post('/', async (c) => {
      const session = sessions.of(c)
      return c.text(session ? ((await csrfProblem(c, session)) ?? 'ok') : 'out')
    })
  const get = async (id: string) =>
    (await app.request('/', { headers: { cookie: `${COOKIE}=${id}` } })).text()

  test('a session lasts 12 hours', async () => {
    const session = sessions.open()
    assert.equal(await get(session.id), 'in')
    now += 12 * 3_600_000 - 1
    assert.equal(await get(session.id), 'in')
    now += 1
    assert.equal(await get(session.id), 'out')
    assert.equal(await get('made-up'), 'out')
  })

  test('at most 64 are kept: the oldest make way', async () => {
    const first = sessions.open()
    const rest = Array.from({ length: 64 }, () => sessions.open())
    assert.equal(await get(first.id), 'out')
    assert.equal(await get(rest[0]?.id ?? ''), 'in')
    assert.notEqual(rest[0]?.csrf, rest[1]?.csrf, 'each session has its own CSRF token')
  })

  test('POST: same origin and the CSRF token (header or form field), nothing less', async () => {
    const session = sessions.open()
    const post = async (headers: Record<string, string>, body?: string) =>
      (
        await app.request('http://127.0.0.1:7171/', {
          method: 'POST',
          headers: { cookie: `toehold_session_7171=${session.id}`, ...headers },
          ...(body ? { body } : {}),
        })
      ).text()
    const own = { origin: 'http://127.0.0.1:7171' }
    assert.equal(await post({ ...own, 'x-csrf-token': session.csrf }), 'ok')
    assert.equal(
      await post(
        { ...own, 'content-type': 'application/x-www-form-urlencoded' },
        `_csrf=${session.csrf}`,
      ),
      'ok',
    )
    assert.match(await post(own), /CSRF token/)
    assert.match(await post({ ...own, 'x-csrf-token': 'x' }), /CSRF token/)
    const token = { 'x-csrf-token': session.csrf }
    assert.match(await post({ ...token, origin: 'http://127.0.0.1:7172' }), /cross-origin/)
    assert.match(await post({ ...token, origin: 'https://127.0.0.1:7171' }), /cross-origin/)
    assert.match(await post({ ...token, origin: 'null' }), /unknown origin/)
    assert.match(await post(token), /without Origin or Referer/)
    assert.equal(await post({ ...token, referer: 'http://127.0.0.1:7171/app/x' }), 'ok')
    assert.match(await post({ ...token, ...own, 'sec-fetch-site': 'same-site' }), /cross-site/)
  })

  test('behind a TLS proxy (X-Forwarded-Proto: https) our origin is https', async () => {
    const probe = new Hono().post('/', (c) => c.text(foreignOrigin(c) ?? 'ours'))
    const ask = async (origin: string) => {
      const headers = { origin, 'x-forwarded-proto': 'https' }
      return (await probe.request('http://box.lan/', { method: 'POST', headers })).text()
    }
    assert.equal(await ask('https://box.lan'), 'ours')
    assert.match(await ask('http://box.lan'), /cross-origin/)
  })

  test('sameSecret compares any lengths', () => {
    assert.equal(sameSecret('abc', 'abc'), true)
    assert.equal(sameSecret('abc', 'abcd'), false)
    assert.equal(sameSecret('', 'abc'), false)
  })
})

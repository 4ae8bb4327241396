// API bases from repo URLs and providers, and the waits a host's rate-limit answer asks for.
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { hostTarget, repoLocation } from '../agent/hosts/base.ts'
import { allPages, HostError, rateLimitWait } from '../agent/hosts/http.ts'

test('API bases come from the repo URL and the provider', async () => {
  assert.deepEqual(await hostTarget('https://github.com/acme/blog.git', 'github'), {
    kind: 'github',
    api: 'https://api.github.com',
    repo: 'acme/blog',
    origin: 'https://github.com',
  })
  assert.deepEqual(await hostTarget('git@github.com:acme/blog.git', 'github'), {
    kind: 'github',
    api: 'https://api.github.com',
    repo: 'acme/blog',
    origin: 'https://github.com',
  })
  assert.deepEqual(await hostTarget('https://gitlab.com/group/sub/blog.git', 'gitlab'), {
    kind: 'gitlab',
    api: 'https://gitlab.com/api/v4',
    repo: 'group/sub/blog',
    origin: 'https://gitlab.com',
  })
  assert.deepEqual(await hostTarget('ssh://git@git.example.org/team/blog.git', 'gitlab'), {
    kind: 'gitlab',
    api: 'https://git.example.org/api/v4',
    repo: 'team/blog',
    origin: 'https://git.example.org',
  })
  assert.deepEqual(await hostTarget('https://bitbucket.org/ws/blog.git', 'bitbucket'), {
    kind: 'bitbucket',
    api: 'https://api.bitbucket.org/2.0',
    repo: 'ws/blog',
    origin: 'https://bitbucket.org',
  })
  assert.match(
    String(
      (
        (await hostTarget('https://bitbucket.example/ws/blog', 'bitbucket')) as {
          unsupported: string
        }
      ).unsupported,
    ),
    /only Bitbucket Cloud/,
  )
  assert.match(
    String(
      ((await hostTarget('http://git.example.org/a/b.git', 'github')) as { unsupported: string })
        .unsupported,
    ),
    /plain HTTP/,
  )
  assert.match(
    String(
      ((await hostTarget('https://rev.host/a/b', 'rev')) as { unsupported: string }).unsupported,
    ),
    /no hooks API/,
  )
  assert.equal(repoLocation('/srv/git/blog.git'), null)
})

test('rate-limit answers: Retry-After, X-RateLimit-Reset, GitLab RateLimit-Reset; other refusals are not waits', () => {
  const now = 1_700_000_000_000
  assert.equal(rateLimitWait(403, new Headers({ 'retry-after': '3' }), now), 3000)
  assert.equal(
    rateLimitWait(
      403,
      new Headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 20) }),
      now,
    ),
    20_000,
  )
  assert.equal(
    rateLimitWait(
      429,
      new Headers({ 'ratelimit-remaining': '0', 'ratelimit-reset': String(now / 1000 + 5) }),
      now,
    ),
    5000,
  )
  assert.equal(
    rateLimitWait(403, new Headers({ 'x-ratelimit-remaining': '12' }), now),
    null,
    'a scope refusal',
  )
  assert.equal(rateLimitWait(404, new Headers(), now), null)
})

test('a pagination link to another origin is refused: the token goes to its own host only', async () => {
  const seen: (string | undefined)[] = []
  const elsewhere = createServer((req, res) => {
    seen.push(req.headers.authorization)
    res.writeHead(200, { 'content-type': 'application/json' }).end('[]')
  })
  await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve))
  const other = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`
  const host = createServer((_req, res) => {
    res
      .writeHead(200, {
        'content-type': 'application/json',
        link: `<${other}/steal?page=2>; rel="next"`,
      })
      .end('[{"id":1}]')
  })
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${(host.address() as AddressInfo).port}/api/v3`
  const listed = await allPages(
    { base, headers: { authorization: 'Bearer secret-token' }, errorText: () => 'x' },
    '/repos/a/b/hooks',
  ).catch((error: unknown) => error)
  assert.ok(listed instanceof HostError)
  assert.match(listed.message, /refusing to send the token to http:\/\/127\.0\.0\.1:\d+/)
  assert.deepEqual(seen, [])
  host.close()
  elsewhere.close()
})

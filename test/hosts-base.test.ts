// API bases from repo URLs and providers, and the waits a host's rate-limit answer asks for.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { hostTarget, repoLocation } from '../agent/hosts/base.ts'
import { rateLimitWait } from '../agent/hosts/http.ts'

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

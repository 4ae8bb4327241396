// Which token the agent sends to which remote: an app's own beats a global one, and a global
// REV_TOKEN (rev.host's) never goes to another host. How the token travels (an Authorization
// header per git command, against git's own smart-HTTP server) is in deploy-faults.test.ts.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { gitAuth } from '../agent/core/git.ts'

const GITHUB = 'https://github.com/me/site.git'
const REV = 'https://rev.host/me/site.git'

test("an app's own token beats the global one, with its own username or the global one", () => {
  const global = { GIT_TOKEN: 'global', GIT_TOKEN_HOST: 'github.com', GIT_USERNAME: 'oauth2' }
  assert.deepEqual(gitAuth({ global, app: { GIT_TOKEN: 'own' } }, GITHUB), {
    token: 'own',
    username: 'oauth2',
  })
  assert.deepEqual(gitAuth({ global, app: { REV_TOKEN: 'own-rev' } }, GITHUB), {
    token: 'own-rev',
    username: 'oauth2',
  })
  assert.deepEqual(gitAuth({ global, app: {} }, GITHUB), { token: 'global', username: 'oauth2' })
  assert.deepEqual(gitAuth({ global: {}, app: {} }, GITHUB), {
    token: undefined,
    username: undefined,
  })
})

test('a global REV_TOKEN goes to rev.host only; there it comes before GIT_TOKEN', () => {
  const global = { REV_TOKEN: 'rev', GIT_TOKEN: 'git', GIT_TOKEN_HOST: 'github.com' }
  assert.equal(gitAuth({ global, app: {} }, REV).token, 'rev')
  assert.equal(gitAuth({ global, app: {} }, 'https://eu.rev.host/me/site.git').token, 'rev')
  assert.equal(gitAuth({ global, app: {} }, GITHUB).token, 'git')
  assert.equal(gitAuth({ global: { REV_TOKEN: 'rev' }, app: {} }, GITHUB).token, undefined)
  assert.equal(
    gitAuth({ global: { REV_TOKEN: 'rev' }, app: {} }, 'https://notrev.host/x').token,
    undefined,
  )
  // The dashboard stores a rev.host app's token as REV_TOKEN; an older GIT_TOKEN does not hide it.
  assert.equal(
    gitAuth({ global: {}, app: { GIT_TOKEN: 'old', REV_TOKEN: 'new' } }, REV).token,
    'new',
  )
  assert.equal(
    gitAuth({ global: {}, app: { GIT_TOKEN: 'git', REV_TOKEN: 'rev' } }, GITHUB).token,
    'git',
  )
})

test('local paths and ssh addresses get no global REV_TOKEN', () => {
  for (const repo of ['/srv/git/site.git', 'git@rev.host:me/site.git']) {
    assert.equal(gitAuth({ global: { REV_TOKEN: 'rev' }, app: {} }, repo).token, undefined)
  }
})

test('a global GIT_TOKEN goes only to the host named with it, never to every remote', () => {
  const global = { GIT_TOKEN: 'git', GIT_TOKEN_HOST: 'GitHub.com' }
  assert.equal(gitAuth({ global, app: {} }, GITHUB).token, 'git')
  for (const repo of ['https://gitlab.com/me/site.git', 'https://github.com.evil.example/x', REV])
    assert.equal(gitAuth({ global, app: {} }, repo).token, undefined, repo)
  assert.equal(
    gitAuth({ global: { GIT_TOKEN: 'git' }, app: {} }, GITHUB).token,
    undefined,
    'no host: nowhere',
  )
  assert.equal(gitAuth({ global, app: { GIT_TOKEN: 'own' } }, 'https://gitlab.com/x').token, 'own')
})

// Each app setting is taken or refused alike through both doors, `app add` (POST /apps) and the
// apps file (`toehold apply`), with the same words: agent/apply/settings.ts holds one schema per
// setting. A value the schema takes reaches the next check (the API asks the remote, which is
// not there; the file reads it into the app), so "taken" is seen, not inferred.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { readFile } from '../agent/apply/file.ts'
import { apiUnderTest } from './helpers/api.ts'

const api = apiUnderTest()
after(() => api.close())

const REPO = '/nonexistent/web.git'
/** [setting, value, the refusal's message, or null: taken]. */
const CASES: [string, unknown, string | null][] = [
  // .invalid never resolves (RFC 2606): git fails at once, whatever the network.
  ['repo', 'ssh://git@host.invalid/me/web.git', null],
  ['repo', 'git@host.invalid:me/web.git', null],
  ['repo', '-uhack', 'not a git URL or path'],
  ['repo', 'https://me:ghp_secret@github.com/me/web.git', 'a URL with credentials would be shown'],
  ['repo', 'https://ghp_secret@github.com/me/web.git', 'a URL with credentials would be shown'],
  ['repo', '', 'must not be empty'],
  ['branch', 'release/1.x', null],
  ['branch', '-x', 'not a valid branch name'],
  ['branch', 'a b', 'not a valid branch name'],
  ['track', 'tags:v*', null],
  ['track', 'v*', 'must be tags:PATTERN (e.g. tags:v*)'],
  ['port', 8080, null],
  ['port', 70000, 'must be at most 65535'],
  ['port', 80.5, 'not a whole number'],
  ['port', '8080', 'expected number, received string'],
  ['bind', '::1', null],
  ['bind', '10.0.0.2', null],
  ['bind', 'localhost', 'not an IP address'],
  ['hostname', 'blog.home.arpa', null],
  ['hostname', 'Blog_Home', 'letters, digits, dots and dashes (e.g. blog.home.arpa)'],
  ['health', '/up', null],
  ['health', 'up', 'must start with "/"'],
  ['strategy', 'restart', null],
  ['strategy', 'rolling', 'expected one of "blue-green" | "restart"'],
  ['start', 'bun run serve', null],
  ['start', '', 'must not be empty'],
]

test('app add and the apps file take and refuse each setting alike, in the same words', async () => {
  for (const [key, value, refusal] of CASES) {
    const what = `${key} = ${JSON.stringify(value)}`
    // A port beside each setting: a hostname needs one (app add says so after the schema).
    const fields = { name: 'web', repo: REPO, port: 3999, [key]: value }

    const read = readFile({ apps: [fields] })
    const added = await api.call('POST', '/apps', fields)
    assert.equal(added.status, 400, what)
    if (refusal === null) {
      assert.ok('apps' in read, `${what}: the file refused it: ${JSON.stringify(read)}`)
      assert.match(added.json.error, /^cannot reach /, `${what}: app add`)
    } else {
      assert.ok('problem' in read, `${what}: the file took it`)
      assert.deepEqual(read.problem.path, ['apps', 0, key], what)
      assert.ok(read.problem.message.startsWith(refusal), `${what}: ${read.problem.message}`)
      assert.equal(added.json.error, `${key}: ${read.problem.message}`, `${what}: app add`)
    }
    for (const text of [JSON.stringify(read), added.json.error])
      assert.ok(!text.includes('ghp_secret'), `${what}: the credential is not echoed`)
  }
  assert.deepEqual((await api.call('GET', '/apps')).json, [], 'no app was added')
})

// Payload parsing in-process, on each sender's documented payloads: GitHub's own examples
// (@octokit/webhooks-examples), GitLab's, Bitbucket's and rev.host's (test/fixtures/webhooks).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import examples from '@octokit/webhooks-examples/api.github.com/index.json' with { type: 'json' }
import { gitEvent, PayloadError, parseBody } from '../agent/intake/payload.ts'
import { providerOf } from './helpers/providers.ts'

const fixture = (name: string) =>
  readFileSync(new URL(`fixtures/webhooks/${name}.json`, import.meta.url))
const json = { 'content-type': 'application/json' }
const github = (name: string) =>
  (examples.find((e) => e.name === name)?.examples ?? []) as Record<string, unknown>[]

/** The intake's two steps for a signed (not bearer) delivery. */
const parse = (headers: Record<string, string>, body: Buffer, branch = 'master') =>
  gitEvent(providerOf(headers), 'hub-sha256', headers, parseBody(headers, body, false), branch)

describe('GitHub', () => {
  const headers = (event: string) => ({ ...json, 'x-github-event': event })

  test('every push example: a branch push with its head, a branch or tag deletion, a tag', () => {
    for (const push of github('push')) {
      const body = Buffer.from(JSON.stringify(push))
      const event = parse(headers('push'), body)
      const ref = push.ref as string
      const commit = push.deleted ? null : push.after
      if (ref.startsWith('refs/tags/'))
        assert.deepEqual(event, { kind: 'tag', tag: ref.slice(10), commit })
      else
        assert.deepEqual(event, {
          kind: 'push',
          branch: ref.slice(11),
          commit,
        })
    }
  })

  test('ping examples are pings; release examples name their tag and action; others are named', () => {
    for (const ping of github('ping'))
      assert.deepEqual(parse(headers('ping'), Buffer.from(JSON.stringify(ping))), { kind: 'ping' })
    for (const example of github('release')) {
      const release = example.release as { tag_name: string; draft: boolean; prerelease: boolean }
      assert.deepEqual(parse(headers('release'), Buffer.from(JSON.stringify(example))), {
        kind: 'release',
        tag: release.tag_name,
        action: example.action,
        draft: release.draft,
        prerelease: release.prerelease,
      })
    }
    const star = Buffer.from(JSON.stringify(github('star')[0]))
    assert.deepEqual(parse(headers('star'), star), { kind: 'other', name: 'star' })
  })

  test('the form content type carries the JSON in its payload field', () => {
    const push = github('push').find((p) => p.ref === 'refs/heads/master')
    const form = Buffer.from(new URLSearchParams({ payload: JSON.stringify(push) }).toString())
    const event = parse(
      { 'content-type': 'application/x-www-form-urlencoded', 'x-github-event': 'push' },
      form,
    )
    assert.equal(event.kind, 'push')
  })
})

test('GitLab: Push Hook and Tag Push Hook', () => {
  assert.deepEqual(parse({ ...json, 'x-gitlab-event': 'Push Hook' }, fixture('gitlab-push')), {
    kind: 'push',
    branch: 'master',
    commit: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
  })
  assert.deepEqual(
    parse({ ...json, 'x-gitlab-event': 'Tag Push Hook' }, fixture('gitlab-tag-push')),
    { kind: 'tag', tag: 'v1.0.0', commit: '82b3d5ae55f7080f1e6022629cdb57bfae7cccc7' },
  )
})

test('Bitbucket: repo:push takes the tracked branch’s change', () => {
  assert.deepEqual(parse({ ...json, 'x-event-key': 'repo:push' }, fixture('bitbucket-push')), {
    kind: 'push',
    branch: 'master',
    commit: '709d658dc5b6d6afcd46049c2f332ee3f515a67d',
  })
  assert.deepEqual(parse({ ...json, 'x-event-key': 'diagnostics:ping' }, Buffer.from('{}')), {
    kind: 'ping',
  })
})

test('rev.host: a save event on a branch', () => {
  assert.deepEqual(parse(json, fixture('rev-save')), {
    kind: 'push',
    branch: 'master',
    commit: '3f786850e387550fdab836ed7e6dc881de23001b',
  })
})

test('bodies that are not a JSON object are refused', () => {
  for (const body of ['', 'not json', '[1,2]', '"text"', 'null']) {
    assert.throws(() => parseBody(json, Buffer.from(body), false), PayloadError, body)
  }
  assert.deepEqual(parseBody(json, Buffer.alloc(0), true), {})
})

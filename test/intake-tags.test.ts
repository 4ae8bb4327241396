// Each provider's tag event, as the intake reads it for a tag-tracked app: GitHub's own example
// payloads (@octokit/webhooks-examples), GitLab's documented Tag Push Hook, Bitbucket's tag
// change, rev.host naming a tag. The end-to-end path (relay, agent, real remote) is in
// track-tags.test.ts; here every provider's shape gets its decision.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import examples from '@octokit/webhooks-examples/api.github.com/index.json' with { type: 'json' }
import { gitEvent } from '../agent/intake/payload.ts'
import { isRefEvent, tagHint } from '../agent/intake/tags.ts'
import { providerOf } from './helpers/providers.ts'

type Json = Record<string, unknown>
const github = (event: string, match: (payload: Json) => boolean) => {
  const found = (examples as unknown as { name: string; examples: Json[] }[])
    .find((e) => e.name === event)
    ?.examples.find(match)
  assert.ok(found, `no ${event} example`)
  return found
}

const track = { pattern: '*', prereleases: false }
/** What the intake decides for a delivery with these headers and payload. */
function decide(headers: Record<string, string>, payload: Json, pattern = track) {
  const event = gitEvent(providerOf(headers), 'hub-sha256', headers, payload, 'main')
  assert.ok(isRefEvent(event), `a ref event: ${JSON.stringify(event)}`)
  return tagHint('app', pattern, event)
}

describe('tag events of every provider', () => {
  it('GitHub: a tag push names the tag and its object; a release names its tag', () => {
    const push = github('push', (p) => p.ref === 'refs/tags/simple-tag' && p.deleted === false)
    assert.deepEqual(decide({ 'x-github-event': 'push' }, push), {
      tag: 'simple-tag',
      commit: push.after,
    })
    const published = github('release', (p) => p.action === 'published')
    assert.deepEqual(decide({ 'x-github-event': 'release' }, published), { tag: '0.0.1' })
    const prereleased = github('release', (p) => p.action === 'prereleased')
    assert.equal(
      decide({ 'x-github-event': 'release' }, prereleased),
      'release prereleased: only published releases deploy',
    )
    assert.deepEqual(decide({ 'x-gitea-event': 'release' }, published), { tag: '0.0.1' })
  })

  it('GitLab: a Tag Push Hook names the tag and its commit', () => {
    const payload = JSON.parse(
      readFileSync(new URL('fixtures/webhooks/gitlab-tag-push.json', import.meta.url), 'utf8'),
    )
    assert.deepEqual(decide({ 'x-gitlab-event': 'Tag Push Hook' }, payload), {
      tag: 'v1.0.0',
      commit: payload.checkout_sha,
    })
    assert.equal(
      decide({ 'x-gitlab-event': 'Tag Push Hook' }, payload, {
        pattern: 'release-*',
        prereleases: false,
      }),
      'tag v1.0.0 does not match release-*',
    )
  })

  it('Bitbucket: a tag change names the tag and its target; a removed tag is a deletion', () => {
    const hash = 'a'.repeat(40)
    const created = {
      push: { changes: [{ old: null, new: { type: 'tag', name: 'v2.0.0', target: { hash } } }] },
    }
    assert.deepEqual(decide({ 'x-event-key': 'repo:push' }, created), {
      tag: 'v2.0.0',
      commit: hash,
    })
    const removed = {
      push: { changes: [{ old: { type: 'tag', name: 'v2.0.0', target: { hash } }, new: null }] },
    }
    assert.equal(decide({ 'x-event-key': 'repo:push' }, removed), 'tag v2.0.0 was deleted')
  })

  it('rev.host: an event naming refs/tags/… is a tag push', () => {
    const commit = 'b'.repeat(40)
    assert.deepEqual(
      decide({}, { event: 'save', repo: 'me/app', ref: 'refs/tags/v3.1.0', commit }),
      { tag: 'v3.1.0', commit },
    )
  })
})

// From a verified delivery to what happened in the repository, for each provider's payload.
import type { Headers } from './verify.ts'

export type GitEvent =
  | { kind: 'ping' }
  /** A branch moved (`commit` = its new head) or was deleted (`commit` = null). */
  | { kind: 'push'; branch: string; commit: string | null }
  /** A tag was pushed (`commit` = the object it names: a commit or an annotated tag) or deleted (null). */
  | { kind: 'tag'; tag: string; commit: string | null }
  /** GitHub's `release` event: a release for `tag` was published (or another `action`). */
  | { kind: 'release'; tag: string; action: string; draft: boolean; prerelease: boolean }
  /** A CI's `Authorization: Bearer` trigger; `commit` is an optional hint. */
  | { kind: 'trigger'; commit: string | null }
  | { kind: 'other'; name: string }

export class PayloadError extends Error {
  override name = 'PayloadError'
}

const ZERO_SHA = /^0+$/
const SHA = /^[0-9a-f]{7,64}$/i

type Json = Record<string, unknown>

/** JSON, or GitHub's form encoding with the JSON in a `payload` field. */
export function parseBody(headers: Headers, body: Buffer, allowEmpty: boolean): Json {
  if (body.length === 0 && allowEmpty) return {}
  const type = headers['content-type']?.split(';')[0]?.trim().toLowerCase()
  let text = body.toString('utf8')
  if (type === 'application/x-www-form-urlencoded') {
    // GitHub's form encoding; a JSON body sent by `curl -d` (which labels it a form) still reads.
    text = new URLSearchParams(text).get('payload') ?? text
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new PayloadError('not JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new PayloadError('not a JSON object')
  return value as Json
}

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null)
const obj = (value: unknown): Json =>
  typeof value === 'object' && value !== null ? (value as Json) : {}

/** A full or abbreviated object id, lower-cased; null for none or git's all-zero "deleted". */
const checkedSha = (sha: string | null) =>
  sha && SHA.test(sha) && !ZERO_SHA.test(sha) ? sha.toLowerCase() : null

/** `refs/heads/x` → branch x, `refs/tags/v1` → tag v1. */
function fromRef(ref: string | null, after: string | null): GitEvent {
  const commit = checkedSha(after)
  if (ref?.startsWith('refs/tags/')) return { kind: 'tag', tag: ref.slice(10), commit }
  if (ref?.startsWith('refs/heads/')) return { kind: 'push', branch: ref.slice(11), commit }
  throw new PayloadError('push without a branch ref')
}

/** GitHub's (and Gitea's) `release` event: `action`, `release.tag_name`, `draft`, `prerelease`. */
function releaseEvent(payload: Json): GitEvent {
  const release = obj(payload.release)
  const tag = str(release.tag_name)
  const action = str(payload.action)
  // Not a release toehold can act on (nor one GitHub sends): like any other event, ignored.
  if (tag === null || tag === '' || action === null) return { kind: 'other', name: 'release' }
  return {
    kind: 'release',
    tag,
    action,
    draft: release.draft === true,
    prerelease: release.prerelease === true,
  }
}

export function gitEvent(
  headers: Headers,
  payload: Json,
  bearer: boolean,
  trackedBranch: string,
): GitEvent {
  if (bearer) {
    const hint = str(payload.commit)
    return { kind: 'trigger', commit: hint && SHA.test(hint) ? hint.toLowerCase() : null }
  }

  // GitHub, Gitea and Forgejo.
  const github = headers['x-github-event'] ?? headers['x-gitea-event'] ?? headers['x-forgejo-event']
  if (github !== undefined) {
    if (github === 'ping') return { kind: 'ping' }
    if (github === 'release') return releaseEvent(payload)
    if (github !== 'push') return { kind: 'other', name: github }
    return fromRef(str(payload.ref), payload.deleted === true ? null : str(payload.after))
  }

  const gitlab = headers['x-gitlab-event']
  if (gitlab !== undefined) {
    if (gitlab !== 'Push Hook' && gitlab !== 'Tag Push Hook') return { kind: 'other', name: gitlab }
    return fromRef(str(payload.ref), str(payload.checkout_sha) ?? str(payload.after))
  }

  const bitbucket = headers['x-event-key']
  if (bitbucket !== undefined) {
    if (bitbucket === 'diagnostics:ping') return { kind: 'ping' }
    if (bitbucket !== 'repo:push') return { kind: 'other', name: bitbucket }
    // One push can move several refs: prefer the tracked branch's change, else the last one.
    const changes = obj(payload.push).changes
    if (!Array.isArray(changes) || changes.length === 0) {
      throw new PayloadError('repo:push without changes')
    }
    const named = (c: unknown) => str(obj(obj(c).new).name) ?? str(obj(obj(c).old).name)
    const change = obj(changes.find((c) => named(c) === trackedBranch) ?? changes.at(-1))
    const moved = change.new === null ? obj(change.old) : obj(change.new)
    const name = str(moved.name)
    if (name === null) throw new PayloadError('repo:push change without a name')
    if (moved.type === 'tag')
      return {
        kind: 'tag',
        tag: name,
        commit: change.new === null ? null : checkedSha(str(obj(moved.target).hash)),
      }
    return {
      kind: 'push',
      branch: name,
      commit: change.new === null ? null : str(obj(moved.target).hash),
    }
  }

  // rev.host and any other Standard Webhooks sender: {"event","ref","commit"} (or GitHub-like ref/after).
  const event = str(payload.event) ?? str(payload.type)
  if (event === 'ping') return { kind: 'ping' }
  if (event !== null && event !== 'save' && event !== 'merge' && event !== 'push')
    return { kind: 'other', name: event }
  return fromRef(str(payload.ref), str(payload.commit) ?? str(payload.after))
}

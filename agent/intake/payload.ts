// From a verified delivery to what happened in the repository, for each provider's payload.
import type { Provider } from '../api/contract.ts'
import type { Headers, Scheme } from './verify.ts'

export type GitEvent =
  | { kind: 'ping' }
  /** A branch moved (`commit` = its new head) or was deleted (`commit` = null). */
  | { kind: 'push'; branch: string; commit: string | null }
  /** A tag was pushed (`commit` = what it names) or deleted (`commit` = null). */
  | { kind: 'tag'; tag: string; commit: string | null }
  /** GitHub's `release` event: a release for `tag` was published (or another `action`). */
  | { kind: 'release'; tag: string; action: string; draft: boolean; prerelease: boolean }
  /** A CI's `Authorization: Bearer` trigger; `commit` is an optional hint. */
  | { kind: 'trigger'; commit: string | null }
  | { kind: 'other'; name: string }

export class PayloadError extends Error {
  override name = 'PayloadError'
}

/** A full commit id: SHA-1 (40 hex) or SHA-256 (64 hex). Nothing else reaches git or a row. */
const SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/i
const ZERO_SHA = /^0+$/

/** A commit id from a payload: null for none (or git's all-zero "no commit"), else a full sha. */
function commitId(value: string | null): string | null {
  if (value === null || (ZERO_SHA.test(value) && SHA.test(value))) return null
  if (!SHA.test(value)) throw new PayloadError('a commit id that is not a full hex sha')
  return value.toLowerCase()
}

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

/** `refs/heads/x` → branch x, `refs/tags/v1` → tag v1. */
function fromRef(ref: string | null, after: string | null): GitEvent {
  const commit = commitId(after)
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

/** GitHub, Gitea and Forgejo: the event is named in a header, the commit is the signed `after`. */
function github(headers: Headers, payload: Json): GitEvent {
  const event = headers['x-github-event'] ?? headers['x-gitea-event'] ?? headers['x-forgejo-event']
  if (event === undefined) throw new PayloadError('no event header')
  if (event === 'ping') return { kind: 'ping' }
  if (event === 'release') return releaseEvent(payload)
  if (event !== 'push') return { kind: 'other', name: event }
  return fromRef(str(payload.ref), payload.deleted === true ? null : str(payload.after))
}

function gitlab(headers: Headers, payload: Json): GitEvent {
  const event = headers['x-gitlab-event']
  if (event === undefined) throw new PayloadError('no event header')
  if (event !== 'Push Hook' && event !== 'Tag Push Hook') return { kind: 'other', name: event }
  return fromRef(str(payload.ref), str(payload.checkout_sha) ?? str(payload.after))
}

function bitbucket(headers: Headers, payload: Json, trackedBranch: string): GitEvent {
  const event = headers['x-event-key']
  if (event === undefined) throw new PayloadError('no event header')
  if (event === 'diagnostics:ping') return { kind: 'ping' }
  if (event !== 'repo:push') return { kind: 'other', name: event }
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
  if (change.new === null)
    return moved.type === 'tag'
      ? { kind: 'tag', tag: name, commit: null }
      : { kind: 'push', branch: name, commit: null }
  const commit = commitId(str(obj(moved.target).hash))
  if (commit === null) throw new PayloadError('repo:push change without a commit')
  if (moved.type === 'tag') return { kind: 'tag', tag: name, commit }
  return { kind: 'push', branch: name, commit }
}

/** rev.host and any other Standard Webhooks sender: {"event","ref","commit"} (or GitHub-like ref/after). */
function standard(payload: Json): GitEvent {
  const event = str(payload.event) ?? str(payload.type)
  if (event === 'ping') return { kind: 'ping' }
  if (event !== null && event !== 'save' && event !== 'merge' && event !== 'push')
    return { kind: 'other', name: event }
  return fromRef(str(payload.ref), str(payload.commit) ?? str(payload.after))
}

/**
 * What happened, read with the parser of the app's provider (never chosen by a header: the
 * relay could add any). A GitLab app that receives a Standard Webhooks signature still gets
 * GitLab's payload.
 */
export function gitEvent(
  provider: Provider,
  scheme: Scheme,
  headers: Headers,
  payload: Json,
  trackedBranch: string,
): GitEvent {
  if (scheme === 'bearer') return { kind: 'trigger', commit: commitId(str(payload.commit)) }
  switch (provider) {
    case 'github':
      return github(headers, payload)
    case 'gitlab':
      return gitlab(headers, payload)
    case 'bitbucket':
      return bitbucket(headers, payload, trackedBranch)
    case 'rev':
    case 'standard':
      return standard(payload)
  }
}

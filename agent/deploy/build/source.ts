// Fetching: a cached bare clone per app, the commit to deploy resolved in it, and that commit's
// tree written into a fresh release directory. Releases hold no .git link, so pruning the cache
// or old releases never breaks one. The token travels per command (agent/git.ts).

import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { short } from '../../core/format.ts'
import { type GitAuth, git, gitError, redactUrl } from '../../core/git.ts'
import { counts, newestFirst, type TagRef, type Tracking } from '../../core/tags.ts'

export type Source = {
  app: string
  repo: string
  branch: string
  /** The bare clone: home.repoCache(app). */
  cache: string
  auth: GitAuth
  signal: AbortSignal
}

export type Resolved = { commit: string; message: string }

/** Talks to the remote: through agent/git.ts, which carries the token. */
const remote = async (source: Source, args: string[]) =>
  (await git(source.auth, { cwd: source.cache, signal: source.signal })).raw(args)

/** Works inside the cache only: plain git, no credentials anywhere near it. */
async function local(source: Source, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('git', ['--git-dir', source.cache, ...args], {
    signal: source.signal,
    maxBuffer: 16 * 1024 * 1024,
  })
  return stdout
}

/** Git's failure to fetch, as a reason a person can act on. */
function fetchProblem(source: Source, error: unknown): string {
  const text = gitError(error, source.auth)
  const url = redactUrl(source.repo)
  if (
    /could not read (Username|Password)|Authentication failed|requested URL returned error: 40[13]/i.test(
      text,
    )
  )
    return `authentication failed for ${url}: check the token (toehold env set ${source.app} GIT_TOKEN …)`
  if (/couldn't find remote ref/i.test(text))
    return `branch ${source.branch} does not exist on ${url}`
  return `remote unreachable: ${text}`
}

/**
 * Fetches into one cache run one at a time: git refuses two updates of the same ref at once, and
 * a poll's tag check can meet a deployment's fetch.
 */
const fetching = new Map<string, Promise<unknown>>()

function fetch(source: Source, refspecs: string[], options: string[] = []): Promise<void> {
  const run = async () => {
    if (!existsSync(join(source.cache, 'HEAD'))) {
      mkdirSync(source.cache, { recursive: true })
      await local(source, ['init', '--bare', '--quiet'])
    }
    try {
      // --verbose: simple-git waits 50 ms more for a git that printed nothing (a quiet fetch).
      await remote(source, [
        'fetch',
        '--verbose',
        '--no-tags',
        ...options,
        '--end-of-options',
        source.repo,
        ...refspecs,
      ])
    } catch (error) {
      source.signal.throwIfAborted()
      throw new Error(fetchProblem(source, error))
    }
  }
  const done = (fetching.get(source.cache) ?? Promise.resolve()).then(run)
  const settled = done.catch(() => {})
  fetching.set(source.cache, settled)
  void settled.then(() => {
    if (fetching.get(source.cache) === settled) fetching.delete(source.cache)
  })
  return done
}

/** The commit a revision names in the cache, with its subject line; null when it names none. */
async function lookUp(source: Source, rev: string): Promise<Resolved | null> {
  try {
    const out = await local(source, [
      'log',
      '-1',
      '--format=%H%x00%s',
      '--end-of-options',
      `${rev}^{commit}`,
    ])
    const [commit = '', message = ''] = out.trim().split('\0')
    return { commit, message }
  } catch {
    return null
  }
}

/**
 * The commit to deploy. Without `ref`: the tracked branch's head, which must contain `hint` (a
 * pushed commit) when one is given. With `ref`: exactly that branch, tag or commit.
 */
export async function resolveCommit(
  source: Source,
  want: { hint?: string | undefined; ref?: string | undefined },
): Promise<Resolved> {
  const url = redactUrl(source.repo)
  if (want.ref === undefined) {
    const tracking = `refs/remotes/origin/${source.branch}`
    await fetch(source, [`+refs/heads/${source.branch}:${tracking}`])
    const head = await lookUp(source, tracking)
    if (!head) throw new Error(`branch ${source.branch} does not exist on ${url}`)
    if (want.hint && want.hint !== head.commit) {
      if (!(await isAncestor(source, want.hint, head.commit)))
        throw new Error(`commit ${short(want.hint)} is not on branch ${source.branch} of ${url}`)
    }
    return head
  }

  const ref = want.ref
  await fetch(source, ['+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*'])
  for (const rev of [`refs/remotes/origin/${ref}`, `refs/tags/${ref}`, ref]) {
    const found = await lookUp(source, rev)
    if (found) return found
  }
  // A full sha on no branch or tag may still be on the remote (e.g. a pull request's head).
  if (/^([0-9a-f]{40}|[0-9a-f]{64})$/i.test(ref)) {
    try {
      await remote(source, [
        'fetch',
        '--verbose',
        '--no-tags',
        '--end-of-options',
        source.repo,
        ref,
      ])
    } catch {
      throw new Error(`commit ${ref} does not exist on ${url}`)
    }
    const found = await lookUp(source, ref)
    if (found) return found
  }
  throw new Error(`no branch, tag or commit "${ref}" on ${url}`)
}

/** Where a tag-tracked app's cache mirrors the remote's tags (pruned: a deleted tag goes). */
const TAGS = 'refs/tracked-tags/'

/** Every tag on the remote, fetched into the cache; none are newest-first yet. */
async function remoteTags(source: Source): Promise<TagRef[]> {
  await fetch(source, [`+refs/tags/*:${TAGS}*`], ['--prune'])
  const out = await local(source, [
    'for-each-ref',
    '--format=%(refname:lstrip=2)%00%(objectname)%00%(*objectname)%00%(creatordate:unix)',
    TAGS,
  ])
  return out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [tag = '', object = '', peeled = '', created = '0'] = line.split('\0')
      return { tag, object, commit: peeled || object, created: Number(created) }
    })
}

/** The tags that count for the app on the remote, newest first. */
export async function trackedTags(source: Source, track: Tracking): Promise<TagRef[]> {
  return newestFirst((await remoteTags(source)).filter((t) => counts(t.tag, track)))
}

/** Whether commit `a` is `b` or an ancestor of it, in the cache (false when either is missing). */
export async function isAncestor(source: Source, a: string, b: string): Promise<boolean> {
  try {
    await local(source, ['merge-base', '--is-ancestor', '--end-of-options', a, b])
    return true
  } catch {
    return false
  }
}

/**
 * The commit of the newest tag that counts for `track`. A hinted tag (from a tag push or a
 * release) must still exist, still name the hinted object, and be reachable from the newest; and
 * unless `live` is null (a deploy by hand), the newest must not be older than the live commit.
 */
export async function resolveTag(
  source: Source,
  track: Tracking,
  want: { tag?: string | undefined; hint?: string | undefined; live: string | null },
): Promise<Resolved & { tag: string }> {
  const url = redactUrl(source.repo)
  const all = await remoteTags(source)
  const newest = newestFirst(all.filter((t) => counts(t.tag, track)))[0]
  let named: TagRef | undefined
  if (want.tag !== undefined) {
    named = all.find((t) => t.tag === want.tag)
    if (!named) throw new Error(`tag ${want.tag} does not exist on ${url} (deleted?)`)
    const hint = want.hint
    if (hint && !named.object.startsWith(hint) && !named.commit.startsWith(hint))
      throw new Error(
        `tag ${want.tag} moved: the event named ${short(hint)}, ${url} has ${short(named.commit)}`,
      )
  }
  if (!newest) throw new Error(`no tag matching ${track.pattern} on ${url}`)
  if (
    named &&
    named.commit !== newest.commit &&
    !(await isAncestor(source, named.commit, newest.commit))
  )
    throw new Error(
      `tag ${named.tag} (${short(named.commit)}) is not reachable from ${newest.tag} (${short(newest.commit)}), the newest tag matching ${track.pattern}`,
    )
  if (
    want.live &&
    newest.commit !== want.live &&
    (await isAncestor(source, newest.commit, want.live))
  )
    throw new Error(
      `tag ${newest.tag} (${short(newest.commit)}) is older than the live commit ${short(want.live)}: tags never move an app backwards (toehold deploy --ref ${newest.tag} does)`,
    )
  const found = await lookUp(source, `${TAGS}${newest.tag}`)
  if (!found) throw new Error(`tag ${newest.tag} on ${url} does not name a commit`)
  return { ...found, tag: newest.tag }
}

/** Writes the commit's files (not its history) into `dir`. */
export async function checkout(source: Source, commit: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true })
  await local(source, [
    '--work-tree',
    dir,
    'read-tree',
    '-u',
    '--reset',
    '--end-of-options',
    commit,
  ])
}

/** Lock files a git killed together with the agent left behind; they would fail the next fetch. */
export function clearStaleLocks(cache: string): void {
  const list = (dir: string, recursive: boolean) =>
    existsSync(dir) ? readdirSync(dir, { withFileTypes: true, recursive }) : []
  for (const entry of [...list(cache, false), ...list(join(cache, 'refs'), true)]) {
    if (entry.isFile() && entry.name.endsWith('.lock'))
      rmSync(join(entry.parentPath, entry.name), { force: true })
  }
}

// Which deliveries move a tag-tracked app: a pushed tag or a published GitHub release that counts
// for its pattern. Like a branch push, the event is only a hint: the engine resolves the tag on
// the real remote (deploy/build/source.ts).
import { counts, isPrerelease, type Tracking } from '../core/tags.ts'
import type { GitEvent } from './payload.ts'

type RefEvent = Extract<GitEvent, { kind: 'push' | 'tag' | 'release' }>

export const isRefEvent = (event: GitEvent): event is RefEvent =>
  event.kind === 'push' || event.kind === 'tag' || event.kind === 'release'

/** The tag (and the object the event says it names) to deploy, or why the event is ignored. */
export function tagHint(
  app: string,
  track: Tracking,
  event: RefEvent,
): { tag: string; commit?: string } | string {
  if (event.kind === 'push') return `push to ${event.branch}; ${app} tracks tags ${track.pattern}`
  const tag = event.tag
  if (event.kind === 'release') {
    if (event.action !== 'published')
      return `release ${event.action}: only published releases deploy`
    if (event.draft) return `release ${tag} is a draft`
    if (event.prerelease && !track.prereleases)
      return `release ${tag} is a pre-release; ${app} takes those only with --prereleases`
  } else if (event.commit === null) return `tag ${tag} was deleted`
  if (!counts(tag, track))
    return isPrerelease(tag) && counts(tag, { ...track, prereleases: true })
      ? `tag ${tag} is a pre-release; ${app} takes those only with --prereleases`
      : `tag ${tag} does not match ${track.pattern}`
  return event.kind === 'tag' && event.commit ? { tag, commit: event.commit } : { tag }
}

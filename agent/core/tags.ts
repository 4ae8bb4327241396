// Tag tracking (`--track tags:GLOB`): which tags count for an app, and which one is the newest.
// Version tags (v1.2.0, 1.2.0) are ordered as semver; any other tags by when they were created.
import { matchesGlob } from 'node:path'
// The three functions, not the package's index, which loads all of semver (47 modules).
import prerelease from 'semver/functions/prerelease.js'
import rcompare from 'semver/functions/rcompare.js'
import valid from 'semver/functions/valid.js'

export type Tracking = { pattern: string; prereleases: boolean }

/** A tag as the cache knows it: the object it names, the commit under it, when it was made. */
export type TagRef = { tag: string; object: string; commit: string; created: number }

const PREFIX = 'tags:'

/** Why `track` is not a valid tracking spec (`tags:GLOB`), or null when it is. */
export function trackProblem(track: string): string | null {
  if (!track.startsWith(PREFIX)) return 'must be tags:PATTERN (e.g. tags:v*)'
  const pattern = track.slice(PREFIX.length)
  if (pattern === '' || pattern.length > 255) return 'the tag pattern must be 1 to 255 characters'
  if (/[\s~^:\\\0]/.test(pattern) || pattern.startsWith('-'))
    return `"${pattern}" is not a tag pattern`
  return null
}

/** The app's tag tracking, or null when it tracks its branch. */
export function tracking(app: { track: string | null; prereleases: boolean }): Tracking | null {
  return app.track?.startsWith(PREFIX)
    ? { pattern: app.track.slice(PREFIX.length), prereleases: app.prereleases }
    : null
}

/** A version tag with a pre-release part (v2.0.0-rc.1). */
export const isPrerelease = (tag: string) => valid(tag) !== null && prerelease(tag) !== null

/** Whether a tag counts: it matches the pattern and is no pre-release unless those count. */
export const counts = (tag: string, { pattern, prereleases }: Tracking) =>
  matchesGlob(tag, pattern) && (prereleases || !isPrerelease(tag))

/** Newest first: semver order when every tag is a version, else creation order. */
export function newestFirst(tags: TagRef[]): TagRef[] {
  const byCreation = (a: TagRef, b: TagRef) => b.created - a.created || b.tag.localeCompare(a.tag)
  const versions = tags.every((t) => valid(t.tag) !== null)
  return [...tags].sort(
    versions ? (a, b) => rcompare(a.tag, b.tag) || byCreation(a, b) : byCreation,
  )
}

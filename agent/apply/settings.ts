// What each app setting accepts, in one place for both doors: `app add` (POST /apps) and the apps
// file (`toehold apply`). A value is taken or refused, with the same words, whichever way it came.
import * as v from 'valibot'
import { appNameProblem } from '../../shared/ids.ts'
import { STRATEGIES } from '../api/contract.ts'
import { trackProblem } from '../core/tags.ts'
import { checked, text } from '../core/validate.ts'

/** An http(s) URL with a user or password in it, or any URL with a password (ssh's user is fine). */
function hasCredentials(repo: string): boolean {
  let url: URL
  try {
    url = new URL(repo)
  } catch {
    return false // a path or an scp-like ssh address (git@host:path)
  }
  return url.password !== '' || (url.username !== '' && /^https?:$/.test(url.protocol))
}

const HOSTNAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/

export const SETTING = {
  name: checked(appNameProblem),
  repo: v.pipe(
    text(2048),
    v.check((repo) => !repo.startsWith('-'), 'not a git URL or path'),
    v.check(
      (repo) => !hasCredentials(repo),
      "a URL with credentials would be shown in status and the dashboard: give the URL without them and the token as the app's GIT_TOKEN (`toehold env set <app> GIT_TOKEN --value-stdin`, or a reference in the apps file's env)",
    ),
  ),
  branch: v.pipe(text(255), v.regex(/^(?!-)[^\s~^:?*[\\]+$/, 'not a valid branch name')),
  /** `tags:GLOB`. */
  track: checked(trackProblem),
  port: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)),
  /** An IPv4 or IPv6 address to listen on. */
  bind: v.pipe(v.string(), v.ip('not an IP address')),
  strategy: v.picklist(STRATEGIES),
  hostname: v.pipe(
    v.string(),
    v.regex(HOSTNAME, 'letters, digits, dots and dashes (e.g. blog.home.arpa)'),
  ),
  health: v.pipe(v.string(), v.startsWith('/'), v.maxLength(1024)),
  start: text(4096),
}

// The knobs of deploys and supervision: the agent's environment, overridden per app (or for all
// apps) with `toehold env set [-g|NAME] KEY VALUE`. Durations read like "250ms", "10s", "5m".
import { parseCount, parseDuration } from '../../shared/units.ts'

export type Settings = {
  /** Wait this long after a request for newer ones before deploying (collapses bursts of pushes). */
  debounceMs: number
  /** Time limit of the install step and of the predeploy step, each. */
  buildTimeoutMs: number
  healthTimeoutMs: number
  /** Apps without a port count as healthy when still running after this long. */
  aliveMs: number
  /** From SIGTERM to SIGKILL when stopping an app's process group. */
  graceMs: number
  /** First restart delay after a crash; it doubles with each crash in the crash window. */
  backoffMs: number
  /** Replaces `bun install [--frozen-lockfile]`; run with `sh -c`. */
  installCommand: string | null
  /** Built releases kept on disk for rollback (the live one is always kept). */
  keepReleases: number
}

const DEFAULTS: Settings = {
  debounceMs: 0,
  buildTimeoutMs: 10 * 60_000,
  healthTimeoutMs: 30_000,
  aliveMs: 3000,
  graceMs: 10_000,
  backoffMs: 1000,
  installCommand: null,
  keepReleases: 5,
}

const KNOBS: [string, keyof Settings, (name: string, text: string) => number][] = [
  ['TOEHOLD_DEBOUNCE', 'debounceMs', parseDuration],
  ['TOEHOLD_BUILD_TIMEOUT', 'buildTimeoutMs', parseDuration],
  ['TOEHOLD_HEALTH_TIMEOUT', 'healthTimeoutMs', parseDuration],
  ['TOEHOLD_ALIVE_AFTER', 'aliveMs', parseDuration],
  ['TOEHOLD_GRACE', 'graceMs', parseDuration],
  ['TOEHOLD_RESTART_BACKOFF', 'backoffMs', parseDuration],
  ['TOEHOLD_KEEP_RELEASES', 'keepReleases', parseCount],
]

/**
 * Settings from the agent's environment overlaid with the app's (app values win). A value that
 * does not read keeps its default and is reported through `warn`, so a typo never stops a deploy.
 */
export function settingsFor(
  appEnv: Record<string, string>,
  warn: (problem: string) => void = () => {},
): Settings {
  const env: Record<string, string | undefined> = { ...process.env, ...appEnv }
  const settings: Settings = { ...DEFAULTS, installCommand: env.TOEHOLD_INSTALL_CMD || null }
  for (const [name, key, parse] of KNOBS) {
    const text = env[name]
    if (text === undefined || text === '') continue
    try {
      Object.assign(settings, { [key]: parse(name, text) })
    } catch (error) {
      warn(`${(error as Error).message}; using the default`)
    }
  }
  settings.keepReleases = Math.max(1, settings.keepReleases)
  return settings
}

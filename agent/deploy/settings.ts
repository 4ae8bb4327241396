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
  /** After a switch: how long the old release may finish what it has in flight (WebSockets,
   *  streams) before it is stopped. */
  drainMs: number
  /** First restart delay after a crash; it doubles with each crash in the crash window. */
  backoffMs: number
  /** Replaces `bun install [--frozen-lockfile]`; run with `sh -c`. */
  installCommand: string | null
  /** Built releases kept on disk for rollback (the live one is always kept). */
  keepReleases: number
}

/** The defaults of every knob; the agent's environment overrides them (agent/config.ts). */
export const DEFAULT_SETTINGS: Settings = {
  debounceMs: 0,
  buildTimeoutMs: 10 * 60_000,
  healthTimeoutMs: 30_000,
  aliveMs: 3000,
  graceMs: 10_000,
  drainMs: 30_000,
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
  ['TOEHOLD_DRAIN', 'drainMs', parseDuration],
  ['TOEHOLD_RESTART_BACKOFF', 'backoffMs', parseDuration],
  ['TOEHOLD_KEEP_RELEASES', 'keepReleases', parseCount],
]

/**
 * `base` overlaid with the knobs set in `env`. A value that does not read goes to `problem`:
 * the agent's own environment fails the start with it; an app's keeps the default and warns, so
 * a typo in `toehold env set` never stops a deploy.
 */
export function readSettings(
  base: Settings,
  env: Record<string, string | undefined>,
  problem: (error: Error) => void,
): Settings {
  const settings: Settings = { ...base }
  if (env.TOEHOLD_INSTALL_CMD) settings.installCommand = env.TOEHOLD_INSTALL_CMD
  for (const [name, key, parse] of KNOBS) {
    const text = env[name]
    if (text === undefined || text === '') continue
    try {
      Object.assign(settings, { [key]: parse(name, text) })
    } catch (error) {
      problem(error as Error)
    }
  }
  settings.keepReleases = Math.max(1, settings.keepReleases)
  return settings
}

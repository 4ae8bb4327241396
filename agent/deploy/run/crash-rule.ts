// When a live release crashes: restart it after a backoff that doubles with each crash in the
// window, or, at CRASH_LIMIT crashes within CRASH_WINDOW_MS, call it a crash loop and wait for
// the next deploy or start. Pure: the supervisor keeps the history and the timers.

export const CRASH_LIMIT = 5
export const CRASH_WINDOW_MS = 60_000
export const MAX_BACKOFF_MS = 30_000

export type CrashVerdict = { crashes: number[]; restartInMs: number | null }

/** The crash history after a crash at `now`, and when to restart (null: a crash loop). */
export function afterCrash(
  crashes: readonly number[],
  now: number,
  backoffMs: number,
): CrashVerdict {
  const recent = [...crashes.filter((at) => now - at < CRASH_WINDOW_MS), now]
  if (recent.length >= CRASH_LIMIT) return { crashes: recent, restartInMs: null }
  return {
    crashes: recent,
    restartInMs: Math.min(backoffMs * 2 ** (recent.length - 1), MAX_BACKOFF_MS),
  }
}

// How times, durations, commits and key paths read to a person: one copy for the CLI, the
// dashboard and the reasons the engine writes. No imports, so a client may load it.

/** "just now", "42s ago", "3h ago"; `none` when there is no time. */
export function ago(iso: string | null | undefined, now = Date.now(), none = '-'): string {
  if (!iso) return none
  const seconds = Math.round((now - Date.parse(iso)) / 1000)
  if (seconds < 5) return 'just now'
  const units: [number, string][] = [
    [86_400, 'd'],
    [3600, 'h'],
    [60, 'm'],
    [1, 's'],
  ]
  const [size, unit] = units.find(([size]) => seconds >= size) ?? [1, 's']
  return `${Math.floor(seconds / size)}${unit} ago`
}

/** A commit's first 7 hex digits; `none` when there is no commit. */
export const short = (sha: string | null | undefined, none = '-') => (sha ? sha.slice(0, 7) : none)

/** 600000 → "10m", 1500 → "1.5s", 250 → "250ms": durations in reasons read like the settings. */
export function duration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`
  if (ms >= 1000) return `${Math.round(ms / 100) / 10}s`
  return `${ms}ms`
}

/** `apps[1].env.TOKEN` */
export const showPath = (path: (string | number)[]) =>
  path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('')

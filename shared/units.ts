// Reading sizes, durations and counts from flags and environment variables, with clear errors.

export class ConfigError extends Error {
  override name = 'ConfigError'
}

const BYTES: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
}
const MILLIS: Record<string, number> = {
  ms: 1,
  '': 1000,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
}

function amount(
  name: string,
  text: string,
  units: Record<string, number>,
  example: string,
): number {
  const [, number, suffix = ''] = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text) ?? []
  const unit = units[suffix.toLowerCase()]
  if (number === undefined || unit === undefined) {
    throw new ConfigError(`${name}: cannot read "${text}" (e.g. ${example})`)
  }
  return Math.round(Number(number) * unit)
}

/** "25MiB", "512k", "1048576" → bytes. */
export const parseBytes = (name: string, text: string) => amount(name, text, BYTES, '25MiB')

/** "72h", "30m", "90s", "250ms"; a bare number is seconds → milliseconds. */
export const parseDuration = (name: string, text: string) => amount(name, text, MILLIS, '72h')

export function parseCount(name: string, text: string): number {
  if (!/^\d+$/.test(text.trim()))
    throw new ConfigError(`${name}: expected a whole number, got "${text}"`)
  return Number(text)
}

/** Reads an environment variable through a parser, falling back to a default when unset or empty. */
export function fromEnv<T>(
  env: NodeJS.ProcessEnv,
  name: string,
  parse: (name: string, text: string) => T,
  fallback: T,
): T {
  const text = env[name]
  return text === undefined || text === '' ? fallback : parse(name, text)
}

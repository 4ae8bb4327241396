// The apps file `toehold apply` reads and `toehold export` writes (TOML on disk; the CLI sends it
// here as JSON with its secret references already resolved). One table, FIELDS, says per app
// setting: its key in the file, what it accepts, the app setting it sets, and what a change does
// to a deployed app. A new `app add` setting is one row.
import * as v from 'valibot'
import { parseDuration } from '../../shared/units.ts'
import { PROVIDERS, type Provider } from '../api/contract.ts'
import { duration } from '../core/format.ts'
import { type Problem, validate } from '../core/validate.ts'
import type { App, AppSettings } from '../state/apps.ts'
import { SETTING } from './settings.ts'

type Value = string | number | boolean | null

type Field = {
  key: string
  /** What the file accepts; its output is the setting's value. */
  schema: v.GenericSchema<unknown, Value>
  /** The app setting it sets. */
  setting: keyof AppSettings
  /** The setting's value when the key is absent from the file. */
  absent: Value
  /**
   * What a change does to a deployed app: `restart` (its process sees the setting), `deploy` (it
   * names what to deploy: the app deploys what it now tracks), or nothing.
   */
  effect: 'restart' | 'deploy' | null
  /** The setting as the file writes it (export). */
  toFile?: (value: Value) => Value
}

const poll = v.pipe(
  v.string(),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    try {
      const ms = parseDuration('poll', dataset.value)
      if (ms >= 10_000) return ms
      addIssue({ message: 'at least 10s' })
    } catch (error) {
      addIssue({ message: (error as Error).message })
    }
    return NEVER
  }),
)

export const FIELDS: Field[] = [
  { key: 'repo', schema: SETTING.repo, setting: 'repo', absent: null, effect: 'deploy' },
  { key: 'branch', schema: SETTING.branch, setting: 'branch', absent: 'main', effect: 'deploy' },
  { key: 'track', schema: SETTING.track, setting: 'track', absent: null, effect: 'deploy' },
  {
    key: 'prereleases',
    schema: v.boolean(),
    setting: 'prereleases',
    absent: false,
    effect: 'deploy',
  },
  { key: 'port', schema: SETTING.port, setting: 'port', absent: null, effect: 'restart' },
  { key: 'health', schema: SETTING.health, setting: 'health', absent: '/', effect: null },
  { key: 'start', schema: SETTING.start, setting: 'start', absent: null, effect: 'restart' },
  {
    key: 'poll',
    schema: poll,
    setting: 'pollMs',
    absent: null,
    effect: null,
    toFile: (ms) => duration(ms as number),
  },
  // Where the agent serves the app: a change moves its listener (the release keeps running).
  { key: 'bind', schema: SETTING.bind, setting: 'bind', absent: null, effect: null },
  {
    key: 'strategy',
    schema: SETTING.strategy,
    setting: 'strategy',
    absent: 'blue-green',
    effect: null,
  },
  { key: 'hostname', schema: SETTING.hostname, setting: 'hostname', absent: null, effect: null },
]

/** What the file asks of one app, in the agent's terms. */
export type Desired = {
  name: string
  settings: AppSettings
  /** Keys of FIELDS this agent does not store yet, as given. */
  env: Record<string, string>
  webhook: { provider: Provider; register: boolean } | null
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/

const AppEntry = v.strictObject({
  name: SETTING.name,
  ...(Object.fromEntries(
    FIELDS.map((f) => [f.key, f.key === 'repo' ? f.schema : v.optional(f.schema)]),
  ) as Record<string, v.GenericSchema<unknown, Value | undefined>>),
  env: v.optional(
    v.record(
      v.pipe(v.string(), v.regex(ENV_KEY, 'not a variable name')),
      v.pipe(v.string(), v.maxLength(64 * 1024, 'longer than 64 KiB')),
    ),
  ),
  webhook: v.optional(
    v.strictObject({
      provider: v.optional(v.picklist(PROVIDERS), 'github'),
      register: v.optional(v.boolean(), false),
    }),
  ),
})

const AppsFile = v.strictObject({
  apps: v.optional(v.pipe(v.array(AppEntry), v.maxLength(500)), []),
})

type Entry = v.InferOutput<typeof AppEntry>
/** An entry's FIELDS keys (the schema's type does not spell them out). */
const fieldsOf = (entry: Entry) => entry as unknown as Record<string, Value | undefined>

/** What the schema cannot say: keys that exclude or need each other, names and ports given twice. */
function crossCheck(apps: Entry[]): Problem | null {
  for (const [i, entry] of apps.map(fieldsOf).entries()) {
    if (entry.track !== undefined && entry.branch !== undefined)
      return { path: ['apps', i, 'branch'], message: 'give branch or track, not both' }
    if (entry.prereleases !== undefined && entry.track === undefined)
      return { path: ['apps', i, 'prereleases'], message: 'only with track = "tags:…"' }
    if (entry.hostname !== undefined && entry.port === undefined)
      return {
        path: ['apps', i, 'hostname'],
        message: 'needs a port: the app listens on PORT behind its hostname',
      }
  }
  for (const key of ['name', 'port'] as const) {
    const seen = new Map<unknown, number>()
    for (const [i, entry] of apps.entries()) {
      const value = fieldsOf(entry)[key]
      if (value === undefined) continue
      const first = seen.get(value)
      if (first !== undefined)
        return {
          path: ['apps', i, key],
          message: `${key} ${JSON.stringify(value)} is already apps[${first}]'s`,
        }
      seen.set(value, i)
    }
  }
  return null
}

/** The file's apps, or the first problem with the path of the key it is about. */
export function readFile(value: unknown): { apps: Desired[] } | { problem: Problem } {
  const checked = validate(AppsFile, value)
  if ('problem' in checked) return checked
  const { apps } = checked.output
  const problem = crossCheck(apps)
  if (problem) return { problem }
  return {
    apps: apps.map((entry) => {
      const given = fieldsOf(entry)
      const settings = Object.fromEntries(
        FIELDS.map((f) => [f.setting, given[f.key] ?? f.absent]),
      ) as AppSettings
      return {
        name: entry.name,
        settings,
        env: entry.env ?? {},
        webhook: entry.webhook ?? null,
      }
    }),
  }
}

/** An exported variable's reference: unique per app and key, so one environment serves all apps. */
export const envReference = (app: string, key: string) =>
  `\${${`${app}_${key}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}}`

/** One app as the file writes it: settings that differ from their default, env as references. */
export function toFileEntry(
  app: App,
  envKeys: string[],
  webhook: { provider: Provider } | null,
): Record<string, unknown> {
  const entry: Record<string, unknown> = { name: app.name }
  for (const field of FIELDS) {
    if (!field.setting) continue
    if (field.key === 'branch' && app.track) continue
    const value = app[field.setting]
    if (value === field.absent) continue
    entry[field.key] = field.toFile ? field.toFile(value) : value
  }
  if (envKeys.length)
    entry.env = Object.fromEntries(envKeys.map((key) => [key, envReference(app.name, key)]))
  if (webhook) entry.webhook = { provider: webhook.provider }
  return entry
}

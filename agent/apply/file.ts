// The apps file `toehold apply` reads and `toehold export` writes (TOML on disk; the CLI sends it
// here as JSON with its secret references already resolved). One table, FIELDS, says per app
// setting: its key in the file, what it accepts, the app setting it sets, and what a change does
// to a deployed app. A new `app add` setting is one row.
import { z } from 'zod'
import { appNameProblem } from '../../shared/ids.ts'
import { parseDuration } from '../../shared/units.ts'
import { PROVIDERS, type Provider } from '../api/contract.ts'
import { duration } from '../core/format.ts'
import { trackProblem } from '../core/tags.ts'
import type { App, AppSettings } from '../state/apps.ts'

type Value = string | number | boolean | null

type Field = {
  key: string
  /** What the file accepts; its output is the setting's value. */
  schema: z.ZodType<Value>
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

const text = (max: number) => z.string().min(1).max(max)

const poll = z.string().transform((value, ctx) => {
  try {
    const ms = parseDuration('poll', value)
    if (ms >= 10_000) return ms
    ctx.addIssue({ code: 'custom', message: 'at least 10s' })
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message })
  }
  return z.NEVER
})

const checked = (problem: (value: string) => string | null) =>
  z.string().refine((value) => !problem(value), {
    error: (issue) => problem(String(issue.input)) ?? '',
  })

export const FIELDS: Field[] = [
  {
    key: 'repo',
    schema: text(2048)
      .refine((repo) => !repo.startsWith('-'), 'not a git URL or path')
      .refine(
        (repo) => !/^\w[\w+.-]*:\/\/[^/@\s]+@/.test(repo),
        'credentials in the URL: give the token as env GIT_TOKEN (a reference) instead',
      ),
    setting: 'repo',
    absent: null,
    effect: 'deploy',
  },
  {
    key: 'branch',
    schema: text(255).regex(/^(?!-)[^\s~^:?*[\\]+$/, 'not a valid branch name'),
    setting: 'branch',
    absent: 'main',
    effect: 'deploy',
  },
  { key: 'track', schema: checked(trackProblem), setting: 'track', absent: null, effect: 'deploy' },
  {
    key: 'prereleases',
    schema: z.boolean(),
    setting: 'prereleases',
    absent: false,
    effect: 'deploy',
  },
  {
    key: 'port',
    schema: z.number().int().min(1).max(65535),
    setting: 'port',
    absent: null,
    effect: 'restart',
  },
  {
    key: 'health',
    schema: z.string().startsWith('/').max(1024),
    setting: 'health',
    absent: '/',
    effect: null,
  },
  { key: 'start', schema: text(4096), setting: 'start', absent: null, effect: 'restart' },
  {
    key: 'poll',
    schema: poll,
    setting: 'pollMs',
    absent: null,
    effect: null,
    toFile: (ms) => duration(ms as number),
  },
  // Where the agent serves the app: a change moves its listener (the release keeps running).
  { key: 'bind', schema: text(255), setting: 'bind', absent: null, effect: null },
  {
    key: 'strategy',
    schema: z.enum(['blue-green', 'restart']),
    setting: 'strategy',
    absent: 'blue-green',
    effect: null,
  },
  { key: 'hostname', schema: text(253), setting: 'hostname', absent: null, effect: null },
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

const AppEntry = z
  .strictObject({
    name: checked((name) => appNameProblem(name)),
    ...(Object.fromEntries(
      FIELDS.map((f) => [f.key, f.key === 'repo' ? f.schema : f.schema.optional()]),
    ) as Record<string, z.ZodType<Value | undefined>>),
    env: z
      .record(
        z.string().regex(ENV_KEY, 'not a variable name'),
        z.string().max(64 * 1024, 'longer than 64 KiB'),
      )
      .optional(),
    webhook: z
      .strictObject({
        provider: z.enum(PROVIDERS).default('github'),
        register: z.boolean().default(false),
      })
      .optional(),
  })
  .superRefine((value, ctx) => {
    const entry = value as Record<string, unknown>
    if (entry.track !== undefined && entry.branch !== undefined)
      ctx.addIssue({ code: 'custom', path: ['branch'], message: 'give branch or track, not both' })
    if (entry.prereleases !== undefined && entry.track === undefined)
      ctx.addIssue({ code: 'custom', path: ['prereleases'], message: 'only with track = "tags:…"' })
  })

const AppsFile = z
  .strictObject({ apps: z.array(AppEntry).max(500).default([]) })
  .superRefine((file, ctx) => {
    for (const key of ['name', 'port'] as const) {
      const seen = new Map<unknown, number>()
      file.apps.forEach((entry, i) => {
        const value = (entry as Record<string, unknown>)[key]
        if (value === undefined) return
        const first = seen.get(value)
        if (first === undefined) seen.set(value, i)
        else
          ctx.addIssue({
            code: 'custom',
            path: ['apps', i, key],
            message: `${key} ${JSON.stringify(value)} is already apps[${first}]'s`,
          })
      })
    }
  })

export type FileProblem = { path: (string | number)[]; message: string }

/** `apps[1].env.TOKEN` */
export const showPath = (path: (string | number)[]) =>
  path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('')

/** The file's apps, or the first problem with the path of the key it is about. */
export function readFile(value: unknown): { apps: Desired[] } | { problem: FileProblem } {
  const parsed = AppsFile.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue
    const unknown = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined
    const path = [...issue.path, ...(unknown === undefined ? [] : [unknown])] as (string | number)[]
    const message = unknown === undefined ? issue.message : 'unknown field'
    return { problem: { path, message } }
  }
  return {
    apps: parsed.data.apps.map((entry) => {
      const given = entry as unknown as Record<string, Value | undefined>
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

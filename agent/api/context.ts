// What every API route module gets, and the helpers they share.
import type { Context } from 'hono'
import type { Logger } from 'pino'
import type * as v from 'valibot'
import { AppError } from '../core/errors.ts'
import type { Events } from '../core/events.ts'
import { showPath } from '../core/format.ts'
import type { Home } from '../core/home.ts'
import type { AgentMetrics } from '../core/metrics.ts'
import { validate } from '../core/validate.ts'
import type { HookManager } from '../hosts/manage.ts'
import type { Notifier } from '../report/notify.ts'
import type { TrafficPoint } from '../serve/history.ts'
import type { TunnelState } from './contract.ts'
import type { StatusDeps } from './status.ts'

export type ApiDeps = StatusDeps & {
  home: Home
  events: Events
  metrics: AgentMetrics
  apiKey: string
  /** Host names the API answers to besides loopback and IP literals (see hostAllowed). */
  apiNames: readonly string[]
  log: Logger
  tunnel: () => TunnelState | null
  /** What the app's port served lately, in buckets (the dashboard's chart). */
  traffic: (app: string) => TrafficPoint[]
  /** Registration of webhooks on the git hosts. */
  hooks: HookManager
  /** Deploy notifications (`notify test` sends through it). */
  notifier: Notifier
}

/** Largest JSON body the local API reads. */
export const MAX_JSON = 256 * 1024

/** Parses a JSON body against a schema; a missing or empty body is `{}`. */
export async function readJson<T extends v.GenericSchema>(
  c: Context,
  schema: T,
): Promise<v.InferOutput<T>> {
  const text = await c.req.text()
  if (text.length > MAX_JSON) throw new AppError('request body too large')
  let value: unknown = {}
  if (text.trim() !== '') {
    try {
      value = JSON.parse(text)
    } catch {
      throw new AppError('request body is not JSON')
    }
  }
  const checked = validate(schema, value)
  if ('problem' in checked) {
    const { path, message } = checked.problem
    throw new AppError(`${showPath(path) || 'body'}: ${message}`)
  }
  return checked.output
}

// What `apply` changes: the file's apps against the agent's, setting by setting. Env values never
// appear in a plan, only which variables are set, changed or removed.
import type { ApplyChange, ApplyStep } from '../api/contract.ts'
import { reachesApp } from '../core/child-env.ts'
import { type App, getApp, listApps } from '../state/apps.ts'
import type { Db } from '../state/db.ts'
import { listEnv } from '../state/env.ts'
import { getWebhook } from '../state/webhooks.ts'
import { type Desired, FIELDS } from './file.ts'

export type Plan = { steps: ApplyStep[]; unlisted: string[] }

export function plan(db: Db, apps: Desired[], prune: boolean): Plan {
  const named = new Set(apps.map((app) => app.name))
  const steps = apps.map((desired) => stepFor(db, desired, getApp(db, desired.name)))
  const others = listApps(db)
    .map((app) => app.name)
    .filter((name) => !named.has(name))
  if (prune)
    for (const app of others)
      steps.push({ app, action: 'remove', changes: [], restart: false, deploy: false, notes: [] })
  return { steps, unlisted: prune ? [] : others }
}

function stepFor(db: Db, desired: Desired, app: App | undefined): ApplyStep {
  const changes: ApplyChange[] = []
  let restart = false
  let deploy = false
  for (const field of FIELDS) {
    if (!field.setting) continue
    const to = desired.settings[field.setting]
    const from = app ? app[field.setting] : field.absent
    if (from === to && (app || field.key !== 'repo')) continue
    const show = (value: typeof to) =>
      value === null ? null : String(field.toFile ? field.toFile(value) : value)
    changes.push({ field: field.key, from: app ? show(from) : null, to: show(to) })
    if (field.effect === 'restart') restart = true
    if (field.effect === 'deploy') deploy = true
  }

  const env = app ? listEnv(db, app.name) : {}
  for (const key of [...new Set([...Object.keys(env), ...Object.keys(desired.env)])].sort()) {
    const had = key in env
    const wants = key in desired.env
    if (had && wants && env[key] === desired.env[key]) continue
    changes.push({ field: `env.${key}`, from: had ? 'set' : null, to: wants ? 'set' : null })
    if (reachesApp(key)) restart = true
  }

  const hook = app && getWebhook(db, app.name)
  const current = hook?.enabled ? hook.provider : null
  const wanted = desired.webhook?.provider ?? null
  if (current !== wanted) changes.push({ field: 'webhook', from: current, to: wanted })

  const deployed = app?.currentRelease != null
  const notes: string[] = []
  return {
    app: desired.name,
    action: app ? (changes.length ? 'update' : 'unchanged') : 'create',
    changes,
    // A deployment starts the app with its new settings anyway. Only a running app restarts; a
    // stopped one reads its settings when it starts.
    restart: restart && !deploy && deployed && app?.desired === 'running',
    deploy: deploy && deployed,
    notes,
  }
}

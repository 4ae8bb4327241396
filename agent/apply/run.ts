// Carries out an apply plan. Every new app's remote is checked first, so a remote that does not
// answer refuses the run before anything changed; then apps are created (and deployed when their
// branch or a matching tag exists), updated (deployed again when what they track changed,
// restarted when a setting their process sees changed, else left running) or removed.
import type { ApplyStep } from '../api/contract.ts'
import { gitAuth, remoteHead, remoteTagNames } from '../core/git.ts'
import { counts, tracking } from '../core/tags.ts'
import type { Problem } from '../core/validate.ts'
import type { Deployer } from '../deploy/types.ts'
import { type AppSettings, addApp, removeApp, requireApp, updateApp } from '../state/apps.ts'
import type { Db } from '../state/db.ts'
import { listEnv, setEnv, unsetEnv } from '../state/env.ts'
import { disableWebhook, enableWebhook, getWebhook, type Webhook } from '../state/webhooks.ts'
import type { Desired } from './file.ts'

export type ApplyDeps = { db: Db; deployer: Deployer }

/** A file the agent refuses once it looked further (a remote that does not answer). */
export class FileRefused extends Error {
  override name = 'FileRefused'
  readonly problem: Problem
  constructor(problem: Problem) {
    super(problem.message)
    this.problem = problem
  }
}

export type Applied = {
  webhooks: Webhook[]
  deployments: { app: string; deployment: number }[]
  /** Per app: what went wrong after the change (a restart that failed). */
  notes: Map<string, string[]>
}

/** Whether the remote has something to deploy: the branch, or a tag that counts. */
async function deployable(db: Db, desired: Desired): Promise<boolean> {
  const { repo, branch } = desired.settings
  const auth = gitAuth({ global: listEnv(db, ''), app: desired.env }, repo)
  const tags = tracking(desired.settings)
  if (tags) return (await remoteTagNames(repo, auth)).some((tag) => counts(tag, tags))
  return (await remoteHead(repo, branch, auth)) !== null
}

export async function apply(
  deps: ApplyDeps,
  apps: Desired[],
  steps: ApplyStep[],
): Promise<Applied> {
  const { db, deployer } = deps
  const desiredOf = new Map(apps.map((app, index) => [app.name, { app, index }]))
  const creates = steps.filter((step) => step.action === 'create')
  const ready = new Map<string, boolean>()
  await Promise.all(
    creates.map(async (step) => {
      const { app, index } = desiredOf.get(step.app) as { app: Desired; index: number }
      try {
        ready.set(app.name, await deployable(db, app))
      } catch (error) {
        throw new FileRefused({ path: ['apps', index, 'repo'], message: (error as Error).message })
      }
    }),
  )

  const applied: Applied = { webhooks: [], deployments: [], notes: new Map() }
  for (const step of steps) {
    if (step.action === 'unchanged') continue
    if (step.action === 'remove') {
      await deployer.forget(step.app)
      removeApp(db, step.app)
      continue
    }
    const { app: desired } = desiredOf.get(step.app) as { app: Desired }
    if (step.action === 'create') addApp(db, { name: desired.name, ...desired.settings })
    else updateApp(db, desired.name, changedSettings(db, desired))
    // Its public port and hostname, taken (or moved) now: served before its first deployment.
    await deployer.claim(desired.name).catch((error: Error) => {
      applied.notes.set(desired.name, [error.message])
    })
    syncEnv(db, desired)
    const hook = syncWebhook(db, desired)
    if (hook) applied.webhooks.push(hook)
    if ((step.action === 'create' && ready.get(desired.name)) || step.deploy)
      applied.deployments.push({
        app: desired.name,
        deployment: deployer.request(desired.name, { trigger: 'manual' }).id,
      })
    if (step.restart)
      await deployer.restart(desired.name).catch((error: Error) => {
        applied.notes.set(desired.name, [`restart failed: ${error.message}`])
      })
  }
  return applied
}

/** Only what differs, so an unchanged setting is never rewritten. */
function changedSettings(db: Db, desired: Desired): Partial<AppSettings> {
  const app = requireApp(db, desired.name)
  return Object.fromEntries(
    Object.entries(desired.settings).filter(
      ([key, value]) => app[key as keyof AppSettings] !== value,
    ),
  )
}

/** The app's variables become exactly the file's. */
function syncEnv(db: Db, desired: Desired): void {
  const current = listEnv(db, desired.name)
  for (const key of Object.keys(current)) if (!(key in desired.env)) unsetEnv(db, desired.name, key)
  for (const [key, value] of Object.entries(desired.env))
    if (current[key] !== value) setEnv(db, desired.name, key, value)
}

/** Enables, switches or disables the webhook as the file says; returns it when it (re)issued one. */
function syncWebhook(db: Db, desired: Desired): Webhook | null {
  const current = getWebhook(db, desired.name)
  if (!desired.webhook) {
    if (current?.enabled) disableWebhook(db, desired.name)
    return null
  }
  if (current?.enabled && current.provider === desired.webhook.provider) return null
  return enableWebhook(db, desired.name, { provider: desired.webhook.provider })
}

// What the API and the dashboard say about an app (shapes in contract.ts), assembled in one place.
import type { Deployer } from '../deploy/types.ts'
import { type App, getApp, listApps } from '../state/apps.ts'
import type { Db } from '../state/db.ts'
import { recentDeliveries } from '../state/deliveries.ts'
import { getRegistration } from '../state/hooks.ts'
import { getWebhook } from '../state/webhooks.ts'
import type { AppStatus, WebhookStatus } from './contract.ts'

export type StatusDeps = {
  db: Db
  deployer: Deployer
  instanceId: string
  /** Base of webhook URLs (the relay's public URL), once known. */
  publicUrl: () => string | null
}

export function webhookUrl(deps: StatusDeps, app: string): string | null {
  const base = deps.publicUrl()
  return base ? `${base.replace(/\/+$/, '')}/hooks/${deps.instanceId}/${app}` : null
}

export function appStatus(deps: StatusDeps, app: App): AppStatus {
  const runtime = deps.deployer.runtime(app.name)
  const last = deps.deployer.lastDeployment(app.name)
  const hook = getWebhook(deps.db, app.name)
  const registration = hook && getRegistration(deps.db, app.name)
  return {
    app: app.name,
    state: runtime.state,
    desired: app.desired,
    release: app.currentRelease,
    commit: deps.deployer.liveCommit(app.name),
    pid: runtime.pid,
    repo: app.repo,
    branch: app.branch,
    track: app.track,
    tag: deps.deployer.liveTag(app.name),
    port: app.port,
    bind: app.bind,
    strategy: app.strategy,
    hostname: app.hostname,
    health: app.health,
    lastDeployment: last && {
      id: last.id,
      status: last.status,
      stage: last.stage,
      commit: last.commit,
      startedAt: last.startedAt,
      finishedAt: last.finishedAt,
      reason: last.reason,
    },
    webhook: hook
      ? {
          enabled: hook.enabled,
          provider: hook.provider,
          url: webhookUrl(deps, app.name),
          mode: registration?.mode ?? 'manual',
          problem: registration?.problem ?? null,
        }
      : null,
    pin: deps.deployer.pin(app.name),
  }
}

export const allStatuses = (deps: StatusDeps) =>
  listApps(deps.db).map((app) => appStatus(deps, app))

export function webhookStatus(deps: StatusDeps, name: string): WebhookStatus {
  const app = getApp(deps.db, name)
  const hook = app && getWebhook(deps.db, name)
  const deliveries = recentDeliveries(deps.db, name, 20)
  return {
    app: name,
    enabled: hook?.enabled ?? false,
    provider: hook?.provider ?? null,
    url: hook ? webhookUrl(deps, name) : null,
    registration: (hook && getRegistration(deps.db, name)) ?? null,
    lastDelivery: deliveries[0] ?? null,
    deliveries,
  }
}

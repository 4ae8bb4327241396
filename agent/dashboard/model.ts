// What the dashboard's pages show, gathered from the same sources as the API. Token values never
// leave here: only whether one is set, and where.
import type { ApiDeps } from '../api/context.ts'
import type {
  AppStatus,
  Deployment,
  NotifyTarget,
  Provider,
  Release,
  TunnelState,
} from '../api/contract.ts'
import { shown } from '../api/notify.ts'
import { appStatus, webhookStatus } from '../api/status.ts'
import type { TrafficPoint } from '../serve/history.ts'
import { type App, listApps } from '../state/apps.ts'
import { listEnv } from '../state/env.ts'
import { listTargets } from '../state/notify.ts'
import { providerNotes } from '../state/webhooks.ts'

export type AppCard = AppStatus & { message: string | null }

export type Overview = {
  instance: string
  /** null when the agent runs without --relay. */
  relay: TunnelState | null
  apps: AppCard[]
  /** Where deployment outcomes are posted. */
  targets: NotifyTarget[]
}

export type TokenKey = 'GIT_TOKEN' | 'REV_TOKEN'

export type AppPage = {
  card: AppCard
  releases: Release[]
  deployments: Deployment[]
  webhook: ReturnType<typeof webhookStatus> & { notes: string[] }
  /** The git token for the app's provider: its variable and where it is set, if anywhere. */
  token: { key: TokenKey; scope: 'app' | 'global' | null }
  /** Requests and errors on the app's port lately; empty for an app without a port. */
  traffic: TrafficPoint[]
}

function card(deps: ApiDeps, app: App): AppCard {
  const status = appStatus(deps, app)
  const live = deps.deployer.releases(app.name).find((release) => release.live)
  return { ...status, message: live?.message ?? null }
}

export function overview(deps: ApiDeps): Overview {
  return {
    instance: deps.instanceId,
    relay: deps.tunnel(),
    apps: listApps(deps.db).map((app) => card(deps, app)),
    targets: listTargets(deps.db).map(shown),
  }
}

export const tokenKey = (provider: Provider | null): TokenKey =>
  provider === 'rev' ? 'REV_TOKEN' : 'GIT_TOKEN'

export function appPage(deps: ApiDeps, app: App): AppPage {
  const webhook = webhookStatus(deps, app.name)
  const key = tokenKey(webhook.provider)
  const scope =
    key in listEnv(deps.db, app.name) ? 'app' : key in listEnv(deps.db, '') ? 'global' : null
  return {
    card: card(deps, app),
    releases: deps.deployer.releases(app.name),
    deployments: deps.deployer.deployments(app.name, 20),
    webhook: { ...webhook, notes: providerNotes(webhook.provider ?? 'github') },
    token: { key, scope },
    traffic: app.port === null ? [] : deps.traffic(app.name),
  }
}

// The agent's side of registration: which host and token an app's hook is managed with, what is
// stored about it, the audit at every relay welcome, and `register --all`. The host calls
// themselves are in register.ts over the per-host clients.
import type { Logger } from 'pino'
import type { DeliverySummary, HookMode, Provider, RegisterOutcome } from '../api/contract.ts'
import { gitAuth } from '../core/git.ts'
import { type App, requireApp, setPollMs } from '../state/apps.ts'
import type { Db } from '../state/db.ts'
import { recentDeliveries } from '../state/deliveries.ts'
import { envScopes } from '../state/env.ts'
import {
  autoRegistrations,
  getRegistration,
  saveAuto,
  saveDeregistered,
  saveUnregistered,
  setProblem,
} from '../state/hooks.ts'
import { getWebhook } from '../state/webhooks.ts'
import { HOST_NAMES, type HostTarget, hostTarget, repoLocation } from './base.ts'
import { hostApi } from './client.ts'
import { HostError, type HostHttp } from './http.ts'
import { deregisterHook, registerHook } from './register.ts'
import type { HostApi } from './types.ts'

/** How long `enable --register` waits for the host's test delivery to come back. */
const TEST_WAIT_MS = 8_000
/** The interval `--poll` sets when the app has none. */
const FALLBACK_POLL_MS = 300_000

export type Resolved =
  | { api: HostApi; target: HostTarget }
  | { reason: string; host: string | null }

/** The provider a host's own signature scheme implies, for apps without a webhook. */
function providerOf(repo: string): Provider | null {
  const host = repoLocation(repo)?.host
  if (host === 'github.com') return 'github'
  if (host === 'gitlab.com') return 'gitlab'
  if (host === 'bitbucket.org') return 'bitbucket'
  return null
}

/** The host API for an app, with the token it fetches with, or why there is none. */
export async function resolveHost(
  db: Db,
  app: App,
  tuning: Partial<HostHttp> = {},
): Promise<Resolved> {
  const provider = getWebhook(db, app.name)?.provider ?? providerOf(app.repo)
  if (!provider) return { reason: 'no webhook provider set for this app', host: null }
  const target = await hostTarget(app.repo, provider)
  if ('unsupported' in target) return { reason: target.unsupported, host: null }
  const auth = gitAuth(envScopes(db, app.name), app.repo)
  if (!auth.token) {
    return {
      reason: `no token for ${HOST_NAMES[target.kind]}: toehold env set ${app.name} GIT_TOKEN --value-stdin`,
      host: target.kind,
    }
  }
  return { api: hostApi(target, { token: auth.token, username: auth.username }, tuning), target }
}

const hostMessage = (kind: string, error: unknown) =>
  error instanceof HostError
    ? `${HOST_NAMES[kind as keyof typeof HOST_NAMES] ?? kind} answered ${error.status || 'nothing'}: ${error.message}`
    : (error as Error).message

export type HookManager = ReturnType<typeof createHookManager>

export function createHookManager(deps: {
  db: Db
  log: Logger
  webhookUrl: (app: string) => string | null
  /** Budget of host calls a person waits for (enable, rotate, register --all). */
  tuning?: Partial<HostHttp>
}) {
  const { db, log } = deps
  const tuning: Partial<HostHttp> = { attempts: 3, maxWaitMs: 10_000, ...deps.tuning }

  function fallback(
    app: string,
    poll: boolean,
    host: string | null,
    reason: string,
  ): RegisterOutcome {
    const mode: HookMode = poll ? 'polling' : 'manual'
    if (poll && !requireApp(db, app).pollMs) setPollMs(db, app, FALLBACK_POLL_MS)
    saveUnregistered(db, app, mode, host, reason)
    log.warn({ app, mode, reason }, 'webhook not registered on the git host')
    const hookId = getRegistration(db, app)?.hookId ?? null
    return {
      app,
      mode,
      host,
      hookId,
      created: false,
      pruned: 0,
      reason,
      test: { event: null, arrived: null },
    }
  }

  async function register(
    name: string,
    options: { poll?: boolean } = {},
  ): Promise<RegisterOutcome> {
    const app = requireApp(db, name)
    const hook = getWebhook(db, name)
    const poll = options.poll ?? false
    const url = deps.webhookUrl(name)
    if (!hook?.enabled) return fallback(name, poll, null, 'the webhook is not enabled')
    if (!url)
      return fallback(
        name,
        poll,
        null,
        'the relay has not told its public URL yet: start the agent with --relay',
      )
    const resolved = await resolveHost(db, app, tuning)
    if ('reason' in resolved) return fallback(name, poll, resolved.host, resolved.reason)
    const { api, target } = resolved
    const known = getRegistration(db, name)
    try {
      const done = await registerHook(
        api,
        { url, secret: hook.secret },
        { id: known?.hookId ?? null, url: known?.registeredUrl ?? null },
      )
      saveAuto(db, name, target.kind, done.id, url)
      log.info(
        { app, host: target.kind, hook: done.id, created: done.created, pruned: done.pruned },
        'webhook registered on the git host',
      )
      return {
        app: name,
        mode: 'auto',
        host: target.kind,
        hookId: done.id,
        created: done.created,
        pruned: done.pruned,
        reason: null,
        test: { event: done.test, arrived: null },
      }
    } catch (error) {
      return fallback(name, poll, target.kind, hostMessage(target.kind, error))
    }
  }

  /** Waits (bounded) for a delivery that arrived after `since`: the host's test came through. */
  async function waitForTest(
    name: string,
    since: number,
    ms = TEST_WAIT_MS,
  ): Promise<DeliverySummary | null> {
    const deadline = Date.now() + ms
    for (;;) {
      const arrived = recentDeliveries(db, name, 5)
        .reverse()
        .find((delivery) => Date.parse(delivery.at) >= since)
      if (arrived || Date.now() >= deadline) return arrived ?? null
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /** Deletes the app's hook on the host (disable, app remove); a failure is logged, not thrown. */
  async function deregister(name: string): Promise<string | null> {
    const known = getRegistration(db, name)
    const url = known?.registeredUrl ?? deps.webhookUrl(name)
    if (!known?.hookId || !url) return null
    const resolved = await resolveHost(db, requireApp(db, name), tuning)
    if ('reason' in resolved) return `the hook stays on the git host: ${resolved.reason}`
    try {
      const deleted = await deregisterHook(resolved.api, url, { id: known.hookId, url })
      saveDeregistered(db, name)
      log.info({ app: name, deleted }, 'webhook deleted on the git host')
      return null
    } catch (error) {
      const reason = hostMessage(resolved.target.kind, error)
      log.warn({ app: name, reason }, 'could not delete the webhook on the git host')
      return `the hook stays on the git host: ${reason}`
    }
  }

  /** What is wrong with an auto hook now: a stale URL, or gone from the host. */
  async function check(name: string): Promise<string | null> {
    const known = getRegistration(db, name)
    if (known?.mode !== 'auto' || !known.hookId) return null
    const now = deps.webhookUrl(name)
    let problem: string | null = null
    if (now && known.registeredUrl !== now) {
      problem = `stale: the host delivers to ${known.registeredUrl}, the relay now answers at ${now} (toehold webhook register --all)`
    } else {
      const resolved = await resolveHost(db, requireApp(db, name), tuning)
      if ('api' in resolved) {
        try {
          if (!(await resolved.api.getHook(known.hookId))) {
            problem = `the hook was deleted on the git host (toehold webhook enable ${name} --register recreates it)`
          }
        } catch (error) {
          log.warn(
            { app: name, reason: hostMessage(resolved.target.kind, error) },
            'could not check the webhook on the git host',
          )
          return known.problem
        }
      }
    }
    setProblem(db, name, problem)
    if (problem) log.warn({ app: name, problem }, 'webhook on the git host needs attention')
    return problem
  }

  return {
    register,
    waitForTest,
    deregister,
    check,
    /** At every relay welcome: every auto hook against the URL the agent would register now. */
    async audit(): Promise<void> {
      for (const { app } of autoRegistrations(db)) await check(app)
    },
    /** Re-registers every auto hook, idempotently (the old URL's hook is updated, never doubled). */
    async registerAll(): Promise<RegisterOutcome[]> {
      const outcomes: RegisterOutcome[] = []
      for (const { app } of autoRegistrations(db)) outcomes.push(await register(app))
      return outcomes
    },
  }
}

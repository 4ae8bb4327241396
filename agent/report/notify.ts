// Deploy notifications: a finished deployment (live or failed) is posted to every target that
// asked for it, in its format (json signed per Standard Webhooks, Slack, Discord, ntfy), in the
// background, with retries; a target that keeps failing is given up with one log line.
import { createHmac, randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { VERSION } from '../../shared/version.ts'
import type { AgentEvent, DeployNotice } from '../api/contract.ts'
import type { Events } from '../core/events.ts'
import type { Db } from '../state/db.ts'
import { type Target, targetsFor } from '../state/notify.ts'

type DeploymentEvent = Extract<AgentEvent, { type: 'deployment' }>

/** A Standard Webhooks signature: v1,base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>")). */
function signStandard(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`
}

function sentence(notice: DeployNotice): string {
  const commit = notice.commit ? ` ${notice.commit.slice(0, 7)}` : ''
  if (notice.type === 'deployment.test') return `toehold: test notification for ${notice.app}`
  return notice.type === 'deployment.live'
    ? `✅ ${notice.app}${commit} is live (deployment #${notice.deployment})`
    : `❌ ${notice.app}${commit} failed at ${notice.stage ?? 'queued'}: ${notice.reason ?? 'unknown reason'} (deployment #${notice.deployment})`
}

/** The request a target gets for a notice, in its format. */
function requestFor(
  target: Target,
  notice: DeployNotice,
): { headers: Record<string, string>; body: string } {
  const text = sentence(notice)
  switch (target.format) {
    case 'json': {
      const body = JSON.stringify(notice)
      const id = `msg_${randomBytes(12).toString('base64url')}`
      const timestamp = Math.floor(Date.now() / 1000)
      return {
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signStandard(target.secret ?? '', id, timestamp, body),
        },
        body,
      }
    }
    case 'slack':
      return { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) }
    case 'discord':
      return {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ content: text }),
      }
    case 'ntfy':
      return {
        headers: {
          'content-type': 'text/plain; charset=utf-8',
          title: `toehold: ${notice.app}`,
          tags: notice.type === 'deployment.failed' ? 'x' : 'white_check_mark',
          priority: notice.type === 'deployment.failed' ? 'high' : 'default',
        },
        body: text,
      }
  }
}

/** Only the origin of a target: a Slack or Discord URL is itself a secret. */
const targetOrigin = (url: string) => {
  try {
    return new URL(url).origin
  } catch {
    return 'an invalid URL'
  }
}

type NotifyTuning = { attempts: number; backoffMs: number; timeoutMs: number }

/** Posts one notice to one target; resolves to null once it was taken, else the last reason. */
async function deliver(
  target: Target,
  notice: DeployNotice,
  tuning: NotifyTuning,
  signal?: AbortSignal,
): Promise<string | null> {
  let reason = 'not sent'
  for (let attempt = 1; attempt <= tuning.attempts; attempt++) {
    // A new id and timestamp per attempt is fine: receivers de-duplicate by content if they must.
    const request = requestFor(target, notice)
    try {
      const response = await fetch(target.url, {
        method: 'POST',
        headers: { 'user-agent': `toehold/${VERSION}`, ...request.headers },
        body: request.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(tuning.timeoutMs),
      })
      await response.arrayBuffer().catch(() => {})
      if (response.status < 300) return null
      reason = `answered ${response.status}`
      if (response.status < 500 && response.status !== 429) return reason
    } catch (error) {
      reason = (error as Error).name === 'TimeoutError' ? 'timed out' : 'unreachable'
    }
    if (signal?.aborted) return reason
    if (attempt < tuning.attempts) {
      await new Promise((resolve) => setTimeout(resolve, tuning.backoffMs * 2 ** (attempt - 1)))
    }
  }
  return reason
}

function noticeOf(event: DeploymentEvent): DeployNotice | null {
  if (event.status !== 'live' && event.status !== 'failed') return null
  return {
    type: event.status === 'live' ? 'deployment.live' : 'deployment.failed',
    app: event.app,
    deployment: event.deployment,
    status: event.status,
    stage: event.stage,
    commit: event.commit,
    reason: event.reason,
    at: event.at,
  }
}

export type Notifier = Pick<ReturnType<typeof createNotifier>, 'test'>

export function createNotifier(deps: {
  db: Db
  events: Events
  log: Logger
  tuning: NotifyTuning
}) {
  const { db, log } = deps
  const stop = new AbortController()
  const send = (target: Target, notice: DeployNotice) =>
    deliver(target, notice, deps.tuning, stop.signal).then((reason) => {
      if (reason) {
        log.warn(
          { target: target.id, to: targetOrigin(target.url), app: notice.app, reason },
          'notification given up',
        )
      }
      return reason
    })
  const unsubscribe = deps.events.subscribe((event) => {
    if (event.type !== 'deployment' || stop.signal.aborted) return
    const notice = noticeOf(event)
    if (!notice) return
    const wanted = event.status === 'live' ? 'live' : 'failed'
    for (const target of targetsFor(db, event.app)) {
      if (target.on === 'all' || target.on === wanted) void send(target, notice)
    }
  })
  return {
    /** `notify test`: one notice now; resolves to null when the target took it, else why not. */
    test(target: Target, app: string): Promise<string | null> {
      return send(target, {
        type: 'deployment.test',
        app,
        deployment: 0,
        status: 'live',
        stage: null,
        commit: null,
        reason: null,
        at: new Date().toISOString(),
      })
    },
    stop() {
      stop.abort()
      unsubscribe()
    },
  }
}

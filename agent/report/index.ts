// Telling the outside what deployments did: commit statuses on the git host and notifications.
// Both listen to the deploy events and never hold a deployment up.
import type { Logger } from 'pino'
import type { Events } from '../core/events.ts'
import type { Deployer } from '../deploy/types.ts'
import type { Db } from '../state/db.ts'
import { createNotifier } from './notify.ts'
import { createStatusReporter } from './statuses.ts'

export function startReporting(deps: {
  db: Db
  events: Events
  deployer: Deployer
  log: Logger
  /** First retry step of host calls and notifications (TOEHOLD_REPORT_BACKOFF_MS). */
  backoffMs: number
  /** How long one call may take (TOEHOLD_REPORT_TIMEOUT_MS). */
  timeoutMs: number
}) {
  const { backoffMs, timeoutMs } = deps
  const statuses = createStatusReporter({ ...deps, tuning: { backoffMs, timeoutMs } })
  const notifier = createNotifier({ ...deps, tuning: { attempts: 4, backoffMs, timeoutMs } })
  return {
    notifier,
    stop() {
      statuses.stop()
      notifier.stop()
    },
  }
}

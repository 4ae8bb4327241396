// The deploy engine's contract with the rest of the agent (intake, API, CLI, dashboard).
import type { DeploymentStatus, Stage } from '../core/events.ts'

/** `recover`: the agent restarted during a deployment and requests its commit again (once). */
export type Trigger = 'webhook' | 'manual' | 'converge' | 'poll' | 'rollback' | 'recover'

export type DeployRequest = {
  /** A pushed commit: the engine deploys the tracked branch's head, which must contain it. */
  commit?: string
  /** An exact ref or sha to deploy (manual deploys); default: the tracked branch's head. */
  ref?: string
  /** Redeploy even when the commit is the live one. */
  force?: boolean
  trigger: Trigger
}

export type Deployment = {
  id: number
  app: string
  status: DeploymentStatus
  stage: Stage | null
  trigger: Trigger
  ref: string | null
  commit: string | null
  release: string | null
  /** The deployed commit's subject line. */
  message: string | null
  reason: string | null
  /**
   * Milliseconds per stage (`queued`, `fetching`, …) and per step the agent does not control:
   * `git`, `install`, `predeploy`, `stop` (the old process), `boot` (spawn to healthy), `total`.
   */
  timings: Record<string, number>
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

export type Release = {
  /** Directory name under releases/: `<seq>-<sha>`. */
  name: string
  commit: string
  message: string | null
  deployment: number
  createdAt: string
  live: boolean
}

export type RunState =
  | 'not_deployed'
  | 'stopped'
  | 'starting'
  | 'running'
  | 'crashed'
  | 'crash_loop'

export type AppRuntime = {
  state: RunState
  pid: number | null
  since: string | null
  restarts: number
}

export type Deployer = {
  /** Queues a deployment (collapsing into the app's pending slot) and returns it at once. */
  request(app: string, request: DeployRequest): Deployment
  /** Switches to a kept release (default: the one before the live one) through the health check. */
  rollback(app: string, to?: string): Deployment
  start(app: string): Promise<void>
  stop(app: string): Promise<void>
  restart(app: string): Promise<void>
  runtime(app: string): AppRuntime
  deployments(app: string, limit?: number): Deployment[]
  deployment(app: string, id: number): Deployment | undefined
  releases(app: string): Release[]
  /** Path of a deployment's build log, and of the app's own stdout/stderr log. */
  buildLogPath(app: string, id: number): string
  appLogPath(app: string): string
  /** After the tunnel (re)connects: deploy webhook-enabled apps whose branch moved. */
  converge(): Promise<void>
  /** At agent start: end strays, bring every app back to its desired state. */
  recover(): Promise<void>
  /** An app was removed: stop it and delete its files. */
  forget(app: string): Promise<void>
  /** SIGTERM: stop every app gracefully. */
  shutdown(): Promise<void>
}

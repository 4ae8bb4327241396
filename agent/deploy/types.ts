// The deploy engine's contract with the rest of the agent (intake, API, dashboard): every
// deployment, release and run state is read through the Deployer, never from its tables.
import type { AppRuntime, Deployment, Pin, Release, Trigger } from '../api/contract.ts'

export type DeployRequest = {
  /** A pushed commit: the engine deploys the tracked branch's head, which must contain it. */
  commit?: string
  /**
   * A pushed or released tag (tag-tracked apps): the engine deploys the newest tag matching the
   * app's pattern, which must contain it; `commit` is then the object the event said it names.
   */
  tag?: string
  /** An exact ref or sha to deploy (manual deploys); default: the tracked branch's head. */
  ref?: string
  /** Redeploy even when the commit is the live one. */
  force?: boolean
  trigger: Trigger
}

export type Deployer = {
  /** Queues a deployment (collapsing into the app's pending slot) and returns it at once. */
  request(app: string, request: DeployRequest): Deployment
  /**
   * Switches to a kept release (default: the one before the live one) through the health check,
   * and pins the app (see Pin): `request` with a manual trigger lifts the pin.
   */
  rollback(app: string, to?: string): Deployment
  pin(app: string): Pin | null
  start(app: string): Promise<void>
  stop(app: string): Promise<void>
  restart(app: string): Promise<void>
  runtime(app: string): AppRuntime
  deployments(app: string, limit?: number): Deployment[]
  deployment(app: string, id: number): Deployment | undefined
  /** A deployment as a person names it: `7`, `latest`, or a commit prefix. */
  findDeployment(app: string, name: string): Deployment | undefined
  lastDeployment(app: string): Deployment | null
  releases(app: string): Release[]
  /** The commit of the release the app runs (or last ran); null before its first deployment. */
  liveCommit(app: string): string | null
  /** The tag of the release a tag-tracked app runs; null for branch-tracked apps. */
  liveTag(app: string): string | null
  /** Path of a deployment's build log, and of the app's own stdout/stderr log. */
  buildLogPath(app: string, id: number): string
  appLogPath(app: string): string
  /** After the tunnel (re)connects: deploy these apps where their branch moved. */
  converge(apps: string[]): Promise<void>
  /** At agent start: end strays, bring every app back to its desired state. */
  recover(): Promise<void>
  /** An app was added: take its public port and hostname (an AppError (409) when taken). */
  claim(app: string): Promise<void>
  /** An app was removed: stop it, free its port and hostname, delete its files. */
  forget(app: string): Promise<void>
  /** SIGTERM: stop every app gracefully. */
  shutdown(): Promise<void>
}

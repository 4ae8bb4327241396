// The agent's wire contract: the shapes its local API answers with and its event stream sends,
// as the CLI, the dashboard and scripts read them. Types and constants only, no imports: every
// layer may import this module, and a client loads nothing else of the agent through it.

/** What `TOEHOLD_HOME/agent/agent.json` holds, so the CLI finds the running agent (0600). */
export type AgentInfo = {
  api: string
  apiKey: string
  pid: number
  instance: string
  version: string
}

export const PROVIDERS = ['github', 'gitlab', 'bitbucket', 'rev', 'standard'] as const
export type Provider = (typeof PROVIDERS)[number]

/** A deployment's stages, in the order it passes them. */
export const STAGES = [
  'queued',
  'fetching',
  'installing',
  'building',
  'starting',
  'health_check',
  'live',
] as const
export type Stage = (typeof STAGES)[number]
export type DeploymentStatus = 'queued' | 'running' | 'live' | 'failed' | 'superseded' | 'unchanged'

/** live, failed, superseded, unchanged: the deployment will not change again. */
export const isFinal = (status: string) => status !== 'queued' && status !== 'running'

/** `recover`: the agent restarted during a deployment and requests its commit again (once). */
export type Trigger = 'webhook' | 'manual' | 'converge' | 'poll' | 'rollback' | 'recover'

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

export type Desired = 'running' | 'stopped'

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

/**
 * A rollback's pin: no webhook, poll or convergence deploys `commit` (the one rolled away from)
 * or anything older; a new commit on the branch, or a manual deploy, lifts it.
 */
export type Pin = {
  commit: string
  /** The release rolled back to. */
  release: string
  since: string
}

/** `GET /status/:app`, and each entry of `GET /status`'s `apps`. */
export type AppStatus = {
  app: string
  state: RunState
  desired: Desired
  release: string | null
  commit: string | null
  pid: number | null
  repo: string
  branch: string
  port: number | null
  health: string
  lastDeployment: Pick<
    Deployment,
    'id' | 'status' | 'stage' | 'commit' | 'startedAt' | 'finishedAt' | 'reason'
  > | null
  webhook: { enabled: boolean; provider: Provider; url: string | null } | null
  pin: Pin | null
}

export type DeliverySummary = {
  at: string
  event: string | null
  status: number
  result: string
  deployment: number | null
  deliveryId: string | null
}

/** `GET /apps/:app/webhook`. */
export type WebhookStatus = {
  app: string
  enabled: boolean
  provider: Provider | null
  url: string | null
  lastDelivery: DeliverySummary | null
  deliveries: DeliverySummary[]
}

/** `POST /apps/:app/webhook` and `…/rotate`: the only answers that carry the secret. */
export type WebhookIssued = {
  app: string
  url: string | null
  secret: string
  /** A CI's `Authorization: Bearer` token: of its own, never the signing secret. */
  triggerToken: string
  provider: Provider
  enabled: boolean
  notes: string[]
}

/** The tunnel to the relay, as `GET /status` and the dashboard report it. */
export type TunnelState = {
  url: string
  connected: boolean
  /** When the current connection (or the current outage) began, ISO time. */
  since: string
  publicUrl: string | null
  lastError: string | null
}

/** The live stream (`GET /events`, SSE): deployment stages, log lines, app states, the relay. */
export type AgentEvent =
  | {
      type: 'deployment'
      app: string
      deployment: number
      status: DeploymentStatus
      stage: Stage | null
      commit: string | null
      reason: string | null
      at: string
    }
  | {
      type: 'log'
      app: string
      deployment: number | null
      stream: 'build' | 'app'
      line: string
      at: string
    }
  | { type: 'app'; app: string; state: string; at: string }
  | { type: 'relay'; connected: boolean; at: string }

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
   * `git`, `install`, `predeploy`, `boot` (spawn to healthy), `stop` (the old process, with
   * `--strategy restart` only: blue/green drains it after the switch), `total`.
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

/** How a new release replaces the running one (`app add --strategy`). */
export const STRATEGIES = ['blue-green', 'restart'] as const
export type Strategy = (typeof STRATEGIES)[number]

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
  /** `tags:GLOB` when the app deploys the newest matching tag; null: it tracks `branch`. */
  track: string | null
  /** The tag the live release was built from (tag-tracked apps). */
  tag: string | null
  port: number | null
  bind: string | null
  strategy: Strategy
  hostname: string | null
  health: string
  lastDeployment: Pick<
    Deployment,
    'id' | 'status' | 'stage' | 'commit' | 'startedAt' | 'finishedAt' | 'reason'
  > | null
  webhook: {
    enabled: boolean
    provider: Provider
    url: string | null
    mode: HookMode
    /** What the audit found wrong with the registered hook (stale URL, deleted on the host). */
    problem: string | null
  } | null
  pin: Pin | null
}

/** auto: registered through the host's API; manual: pasted by hand; polling: no webhook needed. */
export type HookMode = 'auto' | 'manual' | 'polling'

/** The webhook as the git host holds it (`GET /apps/:app/webhook`'s `registration`). */
export type HookRegistration = {
  mode: HookMode
  /** github | gitlab | gitea | bitbucket, once the agent talked to it. */
  host: string | null
  hookId: string | null
  /** The URL registered on the host (auto mode). */
  registeredUrl: string | null
  /** Why the agent could not register it: the host's own words. */
  reason: string | null
  problem: string | null
  registeredAt: string | null
}

/** What `--register` did, and whether the host's test delivery came back through the relay. */
export type RegisterOutcome = {
  app: string
  mode: HookMode
  host: string | null
  hookId: string | null
  created: boolean
  pruned: number
  reason: string | null
  /** The host's test delivery: which event it sends (null: none), and what arrived. */
  test: { event: string | null; arrived: DeliverySummary | null }
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
  registration: HookRegistration | null
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
  /** With `--register` (enable) or on an auto hook (rotate): what the host was told. */
  registration: RegisterOutcome | null
}

export const NOTIFY_FORMATS = ['json', 'slack', 'discord', 'ntfy'] as const
export type NotifyFormat = (typeof NOTIFY_FORMATS)[number]
export const NOTIFY_ON = ['failed', 'live', 'all'] as const
export type NotifyOn = (typeof NOTIFY_ON)[number]

/** A notification target (`GET /notify`); the URL is shown only up to its host (it may be a secret). */
export type NotifyTarget = {
  id: number
  url: string
  app: string | null
  on: NotifyOn
  format: NotifyFormat
  createdAt: string
}

/** `POST /notify`: the json format's signing secret appears only here. */
export type NotifyAdded = NotifyTarget & { secret: string | null }

/** What a `json` notification's body says (signed per Standard Webhooks). */
export type DeployNotice = Omit<Extract<AgentEvent, { type: 'deployment' }>, 'type'> & {
  type: 'deployment.live' | 'deployment.failed' | 'deployment.test'
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

/** One setting `apply` changes; env values never appear (`set` stands for one). */
export type ApplyChange = { field: string; from: string | null; to: string | null }

/** What `apply` does (or, with dryRun, would do) to one app. */
export type ApplyStep = {
  app: string
  action: 'create' | 'update' | 'remove' | 'unchanged'
  changes: ApplyChange[]
  /** A running app restarts: a setting its process sees changed. */
  restart: boolean
  /** A deployed app deploys again: what it tracks (repo, branch, tags) changed. */
  deploy: boolean
  notes: string[]
}

/** `POST /apply`. Webhook secrets appear only here, for webhooks this run enabled or re-keyed. */
export type ApplyResult = {
  dryRun: boolean
  steps: ApplyStep[]
  /** Apps the agent has that the file does not name: kept unless `prune`. */
  unlisted: string[]
  webhooks: WebhookIssued[]
  deployments: { app: string; deployment: number }[]
}

/** `POST /apply`'s 400 for a file the agent refuses: the message and the key it is about. */
export type ApplyRefusal = { error: string; path: (string | number)[] }

/**
 * One line of `toehold doctor` (`GET /doctor` answers `{ checks }`). A failing `required` check
 * means deploys or webhooks will fail (the CLI exits 1); `fix` says what to do about a failure.
 */
export type DoctorCheck = {
  name: string
  ok: boolean
  required: boolean
  detail: string
  fix: string | null
}

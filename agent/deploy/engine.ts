// PLACEHOLDER until the deploy engine lands: records requests as queued deployments.
import type { Logger } from 'pino'
import type { Events } from '../events.ts'
import type { Home } from '../home.ts'
import type { AgentMetrics } from '../metrics.ts'
import type { Db } from '../state.ts'
import { createDeployment, getDeployment, listDeployments } from './deployments.ts'
import type { Deployer } from './types.ts'

export type DeployerDeps = {
  db: Db
  home: Home
  log: Logger
  events: Events
  metrics: AgentMetrics
}

export function createDeployer(deps: DeployerDeps): Deployer {
  const { db } = deps
  const missing = () => {
    throw new Error('the deploy engine is not implemented yet')
  }
  return {
    request: (app, request) =>
      createDeployment(db, app, { ...request, commit: request.commit ?? null }),
    rollback: missing,
    start: async () => missing(),
    stop: async () => missing(),
    restart: async () => missing(),
    runtime: () => ({ state: 'not_deployed', pid: null, since: null, restarts: 0 }),
    deployments: (app, limit) => listDeployments(db, app, limit),
    deployment: (app, id) => getDeployment(db, app, id),
    releases: () => [],
    buildLogPath: missing,
    appLogPath: missing,
    converge: async () => {},
    recover: async () => {},
    forget: async () => {},
    shutdown: async () => {},
  }
}

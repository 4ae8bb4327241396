// In-process event bus behind the live stream (SSE): deployment stages and log lines, as the
// CLI's --follow and the dashboard consume them.
import { EventEmitter } from 'node:events'

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

export type Events = ReturnType<typeof createEvents>

export function createEvents() {
  const emitter = new EventEmitter()
  emitter.setMaxListeners(0)
  return {
    emit(event: AgentEvent): void {
      emitter.emit('event', event)
    },
    /** Returns the unsubscribe function. */
    subscribe(listener: (event: AgentEvent) => void): () => void {
      emitter.on('event', listener)
      return () => emitter.off('event', listener)
    },
  }
}

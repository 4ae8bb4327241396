// In-process event bus behind the live stream (SSE): deployment stages and log lines, as the
// CLI's --follow and the dashboard consume them.
import { EventEmitter } from 'node:events'
import type { AgentEvent } from '../api/contract.ts'

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

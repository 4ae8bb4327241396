// /events: the live stream (Server-Sent Events) of deployment stages and log lines.
import { Hono } from 'hono'
import { streamSSE } from 'hono/streaming'
import type { ApiDeps } from './context.ts'
import type { AgentEvent } from './contract.ts'

export function eventRoutes(deps: ApiDeps) {
  return new Hono().get('/events', (c) => {
    const app = c.req.query('app')
    return streamSSE(c, async (stream) => {
      const pending: AgentEvent[] = []
      let wake: (() => void) | null = null
      const unsubscribe = deps.events.subscribe((event) => {
        if (app && 'app' in event && event.app !== app) return
        pending.push(event)
        wake?.()
      })
      stream.onAbort(() => {
        unsubscribe()
        wake?.()
      })
      // Tells the client the subscription is live, so it can act without missing events.
      await stream.writeSSE({ event: 'ready', data: '{}' })
      while (!stream.aborted) {
        const event = pending.shift()
        if (event) {
          await stream.writeSSE({ event: event.type, data: JSON.stringify(event) })
          continue
        }
        // Keeps proxies from closing an idle stream.
        const idle = setTimeout(() => wake?.(), 15_000)
        await new Promise<void>((resolve) => (wake = resolve))
        clearTimeout(idle)
        wake = null
        if (pending.length === 0 && !stream.aborted) await stream.write(': keep-alive\n\n')
      }
      unsubscribe()
    })
  })
}

// The baseline: a bare Hono POST handler on @hono/node-server that reads the body and answers 200.
// Prints {"port": N} once listening.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'

const app = new Hono()
app.post('/hooks/:instance/:app', async (c) => {
  await c.req.arrayBuffer()
  return c.text('ok')
})
serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, ({ port }) => {
  process.stdout.write(`${JSON.stringify({ port })}\n`)
})
process.on('SIGTERM', () => process.exit(0))

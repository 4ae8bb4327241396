// Deployments, releases, rollback, start/stop/restart and logs of one app.
import { createReadStream, statSync } from 'node:fs'
import { Hono } from 'hono'
import { z } from 'zod'
import { AppError, requireApp } from '../apps.ts'
import { type ApiDeps, readJson } from './context.ts'

export function deployRoutes(deps: ApiDeps) {
  const { db, deployer } = deps
  return new Hono()
    .post('/apps/:app/deploy', async (c) => {
      const app = requireApp(db, c.req.param('app'))
      const body = await readJson(
        c,
        z.object({ ref: z.string().min(1).max(255).optional(), force: z.boolean().optional() }),
      )
      return c.json(deployer.request(app.name, { trigger: 'manual', ...body }), 202)
    })
    .post('/apps/:app/rollback', async (c) => {
      const app = requireApp(db, c.req.param('app'))
      const body = await readJson(c, z.object({ to: z.string().min(1).max(255).optional() }))
      return c.json(deployer.rollback(app.name, body.to), 202)
    })
    .post('/apps/:app/:action{start|stop|restart}', async (c) => {
      const app = requireApp(db, c.req.param('app'))
      const action = c.req.param('action') as 'start' | 'stop' | 'restart'
      await deployer[action](app.name)
      return c.json({ app: app.name, ...deployer.runtime(app.name) })
    })
    .get('/apps/:app/deployments', (c) => {
      const app = requireApp(db, c.req.param('app'))
      return c.json(deployer.deployments(app.name, Number(c.req.query('limit')) || 50))
    })
    .get('/apps/:app/releases', (c) =>
      c.json(deployer.releases(requireApp(db, c.req.param('app')).name)),
    )
    .get('/logs/:app/:id', (c) => {
      const app = requireApp(db, c.req.param('app'))
      const id = c.req.param('id')
      let path: string
      if (id === 'app') path = deployer.appLogPath(app.name)
      else {
        const deployment = deployer.deployment(app.name, Number(id))
        if (!/^\d+$/.test(id) || !deployment)
          throw new AppError(`no deployment ${id} of ${app.name}`, 404)
        path = deployer.buildLogPath(app.name, deployment.id)
      }
      const tail = Number(c.req.query('tail')) || 0
      let size = 0
      try {
        size = statSync(path).size
      } catch {
        return c.text('')
      }
      // Tail by bytes, generously, then trim to whole lines.
      const start = tail > 0 ? Math.max(0, size - tail * 512) : 0
      const stream = createReadStream(path, { start })
      return c.body(
        new ReadableStream({
          async start(controller) {
            const chunks: Buffer[] = []
            for await (const chunk of stream) chunks.push(chunk as Buffer)
            let lines = Buffer.concat(chunks).toString('utf8').split('\n')
            if (start > 0) lines = lines.slice(1)
            if (lines.at(-1) === '') lines.pop()
            if (tail > 0) lines = lines.slice(-tail)
            const text =
              c.req.query('format') === 'json'
                ? JSON.stringify({ lines })
                : lines.map((l) => `${l}\n`).join('')
            controller.enqueue(new TextEncoder().encode(text))
            controller.close()
          },
        }),
        200,
        {
          'content-type':
            c.req.query('format') === 'json' ? 'application/json' : 'text/plain; charset=utf-8',
        },
      )
    })
}

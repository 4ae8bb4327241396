// Deployments, releases, rollback, start/stop/restart and logs of one app.
import { Hono } from 'hono'
import { stream } from 'hono/streaming'
import * as v from 'valibot'
import { AppError } from '../core/errors.ts'
import { readLog } from '../core/logfile.ts'
import { text } from '../core/validate.ts'
import { requireApp } from '../state/apps.ts'
import { type ApiDeps, readJson } from './context.ts'
import { isFinal } from './contract.ts'

const Ref = text(255)

export function deployRoutes(deps: ApiDeps) {
  const { db, deployer, events } = deps
  return (
    new Hono()
      .post('/apps/:app/deploy', async (c) => {
        const app = requireApp(db, c.req.param('app'))
        const body = await readJson(
          c,
          v.object({ ref: v.optional(Ref), force: v.optional(v.boolean()) }),
        )
        return c.json(deployer.request(app.name, { trigger: 'manual', ...body }), 202)
      })
      .post('/apps/:app/rollback', async (c) => {
        const app = requireApp(db, c.req.param('app'))
        const body = await readJson(c, v.object({ to: v.optional(Ref) }))
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
      .get('/apps/:app/deployments/:id', (c) => {
        const app = requireApp(db, c.req.param('app'))
        const deployment = deployer.findDeployment(app.name, c.req.param('id'))
        if (!deployment)
          throw new AppError(`no deployment "${c.req.param('id')}" of ${app.name}`, 404)
        return c.json(deployment)
      })
      .get('/apps/:app/releases', (c) =>
        c.json(deployer.releases(requireApp(db, c.req.param('app')).name)),
      )
      // :id is a deployment (number, `007`, `latest`, commit prefix) or `app` for the app's output.
      // ?follow streams new lines until the deployment ends (the app's log: until disconnect).
      .get('/logs/:app/:id', (c) => {
        const app = requireApp(db, c.req.param('app'))
        const id = c.req.param('id')
        const deployment = id === 'app' ? null : deployer.findDeployment(app.name, id)
        if (id !== 'app' && !deployment)
          throw new AppError(`no deployment "${id}" of ${app.name}`, 404)
        const path = deployment
          ? deployer.buildLogPath(app.name, deployment.id)
          : deployer.appLogPath(app.name)
        const tail = Number(c.req.query('tail')) || null
        const json = c.req.query('format') === 'json'
        if (c.req.query('follow') === undefined) {
          const lines = readLog(path, tail)
          return json
            ? c.json({ app: app.name, deployment: deployment?.id ?? null, lines })
            : c.text(lines.map((line) => `${line}\n`).join(''))
        }

        const format = (line: string) => (json ? `${JSON.stringify({ line })}\n` : `${line}\n`)
        c.header('content-type', json ? 'application/x-ndjson' : 'text/plain; charset=utf-8')
        return stream(c, async (out) => {
          // Subscribing and reading happen in one tick: no line can fall between them.
          const queue = readLog(path, tail)
          let ended = deployment
            ? isFinal(deployer.deployment(app.name, deployment.id)?.status ?? 'failed')
            : false
          let wake = () => {}
          const unsubscribe = events.subscribe((event) => {
            if (!('app' in event) || event.app !== app.name) return
            if (event.type === 'log') {
              if (deployment ? event.deployment !== deployment.id : event.stream !== 'app') return
              queue.push(event.line)
            } else if (event.type === 'deployment' && event.deployment === deployment?.id) {
              ended = isFinal(event.status)
            } else return
            wake()
          })
          out.onAbort(() => wake())
          while (!out.aborted) {
            if (queue.length > 0) await out.write(queue.splice(0).map(format).join(''))
            else if (ended) break
            else await new Promise<void>((resolve) => (wake = resolve))
          }
          unsubscribe()
        })
      })
  )
}

// /status and /apps: the apps the agent runs.

import { Hono } from 'hono'
import * as v from 'valibot'
import { SETTING } from '../apply/settings.ts'
import { AppError } from '../core/errors.ts'
import { gitAuth, remoteHead, remoteTagNames } from '../core/git.ts'
import { isolation } from '../core/sandbox.ts'
import { counts, tracking } from '../core/tags.ts'
import { text } from '../core/validate.ts'
import { addApp, claimProblem, removeApp, requireApp } from '../state/apps.ts'
import { envScopes, setEnv } from '../state/env.ts'
import { type ApiDeps, readJson } from './context.ts'
import { allStatuses, appStatus } from './status.ts'

const NewApp = v.object({
  name: SETTING.name,
  repo: SETTING.repo,
  branch: v.optional(SETTING.branch, 'main'),
  start: v.nullish(SETTING.start, null),
  port: v.nullish(SETTING.port, null),
  /** null: all interfaces. */
  bind: v.nullish(SETTING.bind, null),
  strategy: v.optional(SETTING.strategy, 'blue-green'),
  hostname: v.nullish(SETTING.hostname, null),
  health: v.optional(SETTING.health, '/'),
  pollMs: v.nullish(v.pipe(v.number(), v.integer(), v.minValue(10_000)), null),
  track: v.nullish(SETTING.track, null),
  prereleases: v.optional(v.boolean(), false),
  deploy: v.optional(v.boolean(), false),
  /** The app's GIT_TOKEN, for a private remote: needed already to check that it answers. */
  gitToken: v.optional(text(4096)),
})

export function appRoutes(deps: ApiDeps) {
  const { db, deployer } = deps
  return new Hono()
    .get('/status', (c) => {
      const tunnel = deps.tunnel()
      return c.json({
        instance: deps.instanceId,
        relay: tunnel && {
          url: tunnel.url,
          connected: tunnel.connected,
          since: tunnel.since,
          error: tunnel.lastError,
        },
        apps: allStatuses(deps),
        /** How apps are isolated from the agent's secrets: bubblewrap, or none (a warning). */
        sandbox: isolation(),
      })
    })
    .get('/apps', (c) => c.json(allStatuses(deps)))
    .post('/apps', async (c) => {
      const body = await readJson(c, NewApp)
      const taken = claimProblem(db, body)
      if (taken) throw new AppError(taken, 409)
      if (body.hostname && body.port === null)
        throw new AppError('--hostname needs --port: the app listens on PORT behind its hostname')
      // Refuse a remote that does not answer; only warn when the branch is not there yet.
      let head: string | null
      const tags = tracking(body)
      try {
        const env = envScopes(db, body.name)
        if (body.gitToken) env.app = { GIT_TOKEN: body.gitToken }
        const auth = gitAuth(env, body.repo)
        head = tags
          ? ((await remoteTagNames(body.repo, auth)).find((tag) => counts(tag, tags)) ?? null)
          : await remoteHead(body.repo, body.branch, auth)
      } catch (error) {
        throw new AppError((error as Error).message)
      }
      const app = addApp(db, body)
      try {
        await deployer.claim(app.name)
      } catch (error) {
        removeApp(db, app.name)
        throw error
      }
      if (body.gitToken) setEnv(db, app.name, 'GIT_TOKEN', body.gitToken)
      const warnings = head
        ? []
        : tags
          ? [`no tag matching ${tags.pattern} on the remote yet; the first one pushed deploys`]
          : [`branch ${body.branch} does not exist on the remote yet; the first push to it deploys`]
      const deployment =
        body.deploy && head ? deployer.request(app.name, { trigger: 'manual' }) : null
      return c.json({ ...appStatus(deps, app), warnings, deployment: deployment?.id ?? null }, 201)
    })
    .get('/apps/:app', (c) => c.json(appStatus(deps, requireApp(db, c.req.param('app')))))
    .delete('/apps/:app', async (c) => {
      const app = requireApp(db, c.req.param('app'))
      const note = await deps.hooks.deregister(app.name)
      await deployer.forget(app.name)
      removeApp(db, app.name)
      return c.json({ removed: app.name, notes: note ? [note] : [] })
    })
}

// /status and /apps: the apps the agent runs.

import { Hono } from 'hono'
import * as v from 'valibot'
import { appNameProblem } from '../../shared/ids.ts'
import { AppError } from '../core/errors.ts'
import { gitAuth, remoteHead, remoteTagNames } from '../core/git.ts'
import { isolation } from '../core/sandbox.ts'
import { counts, tracking, trackProblem } from '../core/tags.ts'
import { checked, text } from '../core/validate.ts'
import { addApp, claimProblem, removeApp, requireApp } from '../state/apps.ts'
import { envScopes, setEnv } from '../state/env.ts'
import { type ApiDeps, readJson } from './context.ts'
import { STRATEGIES } from './contract.ts'
import { allStatuses, appStatus } from './status.ts'

const NewApp = v.object({
  name: checked(appNameProblem),
  repo: text(2048),
  branch: v.optional(
    v.pipe(text(255), v.regex(/^(?!-)[^\s~^:?*[\\]+$/, 'not a valid branch name')),
    'main',
  ),
  start: v.nullish(text(4096), null),
  port: v.nullish(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)), null),
  /** An IPv4 or IPv6 address to listen on; null: all interfaces. */
  bind: v.nullish(v.pipe(v.string(), v.ip('not an IP address')), null),
  strategy: v.optional(v.picklist(STRATEGIES), 'blue-green'),
  hostname: v.nullish(
    v.pipe(
      v.string(),
      v.regex(
        /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/,
        'letters, digits, dots and dashes (e.g. blog.home.arpa)',
      ),
    ),
    null,
  ),
  health: v.optional(v.pipe(v.string(), v.startsWith('/'), v.maxLength(1024)), '/'),
  pollMs: v.nullish(v.pipe(v.number(), v.integer(), v.minValue(10_000)), null),
  track: v.nullish(checked(trackProblem), null),
  prereleases: v.optional(v.boolean(), false),
  deploy: v.optional(v.boolean(), false),
  /** The app's GIT_TOKEN, for a private remote: needed already to check that it answers. */
  gitToken: v.optional(text(4096)),
})

/** An http(s) URL with a user or password in it, or any URL with a password (ssh's user is fine). */
function hasCredentials(repo: string): boolean {
  let url: URL
  try {
    url = new URL(repo)
  } catch {
    return false // a path or an scp-like ssh address (git@host:path)
  }
  return url.password !== '' || (url.username !== '' && /^https?:$/.test(url.protocol))
}

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
      if (body.repo.startsWith('-')) throw new AppError('repo: not a git URL or path')
      if (hasCredentials(body.repo))
        throw new AppError(
          `repo: a URL with credentials would be shown in status and the dashboard: give the URL without them and the token with \`toehold env set ${body.name} GIT_TOKEN --value-stdin\``,
        )
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

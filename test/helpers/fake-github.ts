// A GitHub Enterprise Server stand-in at one origin: its REST API under /api/v3 (hooks with ids
// and Link pagination, commit statuses, Deployments) and its repositories over git's smart HTTP,
// so the agent derives the API base from a real repo URL. Stateful like the real one, answering
// the way GitHub answers (404 for a token that may not manage hooks, 422 for a duplicate hook,
// 403 with rate-limit headers), and every ordinary exchange checked against GitHub's published
// OpenAPI description (@octokit/openapi). It delivers pings and pushes to the registered URL,
// signed with the registered secret, as GitHub does.
import { createHmac, randomUUID } from 'node:crypto'
import { mkdirSync, symlinkSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { gitBackend } from './git-http.ts'
import { type ApiChecker, loadOpenApi } from './openapi.ts'
import { ROOT, tempDir } from './procs.ts'

/** admin: may manage hooks; no-hooks: a classic token without admin:repo_hook (GitHub: 404);
 *  fine-grained: without the Webhooks permission (GitHub: 403). */
export type Grant = 'admin' | 'no-hooks' | 'fine-grained'

type Hook = {
  type: string
  id: number
  name: string
  active: boolean
  events: string[]
  config: { url: string; content_type: string; insecure_ssl: string }
  secret: string
  updated_at: string
  created_at: string
  url: string
  test_url: string
  ping_url: string
  deliveries_url: string
  last_response: { code: number | null; status: string | null; message: string | null }
}

export type Delivered = { hook: number; event: string; status: number; body: unknown }

export type Fault =
  | { kind: 'rate-limit'; count: number; retryAfter?: number; resetIn?: number }
  | { kind: 'down' }
  | { kind: 'hang' }
  | { kind: 'fail-writes'; status: number }

/** Who the fake says made a status or deployment (GitHub's simple-user). */
const CREATOR = {
  login: 'toehold',
  id: 1,
  node_id: 'U_1',
  avatar_url: '',
  gravatar_id: '',
  url: '',
  html_url: '',
  followers_url: '',
  following_url: '',
  gists_url: '',
  starred_url: '',
  subscriptions_url: '',
  organizations_url: '',
  repos_url: '',
  events_url: '',
  received_events_url: '',
  type: 'User',
  site_admin: false,
}

let OPENAPI: ApiChecker | undefined
const checker = () => {
  OPENAPI ??= loadOpenApi(join(ROOT, 'node_modules/@octokit/openapi/generated/api.github.com.json'))
  return OPENAPI
}

export async function startFakeGitHub(options: { pageSize?: number } = {}) {
  const pageSize = options.pageSize ?? 30
  const gitRoot = tempDir('toehold-fake-github-')
  const tokens = new Map<string, Grant>()
  const hooks = new Map<string, Hook[]>()
  const state = {
    nextId: 1,
    fault: null as Fault | null,
    /** Every API request: what a test counts, and when it came. */
    requests: [] as { method: string; path: string; at: number; status: number }[],
    /** Exchanges that did not match GitHub's OpenAPI description. */
    violations: [] as string[],
    statuses: [] as { repo: string; sha: string; body: Record<string, string> }[],
    deployments: [] as { id: number; repo: string; body: Record<string, unknown> }[],
    deploymentStatuses: [] as { deployment: number; body: Record<string, unknown> }[],
    deliveries: [] as Delivered[],
    deliveryWaiters: [] as (() => void)[],
  }
  let origin = ''

  const hookJson = (repo: string, hook: Hook) => {
    const { secret: _secret, ...shown } = hook
    const url = `${origin}/api/v3/repos/${repo}/hooks/${hook.id}`
    return {
      ...shown,
      url,
      test_url: `${url}/test`,
      ping_url: `${url}/pings`,
      deliveries_url: `${url}/deliveries`,
    }
  }

  async function deliver(hook: Hook, event: string, payload: unknown) {
    const body = JSON.stringify(payload)
    let status = 0
    try {
      const response = await fetch(hook.config.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'GitHub-Hookshot/fake',
          'x-github-event': event,
          'x-github-delivery': randomUUID(),
          'x-github-hook-id': String(hook.id),
          'x-hub-signature-256': `sha256=${createHmac('sha256', hook.secret).update(body).digest('hex')}`,
        },
        body,
      })
      status = response.status
      await response.arrayBuffer()
    } catch {}
    hook.last_response = { code: status, status: status < 300 ? 'active' : 'failed', message: null }
    state.deliveries.push({ hook: hook.id, event, status, body: payload })
    for (const wake of state.deliveryWaiters.splice(0)) wake()
    return status
  }

  const ping = (repo: string, hook: Hook) =>
    deliver(hook, 'ping', {
      zen: 'Keep it logically awesome.',
      hook_id: hook.id,
      hook: hookJson(repo, hook),
      repository: { full_name: repo },
    })

  const readBody = async (req: IncomingMessage) => {
    let text = ''
    for await (const chunk of req) text += chunk
    return text ? JSON.parse(text) : undefined
  }

  function api(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: URLSearchParams,
    body: unknown,
  ) {
    const method = req.method ?? 'GET'
    const send = (
      status: number,
      json?: unknown,
      headers: Record<string, string> = {},
      checked = true,
    ) => {
      state.requests.push({ method, path, at: Date.now(), status })
      if (checked) state.violations.push(...checker().check(method, path, body, status, json))
      res.writeHead(status, {
        ...(json === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      })
      res.end(json === undefined ? undefined : JSON.stringify(json))
    }
    const fault = state.fault
    if (fault?.kind === 'down') return send(503, { message: 'Service Unavailable' }, {}, false)
    // A host that takes the request and never answers.
    if (fault?.kind === 'hang') return
    if (fault?.kind === 'rate-limit' && fault.count > 0) {
      fault.count -= 1
      const reset = Math.ceil(Date.now() / 1000) + (fault.resetIn ?? 60)
      return send(
        403,
        {
          message: 'API rate limit exceeded for user.',
          documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
        },
        {
          'x-ratelimit-limit': '5000',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(reset),
          ...(fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) }),
        },
        false,
      )
    }
    if (fault?.kind === 'fail-writes' && method !== 'GET') {
      return send(fault.status, { message: 'Server Error' }, {}, false)
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    const grant = token ? tokens.get(token) : undefined
    if (!grant)
      return send(
        401,
        { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' },
        {},
        false,
      )
    const notFound = () =>
      send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' })

    const match = /^\/repos\/([^/]+\/[^/]+)\/(.*)$/.exec(path)
    if (!match) return notFound()
    const [, repo = '', rest = ''] = match
    const list = hooks.get(repo)
    if (!list) return notFound()

    if (rest.startsWith('hooks')) {
      if (grant === 'no-hooks') return notFound()
      if (grant === 'fine-grained') {
        return send(
          403,
          {
            message: 'Resource not accessible by personal access token',
            documentation_url: 'https://docs.github.com/rest/repos/webhooks',
          },
          {},
          false,
        )
      }
    }
    const now = new Date().toISOString()
    if (rest === 'hooks' && method === 'GET') {
      const perPage = Math.min(Number(query.get('per_page') ?? 30), pageSize)
      const page = Number(query.get('page') ?? 1)
      const pages = Math.max(1, Math.ceil(list.length / perPage))
      const link = (n: number, rel: string) =>
        `<${origin}/api/v3/repos/${repo}/hooks?per_page=${perPage}&page=${n}>; rel="${rel}"`
      const links = [
        ...(page < pages ? [link(page + 1, 'next'), link(pages, 'last')] : []),
        ...(page > 1 ? [link(1, 'first'), link(page - 1, 'prev')] : []),
      ]
      return send(
        200,
        list.slice((page - 1) * perPage, page * perPage).map((hook) => hookJson(repo, hook)),
        links.length ? { link: links.join(', ') } : {},
      )
    }
    if (rest === 'hooks' && method === 'POST') {
      const input = body as {
        config: { url: string; content_type?: string; secret?: string; insecure_ssl?: string }
        events?: string[]
        active?: boolean
      }
      if (
        list.some(
          (hook) =>
            hook.config.url === input.config.url &&
            hook.events.some((e) => (input.events ?? ['push']).includes(e)),
        )
      ) {
        return send(422, {
          message: 'Validation Failed',
          errors: [
            { resource: 'Hook', code: 'custom', message: 'Hook already exists on this repository' },
          ],
          documentation_url:
            'https://docs.github.com/rest/repos/webhooks#create-a-repository-webhook',
        })
      }
      const hook: Hook = {
        type: 'Repository',
        id: state.nextId++,
        name: 'web',
        active: input.active ?? true,
        events: input.events ?? ['push'],
        config: {
          url: input.config.url,
          content_type: input.config.content_type ?? 'form',
          insecure_ssl: input.config.insecure_ssl ?? '0',
        },
        secret: input.config.secret ?? '',
        created_at: now,
        updated_at: now,
        url: '',
        test_url: '',
        ping_url: '',
        deliveries_url: '',
        last_response: { code: null, status: 'unused', message: null },
      }
      list.push(hook)
      send(201, hookJson(repo, hook))
      // GitHub pings a new hook.
      void ping(repo, hook)
      return
    }
    const one = /^hooks\/(\d+)(\/pings)?$/.exec(rest)
    if (one) {
      const hook = list.find((h) => h.id === Number(one[1]))
      if (!hook) return notFound()
      if (one[2] && method === 'POST') {
        send(204)
        void ping(repo, hook)
        return
      }
      if (method === 'GET') return send(200, hookJson(repo, hook))
      if (method === 'PATCH') {
        const input = body as {
          config?: { url?: string; content_type?: string; secret?: string; insecure_ssl?: string }
          events?: string[]
          active?: boolean
        }
        if (input.config) {
          // GitHub replaces the whole config: a secret left out is dropped.
          hook.config = {
            url: input.config.url ?? hook.config.url,
            content_type: input.config.content_type ?? 'form',
            insecure_ssl: input.config.insecure_ssl ?? '0',
          }
          hook.secret = input.config.secret ?? ''
        }
        if (input.events) hook.events = input.events
        if (input.active !== undefined) hook.active = input.active
        hook.updated_at = now
        return send(200, hookJson(repo, hook))
      }
      if (method === 'DELETE') {
        list.splice(list.indexOf(hook), 1)
        return send(204)
      }
    }
    const status = /^statuses\/([0-9a-f]{40})$/.exec(rest)
    if (status && method === 'POST') {
      const input = body as Record<string, string>
      state.statuses.push({ repo, sha: status[1] ?? '', body: input })
      return send(201, {
        url: '',
        avatar_url: null,
        id: state.statuses.length,
        node_id: 'S',
        state: input.state,
        description: input.description ?? null,
        target_url: null,
        context: input.context ?? 'default',
        created_at: now,
        updated_at: now,
        creator: CREATOR,
      })
    }
    if (rest === 'deployments' && method === 'POST') {
      const input = body as Record<string, unknown>
      const id = state.nextId++
      state.deployments.push({ id, repo, body: input })
      return send(201, {
        url: '',
        id,
        node_id: 'D',
        sha: input.ref,
        ref: input.ref,
        task: 'deploy',
        payload: {},
        environment: input.environment,
        description: input.description ?? null,
        creator: CREATOR,
        created_at: now,
        updated_at: now,
        statuses_url: '',
        repository_url: '',
      })
    }
    const deploymentStatus = /^deployments\/(\d+)\/statuses$/.exec(rest)
    if (deploymentStatus && method === 'POST') {
      const id = Number(deploymentStatus[1])
      if (!state.deployments.some((d) => d.id === id)) return notFound()
      const input = body as Record<string, unknown>
      state.deploymentStatuses.push({ deployment: id, body: input })
      return send(201, {
        url: '',
        id: state.deploymentStatuses.length,
        node_id: 'DS',
        state: input.state,
        creator: CREATOR,
        description: input.description ?? '',
        environment: input.environment,
        target_url: '',
        created_at: now,
        updated_at: now,
        deployment_url: '',
        repository_url: '',
      })
    }
    return notFound()
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname.startsWith('/api/v3/')) {
      readBody(req).then(
        (body) => api(req, res, url.pathname.slice('/api/v3'.length), url.searchParams, body),
        () => res.writeHead(400).end(),
      )
      return
    }
    if (url.pathname.startsWith('/api/')) {
      // Not Gitea: no /api/v1/version here.
      res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>')
      return
    }
    // git over smart HTTP, to any token the fake knows.
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    const token = basic ? Buffer.from(basic, 'base64').toString().split(':')[1] : undefined
    if (!token || !tokens.has(token)) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="GitHub"' }).end()
      return
    }
    gitBackend(gitRoot, req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    origin,
    state,
    /** Serves a bare repository as owner/name (its URL: `${origin}/owner/name.git`). */
    addRepo(name: string, bare: string): string {
      const link = join(gitRoot, `${name}.git`)
      mkdirSync(dirname(link), { recursive: true })
      symlinkSync(bare, link)
      hooks.set(name, [])
      return `${origin}/${name}.git`
    },
    grant(token: string, grant: Grant) {
      tokens.set(token, grant)
    },
    /** The repository's hooks as GitHub holds them (with their secrets, for the test's eyes). */
    hooks: (repo: string) => hooks.get(repo) ?? [],
    /** Adds a hook behind the agent's back (a duplicate left by a crash, someone else's). */
    seedHook(repo: string, url: string, secret = 'someone-else'): number {
      const now = new Date().toISOString()
      const id = state.nextId++
      hooks.get(repo)?.push({
        type: 'Repository',
        id,
        name: 'web',
        active: true,
        events: ['push'],
        config: { url, content_type: 'json', insecure_ssl: '0' },
        secret,
        created_at: now,
        updated_at: now,
        url: '',
        test_url: '',
        ping_url: '',
        deliveries_url: '',
        last_response: { code: null, status: 'unused', message: null },
      })
      return id
    },
    /** Deletes a hook behind the agent's back. */
    deleteHook(repo: string, id: number) {
      const list = hooks.get(repo) ?? []
      list.splice(
        list.findIndex((hook) => hook.id === id),
        1,
      )
    },
    /** GitHub's push event to every active push hook; resolves to the answers' statuses. */
    push(repo: string, branch: string, after: string): Promise<number[]> {
      return Promise.all(
        (hooks.get(repo) ?? [])
          .filter((hook) => hook.active && hook.events.includes('push'))
          .map((hook) =>
            deliver(hook, 'push', {
              ref: `refs/heads/${branch}`,
              after,
              deleted: false,
              repository: { full_name: repo },
            }),
          ),
      )
    },
    /** Resolves once `count` deliveries were made in all. */
    async delivered(count: number): Promise<Delivered[]> {
      while (state.deliveries.length < count) {
        await new Promise<void>((resolve) => state.deliveryWaiters.push(resolve))
      }
      return state.deliveries
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export type FakeGitHub = Awaited<ReturnType<typeof startFakeGitHub>>

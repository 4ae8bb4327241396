// GitLab, Gitea and Bitbucket Cloud stand-ins, each at its own origin: the part of the REST API
// the agent uses (hooks with ids and pagination, commit statuses, the test-delivery endpoints),
// stateful, answering scope errors in each host's own words (from their API documentation),
// and, for GitLab and Gitea, the repositories over git's smart HTTP at the same origin and the
// test delivery sent to the registered URL the way the host sends it.
import { execFileSync } from 'node:child_process'
import { createHmac, randomUUID } from 'node:crypto'
import { mkdirSync, symlinkSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { gitBackend } from './git-http.ts'
import { tempDir } from './procs.ts'

export type HostKind = 'gitlab' | 'gitea' | 'bitbucket'
/** admin may manage hooks; limited holds a token without the hook scope. */
export type Grant = 'admin' | 'limited'

export type FakeHook = {
  id: string
  url: string
  secret: string
  active: boolean
  events: string[]
  contentType: string | null
}

type Repo = {
  bare: string
  hooks: FakeHook[]
  statuses: { sha: string; body: Record<string, unknown> }[]
}

/** Each host's refusal of a token without the scope, as its documentation shows it. */
const SCOPE_ERRORS: Record<HostKind, { status: number; body: unknown }> = {
  gitlab: {
    status: 403,
    body: {
      error: 'insufficient_scope',
      error_description:
        'The request requires higher privileges than provided by the access token.',
      scope: 'api',
    },
  },
  gitea: {
    status: 403,
    body: {
      message: 'token does not have at least one of required scope(s): [write:repository]',
      url: '',
    },
  },
  bitbucket: {
    status: 403,
    body: {
      type: 'error',
      error: {
        message: 'Your credentials lack one or more required privilege scopes.',
        detail: { granted: ['repository'], required: ['webhook'] },
      },
    },
  },
}

export async function startFakeHost(kind: HostKind, options: { pageSize?: number } = {}) {
  const pageSize = options.pageSize ?? 20
  const gitRoot = tempDir(`toehold-fake-${kind}-`)
  const tokens = new Map<string, Grant>()
  const repos = new Map<string, Repo>()
  let nextId = 1
  const state = { deliveries: [] as { event: string; status: number }[], down: false }
  let origin = ''

  const send = (
    res: ServerResponse,
    status: number,
    json?: unknown,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, {
      ...(json === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    })
    res.end(json === undefined ? undefined : JSON.stringify(json))
  }

  const head = (repo: Repo) =>
    execFileSync('git', ['-C', repo.bare, 'rev-parse', 'refs/heads/main'], {
      encoding: 'utf8',
    }).trim()

  async function deliver(repo: Repo, hook: FakeHook, event: string) {
    const sha = head(repo)
    const body = JSON.stringify(
      kind === 'gitlab'
        ? {
            object_kind: 'push',
            ref: 'refs/heads/main',
            before: '0'.repeat(40),
            after: sha,
            checkout_sha: sha,
          }
        : { ref: 'refs/heads/main', before: '0'.repeat(40), after: sha },
    )
    const headers: Record<string, string> =
      kind === 'gitlab'
        ? {
            'x-gitlab-event': 'Push Hook',
            'x-gitlab-token': hook.secret,
            'x-gitlab-webhook-uuid': randomUUID(),
            'idempotency-key': randomUUID(),
          }
        : {
            'x-gitea-event': 'push',
            'x-gitea-delivery': randomUUID(),
            'x-gitea-signature': createHmac('sha256', hook.secret).update(body).digest('hex'),
            'x-hub-signature-256': `sha256=${createHmac('sha256', hook.secret).update(body).digest('hex')}`,
          }
    let status = 0
    try {
      const response = await fetch(hook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      })
      status = response.status
      await response.arrayBuffer()
    } catch {}
    state.deliveries.push({ event, status })
  }

  /** One page of `items` with a Link header (GitLab, Gitea) or a `next` field (Bitbucket). */
  function page(req: IncomingMessage, res: ServerResponse, items: unknown[], sizeParam: string) {
    const url = new URL(req.url ?? '/', origin)
    const size = Math.min(Number(url.searchParams.get(sizeParam) ?? pageSize), pageSize)
    const number = Number(url.searchParams.get('page') ?? 1)
    const slice = items.slice((number - 1) * size, number * size)
    const more = number * size < items.length
    url.searchParams.set('page', String(number + 1))
    url.searchParams.set(sizeParam, String(size))
    if (kind === 'bitbucket') {
      return send(res, 200, {
        pagelen: size,
        page: number,
        size: items.length,
        values: slice,
        ...(more ? { next: url.href } : {}),
      })
    }
    return send(res, 200, slice, more ? { link: `<${url.href}>; rel="next"` } : {})
  }

  const shown = (hook: FakeHook) =>
    kind === 'gitlab'
      ? {
          id: Number(hook.id),
          url: hook.url,
          push_events: hook.events.includes('push'),
          enable_ssl_verification: true,
          created_at: '2026-01-01T00:00:00Z',
        }
      : kind === 'gitea'
        ? {
            id: Number(hook.id),
            type: 'gitea',
            config: { url: hook.url, content_type: hook.contentType },
            events: hook.events,
            active: hook.active,
            created_at: '2026-01-01T00:00:00Z',
            updated_at: '2026-01-01T00:00:00Z',
          }
        : {
            uuid: hook.id,
            url: hook.url,
            description: 'toehold',
            active: hook.active,
            events: hook.events,
            secret_set: hook.secret !== '',
            type: 'webhook_subscription',
          }

  function api(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    body: Record<string, unknown> | undefined,
  ) {
    if (state.down) return send(res, 503, { message: '503 Service Unavailable' })
    const method = req.method ?? 'GET'
    const auth = req.headers.authorization ?? ''
    const token =
      kind === 'gitea' ? /^token (.+)$/.exec(auth)?.[1] : /^Bearer (.+)$/.exec(auth)?.[1]
    const grant = token ? tokens.get(token) : undefined
    if (!grant) {
      return kind === 'gitlab'
        ? send(res, 401, { message: '401 Unauthorized' })
        : kind === 'gitea'
          ? send(res, 401, { message: 'token is required', url: '' })
          : send(res, 401, { type: 'error', error: { message: 'Unauthorized' } })
    }
    const pattern =
      kind === 'gitlab'
        ? /^\/projects\/([^/]+)\/(.*)$/
        : kind === 'gitea'
          ? /^\/repos\/([^/]+\/[^/]+)\/(.*)$/
          : /^\/repositories\/([^/]+\/[^/]+)\/(.*)$/
    const match = pattern.exec(path)
    const repo = match && repos.get(decodeURIComponent(match[1] ?? ''))
    const notFound = () =>
      kind === 'bitbucket'
        ? send(res, 404, { type: 'error', error: { message: 'Not found' } })
        : send(res, 404, {
            message: kind === 'gitlab' ? '404 Project Not Found' : "The target couldn't be found.",
          })
    if (!match || !repo) return notFound()
    const rest = match[2] ?? ''
    if (rest.startsWith('hooks') && grant === 'limited') {
      const refusal = SCOPE_ERRORS[kind]
      return send(res, refusal.status, refusal.body)
    }
    const input = body ?? {}
    const config = (input.config ?? {}) as Record<string, string>
    if (rest === 'hooks' && method === 'GET')
      return page(
        req,
        res,
        repo.hooks.map(shown),
        kind === 'bitbucket' ? 'pagelen' : kind === 'gitea' ? 'limit' : 'per_page',
      )
    if (rest === 'hooks' && method === 'POST') {
      const hook: FakeHook =
        kind === 'gitlab'
          ? {
              id: String(nextId++),
              url: String(input.url),
              secret: String(input.token ?? ''),
              active: true,
              events: input.push_events === false ? [] : ['push'],
              contentType: null,
            }
          : kind === 'gitea'
            ? // Gitea's `active` defaults to false.
              {
                id: String(nextId++),
                url: config.url ?? '',
                secret: config.secret ?? '',
                active: input.active === true,
                events: (input.events as string[]) ?? ['push'],
                contentType: config.content_type ?? null,
              }
            : {
                id: `{${randomUUID()}}`,
                url: String(input.url),
                secret: String(input.secret ?? ''),
                active: input.active === true,
                events: (input.events as string[]) ?? [],
                contentType: null,
              }
      repo.hooks.push(hook)
      return send(res, 201, shown(hook))
    }
    const one = /^hooks\/([^/]+)(\/.*)?$/.exec(rest)
    if (one) {
      const hook = repo.hooks.find((h) => h.id === decodeURIComponent(one[1] ?? ''))
      if (!hook) return notFound()
      const tail = one[2]
      if (tail === '/test/push_events' && kind === 'gitlab' && method === 'POST') {
        send(res, 201, { message: '201 Created' })
        void deliver(repo, hook, 'push')
        return
      }
      if (tail === '/tests' && kind === 'gitea' && method === 'POST') {
        send(res, 204)
        void deliver(repo, hook, 'push')
        return
      }
      if (tail) return notFound()
      if (method === 'GET') return send(res, 200, shown(hook))
      if (method === 'DELETE') {
        repo.hooks.splice(repo.hooks.indexOf(hook), 1)
        return send(res, 204)
      }
      if ((method === 'PUT' && kind !== 'gitea') || (method === 'PATCH' && kind === 'gitea')) {
        if (kind === 'gitlab') {
          const url = String(input.url ?? hook.url)
          // GitLab drops the token when the URL changes and no token is given.
          hook.secret =
            input.token !== undefined ? String(input.token) : url !== hook.url ? '' : hook.secret
          hook.url = url
        } else if (kind === 'gitea') {
          hook.url = config.url ?? hook.url
          if (config.secret !== undefined) hook.secret = config.secret
          if (config.content_type) hook.contentType = config.content_type
          if (input.events) hook.events = input.events as string[]
          if (input.active !== undefined) hook.active = input.active === true
        } else {
          hook.url = String(input.url ?? hook.url)
          if (input.secret !== undefined) hook.secret = String(input.secret)
          if (input.events) hook.events = input.events as string[]
          if (input.active !== undefined) hook.active = input.active === true
        }
        return send(res, 200, shown(hook))
      }
    }
    const status =
      kind === 'gitlab'
        ? /^statuses\/([0-9a-f]{40})$/.exec(rest)
        : kind === 'gitea'
          ? /^statuses\/([0-9a-f]{40})$/.exec(rest)
          : /^commit\/([0-9a-f]{40})\/statuses\/build$/.exec(rest)
    if (status && method === 'POST') {
      const sha = status[1] ?? ''
      if (kind === 'gitlab') {
        const last = repo.statuses.filter((s) => s.sha === sha && s.body.name === input.name).at(-1)
        if (last && last.body.state === input.state) {
          return send(res, 400, {
            message: `Cannot transition status via :run from :${String(input.state)}`,
          })
        }
      }
      if (kind === 'bitbucket') {
        // The same key overwrites the commit's earlier status.
        const index = repo.statuses.findIndex((s) => s.sha === sha && s.body.key === input.key)
        if (index !== -1) repo.statuses.splice(index, 1)
      }
      repo.statuses.push({ sha, body: input })
      return send(res, 201, { id: repo.statuses.length, ...input })
    }
    return notFound()
  }

  const base = kind === 'gitlab' ? '/api/v4' : kind === 'gitea' ? '/api/v1' : '/2.0'
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (kind === 'gitea' && url.pathname === '/api/v1/version')
      return send(res, 200, { version: '1.22.3' })
    if (url.pathname.startsWith(`${base}/`)) {
      let text = ''
      req.setEncoding('utf8')
      req.on('data', (chunk: string) => {
        text += chunk
      })
      req.on('end', () =>
        api(req, res, url.pathname.slice(base.length), text ? JSON.parse(text) : undefined),
      )
      return
    }
    if (url.pathname.startsWith('/api/')) return send(res, 404, { message: 'Not Found' })
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    const token = basic ? Buffer.from(basic, 'base64').toString().split(':')[1] : undefined
    if (!token || !tokens.has(token)) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end()
      return
    }
    gitBackend(gitRoot, req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    origin,
    api: `${origin}${base}`,
    state,
    addRepo(name: string, bare: string): string {
      const link = join(gitRoot, `${name}.git`)
      mkdirSync(dirname(link), { recursive: true })
      symlinkSync(bare, link)
      repos.set(name, { bare, hooks: [], statuses: [] })
      return `${origin}/${name}.git`
    },
    grant(token: string, grant: Grant) {
      tokens.set(token, grant)
    },
    hooks: (repo: string) => repos.get(repo)?.hooks ?? [],
    statuses: (repo: string) => repos.get(repo)?.statuses ?? [],
    seedHook(repo: string, url: string): string {
      const hook: FakeHook = {
        id: kind === 'bitbucket' ? `{${randomUUID()}}` : String(nextId++),
        url,
        secret: 'old',
        active: true,
        events: ['push'],
        contentType: 'json',
      }
      repos.get(repo)?.hooks.push(hook)
      return hook.id
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export type FakeHost = Awaited<ReturnType<typeof startFakeHost>>

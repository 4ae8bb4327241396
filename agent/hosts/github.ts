// GitHub (github.com and Enterprise Server) over its REST API: repository webhooks, commit
// statuses and Deployments. Plain fetch through http.ts rather than Octokit: the agent needs
// nine endpoints and one retry/rate-limit policy shared with the other hosts.
import type { HostTarget } from './base.ts'
import { allPages, type HostHttp, hostRequest, unlessMissing } from './http.ts'
import { cut, type HookSpec, type HostApi, type RemoteHook } from './types.ts'

type Hook = { id: number; config: { url?: string } }

/** GitHub's limit for a status description. */
const GITHUB_DESCRIPTION = 140

function errorText(status: number, body: unknown): string {
  const { message, errors } = (body ?? {}) as { message?: string; errors?: { message?: string }[] }
  const detail = errors
    ?.map((error) => error.message)
    .filter(Boolean)
    .join('; ')
  const text = [message ?? `HTTP ${status}`, detail].filter(Boolean).join(': ')
  // GitHub hides what a token may not touch behind a 404, as if the repository did not exist.
  return status === 404 ? `${text} (GitHub answers 404 when the token lacks the permission)` : text
}

const hookBody = (spec: HookSpec) => ({
  config: { url: spec.url, content_type: 'json', secret: spec.secret, insecure_ssl: '0' },
  events: ['push'],
  active: true,
})

const remote = (hook: Hook): RemoteHook => ({ id: String(hook.id), url: hook.config.url ?? '' })

export function githubApi(
  target: HostTarget,
  token: string,
  tuning: Partial<HostHttp> = {},
): HostApi {
  const http: HostHttp = {
    base: target.api,
    headers: {
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      authorization: `Bearer ${token}`,
    },
    errorText,
    ...tuning,
  }
  const repo = `/repos/${target.repo}`
  return {
    kind: 'github',
    listHooks: async () => (await allPages<Hook>(http, `${repo}/hooks?per_page=100`)).map(remote),
    async getHook(id) {
      const found = await unlessMissing(hostRequest<Hook>(http, 'GET', `${repo}/hooks/${id}`))
      return found && remote(found.body)
    },
    async createHook(spec) {
      const body = { name: 'web', ...hookBody(spec) }
      return remote((await hostRequest<Hook>(http, 'POST', `${repo}/hooks`, body)).body)
    },
    async updateHook(id, spec) {
      await hostRequest(http, 'PATCH', `${repo}/hooks/${id}`, hookBody(spec))
    },
    async deleteHook(id) {
      await unlessMissing(hostRequest(http, 'DELETE', `${repo}/hooks/${id}`))
    },
    async testHook(id, created) {
      // GitHub pings a new hook by itself; an updated one is pinged on request.
      if (!created) await hostRequest(http, 'POST', `${repo}/hooks/${id}/pings`)
      return 'ping'
    },
    async setStatus(commit, status) {
      await hostRequest(http, 'POST', `${repo}/statuses/${commit}`, {
        state: status.state,
        description: cut(status.description, GITHUB_DESCRIPTION),
        context: status.context,
      })
    },
    deployments: {
      async create(commit, environment, description) {
        const response = await hostRequest<{ id: number }>(http, 'POST', `${repo}/deployments`, {
          ref: commit,
          environment,
          description: cut(description, GITHUB_DESCRIPTION),
          auto_merge: false,
          required_contexts: [],
        })
        return String(response.body.id)
      },
      async setState(id, state, description, environment) {
        // auto_inactive (default true) marks earlier deployments of the environment inactive.
        await hostRequest(http, 'POST', `${repo}/deployments/${id}/statuses`, {
          state,
          description: cut(description, GITHUB_DESCRIPTION),
          environment,
          auto_inactive: true,
        })
      },
    },
  }
}

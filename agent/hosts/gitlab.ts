// GitLab (gitlab.com and self-managed) over its REST API v4: project hooks and commit statuses.
// Plain fetch through http.ts rather than @gitbeaker/rest: six endpoints, and the same retry and
// rate-limit policy (RateLimit-Reset) as the other hosts.
import type { HostTarget } from './base.ts'
import { allPages, type HostHttp, hostRequest, unlessMissing } from './http.ts'
import { type CommitState, cut, type HookSpec, type HostApi, type RemoteHook } from './types.ts'

type Hook = { id: number; url: string }

/** GitLab's limit for a status description. */
const GITLAB_DESCRIPTION = 255

function errorText(status: number, body: unknown): string {
  const { message, error, error_description } = (body ?? {}) as {
    message?: unknown
    error?: string
    error_description?: string
  }
  if (error_description) return `${error}: ${error_description}`
  if (typeof message === 'string') return message
  if (message && typeof message === 'object') return JSON.stringify(message).slice(0, 300)
  return `HTTP ${status}`
}

// Changing a hook's URL makes GitLab drop its token, so the token is sent on every write.
const hookBody = (spec: HookSpec) => ({
  url: spec.url,
  token: spec.secret,
  push_events: true,
  tag_push_events: false,
  enable_ssl_verification: true,
})

const STATES: Record<CommitState, string> = {
  pending: 'running',
  success: 'success',
  failure: 'failed',
  error: 'canceled',
}

export function gitlabApi(
  target: HostTarget,
  token: string,
  tuning: Partial<HostHttp> = {},
): HostApi {
  const http: HostHttp = {
    base: target.api,
    headers: { authorization: `Bearer ${token}` },
    errorText,
    ...tuning,
  }
  const project = `/projects/${encodeURIComponent(target.repo)}`
  const remote = (hook: Hook): RemoteHook => ({ id: String(hook.id), url: hook.url })
  // GitLab refuses a transition to the state a status already has (running → running).
  const running = new Set<string>()
  return {
    kind: 'gitlab',
    listHooks: async () =>
      (await allPages<Hook>(http, `${project}/hooks?per_page=100`)).map(remote),
    async getHook(id) {
      const found = await unlessMissing(hostRequest<Hook>(http, 'GET', `${project}/hooks/${id}`))
      return found && remote(found.body)
    },
    createHook: async (spec) =>
      remote((await hostRequest<Hook>(http, 'POST', `${project}/hooks`, hookBody(spec))).body),
    async updateHook(id, spec) {
      await hostRequest(http, 'PUT', `${project}/hooks/${id}`, hookBody(spec))
    },
    async deleteHook(id) {
      await unlessMissing(hostRequest(http, 'DELETE', `${project}/hooks/${id}`))
    },
    async testHook(id) {
      // GitLab sends nothing on create; its test endpoint sends a push event.
      await hostRequest(http, 'POST', `${project}/hooks/${id}/test/push_events`)
      return 'push'
    },
    async setStatus(commit, status) {
      const key = `${commit} ${status.context}`
      if (status.state === 'pending' && running.has(key)) return
      await hostRequest(http, 'POST', `${project}/statuses/${commit}`, {
        state: STATES[status.state],
        name: status.context,
        description: cut(status.description, GITLAB_DESCRIPTION),
      })
      if (status.state === 'pending') running.add(key)
      else running.delete(key)
    },
  }
}

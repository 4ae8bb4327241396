// Gitea and Forgejo over their REST API v1 (the same for both): repository hooks and commit
// statuses. Plain fetch through http.ts: no well-kept client covers Forgejo too.
import type { HostTarget } from './base.ts'
import { allPages, type HostHttp, hostRequest, unlessMissing } from './http.ts'
import { cut, type HookSpec, type HostApi, type RemoteHook } from './types.ts'

type Hook = { id: number; config: { url?: string } }

const DESCRIPTION = 255

function errorText(status: number, body: unknown): string {
  const { message } = (body ?? {}) as { message?: string }
  return message || `HTTP ${status}`
}

// Gitea's `active` defaults to false: always say it.
const hookBody = (spec: HookSpec) => ({
  config: { url: spec.url, content_type: 'json', secret: spec.secret },
  events: ['push'],
  active: true,
})

export function giteaApi(
  target: HostTarget,
  token: string,
  tuning: Partial<HostHttp> = {},
): HostApi {
  const http: HostHttp = {
    base: target.api,
    headers: { authorization: `token ${token}`, accept: 'application/json' },
    errorText,
    ...tuning,
  }
  const repo = `/repos/${target.repo}`
  const remote = (hook: Hook): RemoteHook => ({ id: String(hook.id), url: hook.config.url ?? '' })
  return {
    kind: 'gitea',
    listHooks: async () => (await allPages<Hook>(http, `${repo}/hooks?limit=50`)).map(remote),
    async getHook(id) {
      const found = await unlessMissing(hostRequest<Hook>(http, 'GET', `${repo}/hooks/${id}`))
      return found && remote(found.body)
    },
    createHook: async (spec) =>
      remote(
        (
          await hostRequest<Hook>(http, 'POST', `${repo}/hooks`, {
            type: 'gitea',
            ...hookBody(spec),
          })
        ).body,
      ),
    async updateHook(id, spec) {
      await hostRequest(http, 'PATCH', `${repo}/hooks/${id}`, hookBody(spec))
    },
    async deleteHook(id) {
      await unlessMissing(hostRequest(http, 'DELETE', `${repo}/hooks/${id}`))
    },
    async testHook(id) {
      // Gitea sends nothing on create; its test endpoint sends a push event.
      await hostRequest(http, 'POST', `${repo}/hooks/${id}/tests`)
      return 'push'
    },
    async setStatus(commit, status) {
      await hostRequest(http, 'POST', `${repo}/statuses/${commit}`, {
        state: status.state,
        description: cut(status.description, DESCRIPTION),
        context: status.context,
      })
    },
  }
}

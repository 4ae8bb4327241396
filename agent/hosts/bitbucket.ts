// Bitbucket Cloud over its REST API 2.0: repository webhooks and commit build statuses. Plain
// fetch through http.ts: Bitbucket has no maintained official JavaScript client.
import type { HostTarget } from './base.ts'
import { type HostHttp, hostRequest, unlessMissing } from './http.ts'
import { type CommitState, cut, type HookSpec, type HostApi, type RemoteHook } from './types.ts'

type Hook = { uuid: string; url: string }
type Page = { values: Hook[]; next?: string }

const DESCRIPTION = 255

function errorText(status: number, body: unknown): string {
  const { error } = (body ?? {}) as {
    error?: { message?: string; detail?: { required?: string[] } | string }
  }
  const required =
    typeof error?.detail === 'object' && error.detail.required
      ? ` (required: ${error.detail.required.join(', ')})`
      : ''
  return error?.message ? `${error.message}${required}` : `HTTP ${status}`
}

// The secret is write-only on Bitbucket (reads say `secret_set`): it is sent on every write.
const hookBody = (spec: HookSpec) => ({
  description: 'toehold',
  url: spec.url,
  active: true,
  secret: spec.secret,
  events: ['repo:push'],
})

const STATES: Record<CommitState, string> = {
  pending: 'INPROGRESS',
  success: 'SUCCESSFUL',
  failure: 'FAILED',
  error: 'STOPPED',
}

/** Bitbucket API tokens and app passwords authenticate as user:token; access tokens as Bearer. */
export function bitbucketApi(
  target: HostTarget,
  token: string,
  username: string | undefined,
  tuning: Partial<HostHttp> = {},
): HostApi {
  const authorization =
    username && username !== 'x-access-token' && username !== 'x-token-auth'
      ? `Basic ${Buffer.from(`${username}:${token}`).toString('base64')}`
      : `Bearer ${token}`
  const http: HostHttp = {
    base: target.api,
    headers: { authorization, accept: 'application/json' },
    errorText,
    ...tuning,
  }
  const repo = `/repositories/${target.repo}`
  const remote = (hook: Hook): RemoteHook => ({ id: hook.uuid, url: hook.url })
  const hookPath = (id: string) => `${repo}/hooks/${encodeURIComponent(id)}`
  return {
    kind: 'bitbucket',
    async listHooks() {
      const hooks: RemoteHook[] = []
      let next: string | undefined = `${repo}/hooks?pagelen=100`
      for (let page = 0; next && page < 50; page++) {
        const body: Page = (await hostRequest<Page>(http, 'GET', next)).body
        hooks.push(...body.values.map(remote))
        next = body.next
      }
      return hooks
    },
    async getHook(id) {
      const found = await unlessMissing(hostRequest<Hook>(http, 'GET', hookPath(id)))
      return found && remote(found.body)
    },
    createHook: async (spec) =>
      remote((await hostRequest<Hook>(http, 'POST', `${repo}/hooks`, hookBody(spec))).body),
    async updateHook(id, spec) {
      await hostRequest(http, 'PUT', hookPath(id), hookBody(spec))
    },
    async deleteHook(id) {
      await unlessMissing(hostRequest(http, 'DELETE', hookPath(id)))
    },
    // Bitbucket has no test delivery: the first push proves the path.
    testHook: async () => null,
    async setStatus(commit, status) {
      // The same key overwrites the commit's earlier status: one entry per app.
      await hostRequest(http, 'POST', `${repo}/commit/${commit}/statuses/build`, {
        key: status.context,
        name: status.context,
        state: STATES[status.state],
        description: cut(status.description, DESCRIPTION),
        url: `${target.origin}/${target.repo}/commits/${commit}`,
      })
    },
  }
}

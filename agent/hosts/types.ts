// What the agent asks of every git host: manage one repository's webhooks and report deployments
// on its commits. One module per host implements it (github.ts, gitlab.ts, gitea.ts, bitbucket.ts).
import type { HostKind } from './base.ts'

/** A webhook as the host lists it. */
export type RemoteHook = { id: string; url: string }

/** What a registered hook must be: our URL and secret, push events, JSON, active. */
export type HookSpec = { url: string; secret: string }

/** A deployment's state in the host's words for a commit status. */
export type CommitState = 'pending' | 'success' | 'failure' | 'error'

export type CommitStatus = {
  state: CommitState
  /** Cut to the host's limit by the client. */
  description: string
  /** `toehold/<app>`. */
  context: string
}

export type HostApi = {
  kind: HostKind
  listHooks(): Promise<RemoteHook[]>
  /** Undefined when the host has no hook by that id (deleted there). */
  getHook(id: string): Promise<RemoteHook | undefined>
  createHook(spec: HookSpec): Promise<RemoteHook>
  updateHook(id: string, spec: HookSpec): Promise<void>
  /** A hook already gone counts as deleted. */
  deleteHook(id: string): Promise<void>
  /**
   * Asks the host for its test delivery, where it has one and does not send it by itself;
   * resolves to what the host sends (`ping`, `push`), or null when it sends none.
   */
  testHook(id: string, created: boolean): Promise<string | null>
  setStatus(commit: string, status: CommitStatus): Promise<void>
  /** GitHub's Deployments API; the other hosts have none and leave it out. */
  deployments?: {
    create(commit: string, environment: string, description: string): Promise<string>
    setState(
      id: string,
      state: 'in_progress' | 'success' | 'failure' | 'inactive',
      description: string,
      environment: string,
    ): Promise<void>
  }
}

/** Cuts a description to a host's limit, marking the cut. */
export const cut = (text: string, limit: number) =>
  text.length <= limit ? text : `${text.slice(0, limit - 1)}…`

/** The same hook URL, whatever a host did to a trailing slash or the letter case of its host. */
export function sameUrl(a: string, b: string): boolean {
  const norm = (url: string) => {
    try {
      const parsed = new URL(url)
      return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}${parsed.search}`
    } catch {
      return url
    }
  }
  return norm(a) === norm(b)
}

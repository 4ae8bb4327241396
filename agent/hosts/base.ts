// Which API manages an app's repository, derived from its repo URL and webhook provider:
// github.com → https://api.github.com, another GitHub host → <origin>/api/v3 (Enterprise
// Server), GitLab → <origin>/api/v4, Gitea/Forgejo → <origin>/api/v1, Bitbucket Cloud →
// https://api.bitbucket.org/2.0. A `github` provider on another host is Gitea or Forgejo when
// that host answers Gitea's version endpoint (they sign like GitHub), else Enterprise Server.
import type { Provider } from '../api/contract.ts'

export type HostKind = 'github' | 'gitlab' | 'gitea' | 'bitbucket'

export type HostTarget = {
  kind: HostKind
  /** API base without a trailing slash. */
  api: string
  /** owner/name (GitLab: the full group path; Bitbucket: workspace/slug). */
  repo: string
  /** The repository's own origin: the token's host. */
  origin: string
}

export const HOST_NAMES: Record<HostKind, string> = {
  github: 'GitHub',
  gitlab: 'GitLab',
  gitea: 'Gitea',
  bitbucket: 'Bitbucket',
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/

/** The origin and repository path of an HTTPS, ssh:// or scp-like (git@host:path) remote. */
export function repoLocation(repo: string): { origin: string; host: string; path: string } | null {
  const scp = /^[\w.-]+@([\w.-]+):(?!\/)(.+)$/.exec(repo)
  let url: URL
  try {
    url = new URL(scp ? `https://${scp[1]}/${scp[2]}` : repo)
  } catch {
    return null
  }
  if (url.protocol === 'ssh:') url = new URL(`https://${url.hostname}${url.pathname}`)
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null
  const path = url.pathname.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '')
  if (!/^[^/]+\/.+$/.test(path)) return null
  return { origin: url.origin, host: url.hostname, path }
}

const giteaOrigins = new Map<string, boolean>()

/** Gitea and Forgejo answer `GET /api/v1/version` with `{"version": "…"}`; GitHub does not. */
async function isGitea(origin: string): Promise<boolean> {
  const known = giteaOrigins.get(origin)
  if (known !== undefined) return known
  let gitea = false
  try {
    const response = await fetch(`${origin}/api/v1/version`, {
      signal: AbortSignal.timeout(5_000),
      redirect: 'manual',
    })
    const body = response.ok ? ((await response.json()) as { version?: unknown }) : null
    gitea = typeof body?.version === 'string'
  } catch {}
  giteaOrigins.set(origin, gitea)
  return gitea
}

/** The API that manages `repo`, or the reason there is none. */
export async function hostTarget(
  repo: string,
  provider: Provider,
): Promise<HostTarget | { unsupported: string }> {
  const where = repoLocation(repo)
  if (!where) return { unsupported: 'the repo is not an HTTPS or ssh remote of a git host' }
  const { origin, host, path } = where
  if (origin.startsWith('http:') && !LOOPBACK.test(host)) {
    return { unsupported: `${origin} is plain HTTP: the token would cross the network in clear` }
  }
  if (provider === 'github') {
    if (host === 'github.com')
      return { kind: 'github', api: 'https://api.github.com', repo: path, origin }
    return (await isGitea(origin))
      ? { kind: 'gitea', api: `${origin}/api/v1`, repo: path, origin }
      : { kind: 'github', api: `${origin}/api/v3`, repo: path, origin }
  }
  if (provider === 'gitlab') return { kind: 'gitlab', api: `${origin}/api/v4`, repo: path, origin }
  if (provider === 'bitbucket') {
    if (host !== 'bitbucket.org') {
      return { unsupported: 'only Bitbucket Cloud (bitbucket.org) has the hooks API toehold uses' }
    }
    return { kind: 'bitbucket', api: 'https://api.bitbucket.org/2.0', repo: path, origin }
  }
  return { unsupported: `the ${provider} provider has no hooks API toehold can drive` }
}

// Running git for an app: the token (GIT_TOKEN, or REV_TOKEN) travels per command in git's
// config environment, never in a remote URL, a file, the process arguments or a log line.
import type { SimpleGit } from 'simple-git'
import { gitEnv } from './child-env.ts'

export type GitAuth = { token?: string | undefined; username?: string | undefined }

type Env = Record<string, string>

/** The remote's host name; null for a local path or an scp-like ssh address (ssh brings its own keys). */
const hostOf = (repo: string): string | null => {
  try {
    return new URL(repo).hostname.toLowerCase() || null
  } catch {
    return null
  }
}

/**
 * Which token goes to `repo`. The app's own variables beat the global ones, and go to the app's
 * remote. A global token is bound to one host: REV_TOKEN to rev.host, GIT_TOKEN to the host in
 * GIT_TOKEN_HOST (set with it: `env set -g GIT_TOKEN --host github.com`), never to every remote.
 * For a rev.host remote REV_TOKEN comes before GIT_TOKEN, elsewhere after it.
 */
export function gitAuth(env: { app: Env; global: Env }, repo: string): GitAuth {
  const host = hostOf(repo)
  const rev = host !== null && (host === 'rev.host' || host.endsWith('.rev.host'))
  const own = rev
    ? (env.app.REV_TOKEN ?? env.app.GIT_TOKEN)
    : (env.app.GIT_TOKEN ?? env.app.REV_TOKEN)
  if (own) return { token: own, username: env.app.GIT_USERNAME ?? env.global.GIT_USERNAME }
  const git =
    host !== null && env.global.GIT_TOKEN_HOST?.toLowerCase() === host
      ? env.global.GIT_TOKEN
      : undefined
  return {
    token: rev ? (env.global.REV_TOKEN ?? git) : git,
    username: env.global.GIT_USERNAME,
  }
}

/** simple-git, loaded by the first git command: an agent with no apps never runs one. */
let simpleGit: typeof import('simple-git').simpleGit | undefined

export async function git(
  auth: GitAuth,
  options: { cwd?: string; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<SimpleGit> {
  simpleGit ??= (await import('simple-git')).simpleGit
  const env = gitEnv()
  if (auth.token) {
    const basic = Buffer.from(`${auth.username ?? 'x-access-token'}:${auth.token}`).toString(
      'base64',
    )
    Object.assign(env, {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
    })
  }
  return simpleGit({
    ...(options.cwd ? { baseDir: options.cwd } : {}),
    ...(options.signal ? { abort: options.signal } : {}),
    // Everything in `env` is deliberate: the variables above plus our auth config
    // (GIT_CONFIG_COUNT is ours: simple-git guards it as a way to inject config).
    allowEnvironment: Object.keys(env),
    unsafe: { allowUnsafeConfigEnvCount: true },
    timeout: { block: options.timeoutMs ?? 120_000 },
  }).env(env)
}

/** Git's message without credentials a user may have put in a URL, and without noise. */
export function gitError(error: unknown, auth: GitAuth = {}): string {
  let text = error instanceof Error ? error.message : String(error)
  text = text.replace(/(\w+:\/\/)[^/@\s]+@/g, '$1***@')
  if (auth.token) text = text.split(auth.token).join('***')
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('hint:'))
  return lines.slice(0, 4).join(' ').slice(0, 500)
}

/** Asks the remote for a branch's head. Throws with git's reason when the remote does not answer. */
export async function remoteHead(
  repo: string,
  branch: string,
  auth: GitAuth,
): Promise<string | null> {
  try {
    const out = await (await git(auth, { timeoutMs: 30_000 })).listRemote([
      '--end-of-options',
      repo,
      `refs/heads/${branch}`,
    ])
    return /^([0-9a-f]{40,64})\t/m.exec(out)?.[1] ?? null
  } catch (error) {
    throw new Error(`cannot reach ${redactUrl(repo)}: ${gitError(error, auth)}`)
  }
}

/** The names of the remote's tags (`git ls-remote --tags`). Throws like remoteHead. */
export async function remoteTagNames(repo: string, auth: GitAuth): Promise<string[]> {
  try {
    const out = await (await git(auth, { timeoutMs: 30_000 })).listRemote([
      '--tags',
      '--refs',
      '--',
      repo,
    ])
    return [...out.matchAll(/^[0-9a-f]{40,64}\trefs\/tags\/(.+)$/gm)].map((m) => m[1] as string)
  } catch (error) {
    throw new Error(`cannot reach ${redactUrl(repo)}: ${gitError(error, auth)}`)
  }
}

export const redactUrl = (url: string) => url.replace(/(\w+:\/\/)[^/@\s]+@/, '$1***@')

// What a child process may see of the agent's environment: the one place that decides it, for
// git and for an app's build steps and processes.

/** The agent's own variables (TOEHOLD_*, RELAY_*: its secrets and settings) stay with the agent. */
const AGENT_ONLY = /^(TOEHOLD_|RELAY_)/

/** Credentials set for git are for git only: builds and apps never see them. */
const GIT_CREDENTIALS = new Set(['GIT_TOKEN', 'GIT_TOKEN_HOST', 'REV_TOKEN', 'GIT_USERNAME'])

/** Whether an app's variable reaches its processes (git credentials do not). */
export const reachesApp = (key: string) => !GIT_CREDENTIALS.has(key)

/**
 * What git may see: where things are, locale, proxies, CA files and the ssh agent. Not the rest:
 * editors, pagers and askpass helpers are ways to run commands (simple-git refuses them), and the
 * agent's own variables hold its secrets.
 */
const GIT_ENV =
  /^(PATH|HOME|USER|LOGNAME|LANG|LANGUAGE|LC_\w+|TZ|TMPDIR|SSH_AUTH_SOCK|SSL_CERT_(FILE|DIR)|GIT_SSL_(CAINFO|CAPATH|NO_VERIFY)|(HTTPS?|ALL|NO)_PROXY|(https?|all|no)_proxy)$/

const pick = (keep: (key: string) => boolean): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && keep(key)) env[key] = value
  }
  return env
}

/** The environment of a git command (its credentials are added per command, by core/git.ts). */
export const gitEnv = (): Record<string, string> => ({
  ...pick((key) => GIT_ENV.test(key)),
  GIT_TERMINAL_PROMPT: '0',
})

/**
 * The environment of an app's build steps and processes: the agent's own minus its secrets, then
 * the global and the app's variables (`vars`, app over global) minus git credentials, then PORT.
 */
export function appEnv(vars: Record<string, string>, port: number | null): Record<string, string> {
  const env = pick((key) => !AGENT_ONLY.test(key) && key !== 'PORT')
  for (const [key, value] of Object.entries(vars)) {
    if (reachesApp(key)) env[key] = value
  }
  if (port !== null) env.PORT = String(port)
  return env
}

/** Inside the sandbox: the app's own HOME (the agent user's is not there) and its private /tmp. */
export const sandboxEnv = (env: Record<string, string>, home: string): Record<string, string> => ({
  ...env,
  HOME: home,
  TMPDIR: '/tmp',
})

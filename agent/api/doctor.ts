// `GET /doctor`: what a deploy needs, as the running agent sees it (its own Node, its PATH, its
// home, its tunnel, its apps' ports), one check per line for `toehold doctor`.
import { join } from 'node:path'
import { Hono } from 'hono'
import {
  clockSkew,
  commandOf,
  notPrivate,
  portHolders,
  processGroup,
  sandboxWorks,
  toolVersion,
} from '../core/checks.ts'
import { ago } from '../core/format.ts'
import { listApps } from '../state/apps.ts'
import type { ApiDeps } from './context.ts'
import type { DoctorCheck } from './contract.ts'

/** Standard Webhooks refuses timestamps 5 minutes off; a minute leaves room for the sender's. */
const MAX_SKEW_MS = 60_000

const check = (
  name: string,
  problem: string | null,
  detail: string,
  fix: string,
  required = true,
): DoctorCheck => ({
  name,
  ok: problem === null,
  required,
  detail: problem ?? detail,
  fix: problem === null ? null : fix,
})

async function tools(): Promise<DoctorCheck[]> {
  const [git, bun] = await Promise.all([toolVersion('git'), toolVersion('bun')])
  const major = Number(process.versions.node.split('.')[0])
  return [
    check(
      'node',
      major >= 24 ? null : `Node ${process.version} is older than 24`,
      `${process.version} (${process.execPath})`,
      'install Node 24 (https://nodejs.org) and reinstall toehold with it',
    ),
    check(
      'git',
      git ? null : "git is not on the agent's PATH",
      `git ${git}`,
      'install git (e.g. `apt install git`), then restart the agent',
    ),
    check(
      'bun',
      bun ? null : `bun is not on the agent's PATH (${process.env.PATH ?? ''})`,
      `bun ${bun}`,
      'install Bun (https://bun.sh) and put its bin directory on the PATH the agent starts with (`toehold service install agent` records the current one), then restart the agent',
    ),
  ]
}

function home(deps: ApiDeps): DoctorCheck {
  const { root } = deps.home
  const paths = [root, deps.home.key, deps.home.state, deps.home.agentInfo, join(root, 'apps')]
  const problem = paths.map(notPrivate).find((found) => found !== null) ?? null
  return check(
    'home',
    problem,
    `${root} is private to the agent's user`,
    `chmod -R go-rwx ${root} (as the agent's user)`,
  )
}

async function relay(deps: ApiDeps): Promise<DoctorCheck[]> {
  const tunnel = deps.tunnel()
  if (!tunnel) {
    return [
      check(
        'relay',
        'no relay configured: webhooks cannot reach this agent',
        '',
        'start the agent with --relay wss://RELAY (or TOEHOLD_RELAY)',
      ),
    ]
  }
  const accepted = check(
    'relay',
    tunnel.connected
      ? null
      : `not connected to ${tunnel.url} (${ago(tunnel.since)}): ${tunnel.lastError ?? 'connecting'}`,
    `connected to ${tunnel.url} (${ago(tunnel.since)})`,
    "check the relay URL and that it runs; a first connection needs the relay's registration token (TOEHOLD_REGISTRATION_TOKEN)",
  )
  const http = new URL(tunnel.url)
  http.protocol = http.protocol.replace(/^ws/, 'http')
  let clock: DoctorCheck
  try {
    const skew = await clockSkew(http.origin)
    const seconds = `${Math.abs(Math.round(skew / 1000))} s ${skew > 0 ? 'behind' : 'ahead of'} the relay`
    clock = check(
      'clock',
      Math.abs(skew) > MAX_SKEW_MS ? `this clock is ${seconds}` : null,
      `within ${Math.max(1, Math.ceil(Math.abs(skew) / 1000))} s of the relay's`,
      'turn on time sync (e.g. `timedatectl set-ntp true`): signed webhooks older than 5 minutes are refused',
    )
  } catch (error) {
    clock = check(
      'clock',
      `cannot reach ${http.origin}/health: ${(error as Error).message}`,
      '',
      'check that the relay runs and this box reaches it',
    )
  }
  return [accepted, clock]
}

/** Each app's port is free, or held by the agent (its proxy for the app) or the app's own release. */
function ports(deps: ApiDeps): DoctorCheck[] {
  return listApps(deps.db)
    .filter((app) => app.port !== null)
    .map((app) => {
      const port = app.port as number
      const { listening, pids } = portHolders(port)
      const own = deps.deployer.runtime(app.name).pid
      const strangers = pids.filter(
        (pid) => pid !== process.pid && (own === null || processGroup(pid) !== own),
      )
      const problem =
        strangers.length > 0
          ? `port ${port} is held by pid ${strangers[0]} (${commandOf(strangers[0] as number)}), not by ${app.name}`
          : listening && pids.length === 0
            ? `port ${port} is held by a process of another user`
            : null
      return check(
        `port ${app.name}`,
        problem,
        listening ? `port ${port} is served by the agent for ${app.name}` : `port ${port} is free`,
        `stop that process, or give ${app.name} another port`,
      )
    })
}

export async function doctorChecks(deps: ApiDeps): Promise<DoctorCheck[]> {
  const sandbox = await sandboxWorks()
  return [
    ...(await tools()),
    home(deps),
    ...(await relay(deps)),
    check(
      'sandbox',
      sandbox,
      'bubblewrap runs: apps are isolated from the agent',
      'install bubblewrap (`apt install bubblewrap`) and allow unprivileged user namespaces',
      false,
    ),
    ...ports(deps),
  ]
}

export const doctorRoutes = (deps: ApiDeps) =>
  new Hono().get('/doctor', async (c) => c.json({ checks: await doctorChecks(deps) }))

// Push-to-live for a small Bun app with no dependencies, and the agent's own share of it: the
// time from the deploy request until the new version answers over HTTP, minus what the agent
// does not control — git, `bun install`, the predeploy script, and the app's boot (measured on
// its own, by starting the same release by hand). Runnable alone: `node bench/deploy.ts`.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import type { Deployment } from '../agent/api/contract.ts'
import { freePort, PATH, startAgent } from '../test/helpers/agent.ts'
import { finished } from '../test/helpers/deploy.ts'
import { createRepo } from '../test/helpers/git-repo.ts'

export type DeployBench = {
  runs: number
  /** Medians, in milliseconds. */
  pushToLiveMs: number
  gitMs: number
  installMs: number
  predeployMs: number
  /** The app started by hand until its first answer. */
  bootMs: number
  /** pushToLive − git − install − predeploy − boot. */
  agentOverheadMs: number
}

const APP = {
  'package.json': JSON.stringify({
    name: 'bench-app',
    private: true,
    scripts: { start: 'bun server.js', predeploy: 'echo built > built.txt' },
  }),
  'server.js':
    "const version = (await Bun.file('version.txt').text()).trim()\nBun.serve({ port: Number(process.env.PORT), fetch: () => new Response(version) })\n",
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

/** Polls tightly until `port` answers `text`; returns when it did. */
async function answered(port: number, text: string): Promise<number> {
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/`)
      if ((await response.text()) === text) return performance.now()
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

/** The release started by hand, as the supervisor starts it: spawn until the first answer. */
async function bootTime(dir: string, version: string): Promise<number> {
  const port = await freePort()
  const started = performance.now()
  const child = spawn('bun', ['run', 'start'], {
    cwd: dir,
    env: { ...process.env, PATH, PORT: String(port) },
    detached: true,
    stdio: 'ignore',
  })
  const ms = (await answered(port, version)) - started
  process.kill(-(child.pid as number), 'SIGKILL')
  return ms
}

/** `sandbox`: the agent's TOEHOLD_SANDBOX (`auto` runs install, predeploy and the app in bubblewrap). */
export async function benchDeploy(
  runs = 7,
  sandbox: 'auto' | 'off' = 'auto',
): Promise<DeployBench> {
  const agent = await startAgent({ env: { TOEHOLD_SANDBOX: sandbox } })
  try {
    const repo = createRepo('main')
    repo.commit({ ...APP, 'version.txt': 'v0' }, 'v0')
    const port = await freePort()
    const added = await agent.api('POST', '/apps', { name: 'bench', repo: repo.remote, port })
    if (added.status !== 201) throw new Error(JSON.stringify(added.body))
    const deploy = async () => {
      const queued = await agent.api<Deployment>('POST', '/apps/bench/deploy')
      return finished(agent, 'bench', queued.body.id)
    }
    await deploy() // warm-up: creates the cached clone

    const samples: DeployBench[] = []
    for (let run = 1; run <= runs; run++) {
      const version = `v${run}`
      repo.commit({ 'version.txt': version }, version)
      const pushed = performance.now()
      await agent.api('POST', '/apps/bench/deploy')
      const live = (await answered(port, version)) - pushed
      const d = await finished(agent, 'bench', run + 1)
      if (d.status !== 'live') throw new Error(`deployment ${d.id}: ${d.status} ${d.reason}`)
      const boot = await bootTime(join(agent.home, 'apps/bench/releases', d.release ?? ''), version)
      const { git = 0, install = 0, predeploy = 0 } = d.timings
      samples.push({
        runs: 1,
        pushToLiveMs: live,
        gitMs: git,
        installMs: install,
        predeployMs: predeploy,
        bootMs: boot,
        agentOverheadMs: live - git - install - predeploy - boot,
      })
    }
    const pick = (key: keyof DeployBench) => Math.round(median(samples.map((s) => s[key])))
    const result: DeployBench = {
      runs,
      pushToLiveMs: pick('pushToLiveMs'),
      gitMs: pick('gitMs'),
      installMs: pick('installMs'),
      predeployMs: pick('predeployMs'),
      bootMs: pick('bootMs'),
      agentOverheadMs: pick('agentOverheadMs'),
    }
    process.stdout.write(
      `deploy (sandbox ${sandbox}): push-to-live ${result.pushToLiveMs} ms (median of ${runs}) = git ${result.gitMs} + install ${result.installMs} + predeploy ${result.predeployMs} + app boot ${result.bootMs} + agent ${result.agentOverheadMs} ms (target ≤ 100 ms)\n`,
    )
    return result
  } finally {
    await agent.kill()
  }
}

if (import.meta.main) await benchDeploy()

// Footprint of the built package (dist/, as npm installs it), beside bare Node in the same run:
//   `toehold status --json` against a running agent: median wall time and peak RSS of N runs
//   idle agent (no apps, connected) and idle relay (one agent connected): RSS after settling,
//   run by hand (`toehold agent`) and as the services run them (NODE_FLAGS, agent/cli/units.ts)
// `node bench/footprint.ts [--json]` alone, or as part of `npm run bench`.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { NODE_FLAGS } from '../agent/cli/units.ts'
import { ROOT, tempDir } from '../test/helpers/procs.ts'
import { rssBytes } from './proc.ts'

export const FOOTPRINT_TARGETS = {
  statusMs: 100,
  statusMiB: 60,
  idleAgentMiB: 90,
  idleRelayMiB: 90,
  stretchMiB: 64,
}
const RUNS = 15
/** Idle means after start-up garbage had its chance to be collected. */
const SETTLE_MS = 3_000
const SHIM = join(ROOT, 'bin/toehold.js')
const TIME = '/usr/bin/time'
const TOKEN = 'bench-registration-token-0123456789'

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}
const mib = (bytes: number) => Math.round((bytes / 1024 ** 2) * 10) / 10

/** Wall time (ms) and peak RSS (bytes) of one run of `node args`, from GNU time. */
function measure(args: string[]): Promise<{ ms: number; rss: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(TIME, ['-f', '%M', process.execPath, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.once('error', reject)
    child.once('exit', (code) => {
      const ms = performance.now() - started
      const kib = Number(stderr.trim().split('\n').at(-1))
      if (code !== 0 || !kib) reject(new Error(`node ${args.join(' ')} failed: ${stderr}`))
      else resolve({ ms, rss: kib * 1024 })
    })
  })
}

async function medians(args: string[]) {
  const runs: { ms: number; rss: number }[] = []
  for (let i = 0; i < RUNS; i++) runs.push(await measure(args))
  return { ms: median(runs.map((r) => r.ms)), rss: median(runs.map((r) => r.rss)) }
}

type Daemon = { pid: number; stop(): void; line(msg: string): Promise<Record<string, unknown>> }

function daemon(args: string[], env: NodeJS.ProcessEnv): Daemon {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, TOEHOLD_LOG_JSON: '1', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const seen: Record<string, unknown>[] = []
  const waiting: { msg: string; done: (line: Record<string, unknown>) => void }[] = []
  createInterface({ input: child.stdout }).on('line', (text) => {
    let line: Record<string, unknown>
    try {
      line = JSON.parse(text)
    } catch {
      return
    }
    seen.push(line)
    for (const waiter of waiting.filter((w) => w.msg === line.msg)) waiter.done(line)
  })
  return {
    pid: child.pid as number,
    stop: () => child.kill('SIGTERM'),
    line: (msg) =>
      new Promise((done, reject) => {
        const found = seen.find((line) => line.msg === msg)
        if (found) return done(found)
        waiting.push({ msg, done })
        child.once('exit', () => reject(new Error(`${args.join(' ')} exited before "${msg}"`)))
      }),
  }
}

/** An idle relay with one idle agent (no apps), each run with `flags`; RSS once both settled. */
async function idlePair(flags: string[]) {
  const relay = daemon(
    [...flags, SHIM, 'relay', '--host', '127.0.0.1', '--port', '0', '--data', tempDir()],
    { RELAY_REGISTRATION_TOKEN: TOKEN },
  )
  try {
    const url = (await relay.line('relay listening')).url as string
    const home = tempDir()
    const agent = daemon(
      [
        ...flags,
        SHIM,
        'agent',
        '--relay',
        url.replace(/^http/, 'ws'),
        '--home',
        home,
        '--api-port',
        '0',
      ],
      {
        TOEHOLD_REGISTRATION_TOKEN: TOKEN,
        PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH}`,
      },
    )
    try {
      await agent.line('connected to relay')
      await agent.line('converged')
      await sleep(SETTLE_MS)
      return { agent: rssBytes(agent.pid), relay: rssBytes(relay.pid), home }
    } finally {
      agent.stop()
    }
  } finally {
    relay.stop()
  }
}

export async function benchFootprint(progress: (text: string) => void) {
  if (!existsSync(TIME)) throw new Error(`${TIME} is missing (apt install time)`)
  progress('footprint: building dist/ …')
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.ts')], { stdio: 'inherit' })

  const bareIdle = daemon(['-e', 'setInterval(() => {}, 1 << 30)'], {})
  await sleep(SETTLE_MS)
  const bareIdleRss = rssBytes(bareIdle.pid)
  bareIdle.stop()
  const bare = await medians(['-e', '0'])

  progress('footprint: idle agent and relay …')
  const byHand = await idlePair([])
  const service = await idlePair(NODE_FLAGS)

  // status against an agent that runs (the by-hand pair stopped: start one more, no relay).
  const home = tempDir()
  const agent = daemon([SHIM, 'agent', '--home', home, '--api-port', '0'], {})
  let status: { ms: number; rss: number }
  try {
    await agent.line('local API listening')
    progress('footprint: toehold status --json …')
    status = await medians([SHIM, 'status', '--json', '--home', home])
  } finally {
    agent.stop()
  }

  const T = FOOTPRINT_TARGETS
  const figures = {
    runs: RUNS,
    bare: { runMs: Math.round(bare.ms), runMiB: mib(bare.rss), idleMiB: mib(bareIdleRss) },
    status: {
      ms: Math.round(status.ms),
      MiB: mib(status.rss),
      msRatio: Math.round((status.ms / bare.ms) * 10) / 10,
      rssRatio: Math.round((status.rss / bare.rss) * 100) / 100,
    },
    idleAgentMiB: { byHand: mib(byHand.agent), service: mib(service.agent) },
    idleRelayMiB: { byHand: mib(byHand.relay), service: mib(service.relay) },
    serviceFlags: NODE_FLAGS.join(' '),
    targets: T,
  }
  const met = {
    statusMs: figures.status.ms <= T.statusMs,
    statusMiB: figures.status.MiB <= T.statusMiB,
    idleAgentMiB: figures.idleAgentMiB.service <= T.idleAgentMiB,
    idleRelayMiB: figures.idleRelayMiB.service <= T.idleRelayMiB,
  }
  const mark = (ok: boolean) => (ok ? '✓' : '✗ MISSED')
  const ratio = (value: number, base: number) => `${Math.round((value / base) * 100) / 100}× bare`
  const lines = [
    '',
    `toehold footprint — the built package (dist/), medians of ${RUNS} runs; bare Node in the same run: node -e 0 ${figures.bare.runMs} ms ${figures.bare.runMiB} MiB, idle ${figures.bare.idleMiB} MiB`,
    `  status --json               ${figures.status.ms} ms ${mark(met.statusMs)} (≤ ${T.statusMs}; ${figures.status.msRatio}× bare)   ${figures.status.MiB} MiB ${mark(met.statusMiB)} (≤ ${T.statusMiB}; ${figures.status.rssRatio}× bare)`,
    `  idle agent (no apps)        ${figures.idleAgentMiB.service} MiB as a service ${mark(met.idleAgentMiB)} (≤ ${T.idleAgentMiB}, stretch ${T.stretchMiB}; ${ratio(figures.idleAgentMiB.service, figures.bare.idleMiB)})   by hand ${figures.idleAgentMiB.byHand} MiB (${ratio(figures.idleAgentMiB.byHand, figures.bare.idleMiB)})`,
    `  idle relay (1 agent)        ${figures.idleRelayMiB.service} MiB as a service ${mark(met.idleRelayMiB)} (≤ ${T.idleRelayMiB}, stretch ${T.stretchMiB}; ${ratio(figures.idleRelayMiB.service, figures.bare.idleMiB)})   by hand ${figures.idleRelayMiB.byHand} MiB (${ratio(figures.idleRelayMiB.byHand, figures.bare.idleMiB)})`,
    `  (as a service: node ${figures.serviceFlags}, as the systemd units and the container run it)`,
  ]
  return { figures: { ...figures, met }, lines }
}

if (import.meta.main) {
  const asJson = process.argv.includes('--json')
  const out = (text: string) => (asJson ? process.stderr : process.stdout).write(`${text}\n`)
  const { figures, lines } = await benchFootprint(out)
  out(lines.join('\n'))
  if (asJson) process.stdout.write(`${JSON.stringify(figures)}\n`)
  process.exit(0)
}

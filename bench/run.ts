// `npm run bench [-- --json] [-- --no-app] [-- --no-deploy] [-- --no-proxy] [-- --profile DIR]`: the relay's figures
// on loopback, each program in its own process (relay, agent, load generator, idle agents, and a
// bare Hono baseline). The agent has an app `bench` with a GitHub webhook, so it verifies every
// signature and answers 200 "ignored" (a push to a branch the app does not track).
//   1. round trip p50/p99 at a fixed 200 signed webhooks/s, beside a minimal relay's (the floor)
//   2. deliveries/s with 50 in flight, as a share of a bare Hono POST handler under the same load
//   3. CPU time of relay and agent per 1,000 deliveries
//   4. relay memory per idle connected agent (1,000 tunnels), and under 25 MiB webhooks
//      (one queued, then 20 at once: bench/large-webhooks.ts)
//   5. push-to-live of a small Bun app and the agent's share of it, with the sandbox off and on
//      (bench/deploy.ts, bench/sandbox.ts)
//   6. the agent's proxy beside direct, Caddy and a raw TCP relay (the ceiling), and 20 deploys
//      under load (bench/proxy.ts)
//   7. footprint of the built package: status --json, idle agent and relay (bench/footprint.ts;
//      `--no-footprint` skips it)
// With --json the last line on stdout is one JSON object with every figure.
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface, type Interface } from 'node:readline'
import { toehold } from '../test/helpers/cli.ts'
import { createRepo } from '../test/helpers/git-repo.ts'
import { BIN, ROOT, tempDir } from '../test/helpers/procs.ts'
import type { LoadOptions, LoadResult } from './load.ts'
import { cpuSeconds, rssBytes } from './proc.ts'
import { benchProxy, type ProxyBench, proxyReport } from './proxy.ts'

const asJson = process.argv.includes('--json')
/** `--no-deploy`: skip the deploy bench (bench/deploy.ts: git, bun install, app boot). */
const withDeploy = !process.argv.includes('--no-deploy')
/** `--no-proxy`: skip the proxy bench (bench/proxy.ts: direct vs toehold vs Caddy). */
const withProxy = !process.argv.includes('--no-proxy')
/** `--no-app`: leave the agent without the app, so it answers 404 before any verification. */
const withApp = !process.argv.includes('--no-app')
/** `--profile DIR`: CPU profiles (.cpuprofile) of the relay and agent under load land in DIR. */
const profileDir = process.argv[process.argv.indexOf('--profile') + 1]
const profiled: NodeJS.ProcessEnv =
  process.argv.includes('--profile') && profileDir
    ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` }
    : {}
const REGISTRATION_TOKEN = 'bench-registration-token-0123456789'
const TARGETS = {
  percentOfHono: 30,
  p50Ms: 2,
  p99Ms: 10,
  kibPerIdleAgent: 48,
  /** Peak RSS rise for one queued 25 MiB webhook, as a multiple of its size. */
  oneQueuedTimes: 3,
  /** Peak RSS of the relay under 20 concurrent 25 MiB webhooks (fly's VM has 256 MB). */
  concurrentPeakMiB: 256,
}
const RATE = 200
const IN_FLIGHT = 50
const IDLE_AGENTS = 1000

/** Progress goes to stderr when stdout is reserved for the JSON line. */
const progress = (text: string) => (asJson ? process.stderr : process.stdout).write(`${text}\n`)

type Launched = {
  child: ChildProcess
  pid: number
  /** The first stdout JSON line with this `msg` (or, for non-log output, matching `match`). */
  line(
    match: (line: Record<string, unknown>) => boolean,
    what: string,
  ): Promise<Record<string, unknown>>
  /** Stop parsing stdout (drain it unread) so the bench process stays out of the way. */
  quiet(): void
  stop(): Promise<void>
}

const running = new Set<Launched>()
process.on('exit', () => {
  for (const proc of running) proc.child.kill('SIGKILL')
})

/** Starts `node <args>` from the repository root; stdout is read as JSON lines. */
function launch(args: string[], env: NodeJS.ProcessEnv = {}): Launched {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, TOEHOLD_LOG_JSON: '1', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < 16_384) stderr += chunk
  })
  const lines: Record<string, unknown>[] = []
  const waiters = new Set<(line: Record<string, unknown>) => void>()
  const reader: Interface = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  reader.on('line', (text) => {
    let line: Record<string, unknown>
    try {
      line = JSON.parse(text)
    } catch {
      line = { msg: text }
    }
    lines.push(line)
    for (const waiter of waiters) waiter(line)
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  const proc: Launched = {
    child,
    pid: child.pid as number,
    line(match, what) {
      const seen = lines.find(match)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const waiter = (line: Record<string, unknown>) => {
          if (!match(line)) return
          waiters.delete(waiter)
          resolve(line)
        }
        waiters.add(waiter)
        exited.then((code) => {
          if (waiters.delete(waiter)) {
            reject(new Error(`${args.join(' ')} exited (${code}) before ${what}\n${stderr}`))
          }
        })
      })
    },
    quiet() {
      reader.close()
      lines.length = 0
      child.stdout?.removeAllListeners('data')
      child.stdout?.on('data', () => {})
      child.stdout?.resume()
    },
    async stop() {
      running.delete(proc)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
  running.add(proc)
  return proc
}

const byMsg = (msg: string) => (line: Record<string, unknown>) => line.msg === msg

async function startRelay(env: NodeJS.ProcessEnv = {}) {
  const relay = launch(
    [BIN, 'relay', '--host', '127.0.0.1', '--port', '0', '--data', join(tempDir(), 'data')],
    {
      RELAY_REGISTRATION_TOKEN: REGISTRATION_TOKEN,
      RELAY_RATE_IP: '0',
      RELAY_RATE_INSTANCE: '0',
      TOEHOLD_LOG_LEVEL: 'info',
      ...env,
    },
  )
  const ready = await relay.line(byMsg('relay listening'), 'relay listening')
  return Object.assign(relay, { url: ready.url as string })
}

async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const load = launch([join(ROOT, 'bench/load.ts'), JSON.stringify(options)])
  const result = (await load.line((line) => 'completed' in line, 'load result')) as LoadResult
  await load.stop()
  return result
}

/** Runs a load and reports the CPU seconds the given processes spent meanwhile. */
async function measured(options: LoadOptions, pids: number[]) {
  const before = pids.map(cpuSeconds)
  const result = await runLoad(options)
  const cpu = pids.map((pid, i) => cpuSeconds(pid) - (before[i] as number))
  return { result, cpu }
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const round = (value: number, digits = 2) => Number(value.toFixed(digits))

// -- 1. The baseline: bare Hono, same load generator, same closed loop. ------------------------
progress('bare Hono baseline: 50 in flight …')
const hono = launch([join(ROOT, 'bench/bare-hono.ts')])
const { port: honoPort } = await hono.line((line) => 'port' in line, 'hono port')
const { result: honoLoad, cpu: honoCpu } = await measured(
  {
    url: `http://127.0.0.1:${honoPort}/hooks/x/bench`,
    secret: 'baseline',
    mode: 'closed',
    concurrency: IN_FLIGHT,
    warmupMs: 1500,
    durationMs: 8000,
  },
  [hono.pid],
)
await hono.stop()

// The latency baseline: a minimal HTTP → WebSocket → reply relay, same generator, same rate.
progress(`minimal relay baseline: ${RATE}/s …`)
const minimal = launch([join(ROOT, 'bench/minimal-relay.ts'), 'relay'])
const { port: minimalPort } = await minimal.line((line) => 'port' in line, 'minimal relay port')
const minimalAgent = launch([
  join(ROOT, 'bench/minimal-relay.ts'),
  'agent',
  `ws://127.0.0.1:${minimalPort}`,
])
await minimalAgent.line((line) => 'connected' in line, 'minimal agent connected')
const minimalLoad = await runLoad({
  url: `http://127.0.0.1:${minimalPort}/hooks/x/bench`,
  secret: 'baseline',
  mode: 'rate',
  rate: RATE,
  warmupMs: 2000,
  durationMs: 10_000,
})
await Promise.all([minimalAgent.stop(), minimal.stop()])

// -- 2. Relay and agent, with an app `bench` whose GitHub webhook the agent verifies. -----------
progress('relay + agent …')
const relay = await startRelay(profiled)
const home = tempDir('toehold-bench-home-')
const agent = launch(
  [BIN, 'agent', '--relay', relay.url.replace(/^http/, 'ws'), '--home', home, '--api-port', '0'],
  { TOEHOLD_REGISTRATION_TOKEN: REGISTRATION_TOKEN, TOEHOLD_LOG_LEVEL: 'info', ...profiled },
)
const identity = await agent.line(byMsg('agent identity'), 'agent identity')
await agent.line(byMsg('connected to relay'), 'connected to relay')
let webhookUrl = `${relay.url}/hooks/${identity.instance}/bench`
let secret = 'no-app-yet'
let verified = false
try {
  if (!withApp) throw new Error('--no-app')
  // The agent's local API may open after the tunnel: wait for it before using the CLI.
  await agent.line(byMsg('local API listening'), 'local API listening')
  const repo = createRepo('main')
  repo.commit({ 'README.md': '# bench\n' }, 'initial')
  const added = await toehold(home, ['app', 'add', 'bench', '--repo', repo.remote, '--json'])
  if (added.code !== 0) throw new Error(added.stderr)
  const enabled = await toehold(home, [
    'webhook',
    'enable',
    'bench',
    '--provider',
    'github',
    '--json',
  ])
  if (enabled.code !== 0) throw new Error(enabled.stderr)
  secret = enabled.json.secret
  webhookUrl = enabled.json.url.replace(/^https?:\/\/[^/]+/, relay.url)
  verified = true
} catch (error) {
  progress(`  (no verifying app: ${(error as Error).message.trim()}; the agent answers 404)`)
}
relay.quiet()
agent.quiet()

// Throughput first: it also warms both processes up (JIT, caches) the way days of traffic
// would, so the latency run below measures them in their steady state, as the baselines are.
progress(`throughput with ${IN_FLIGHT} in flight …`)
const closed = await measured(
  {
    url: webhookUrl,
    secret,
    mode: 'closed',
    concurrency: IN_FLIGHT,
    warmupMs: 1500,
    durationMs: 10_000,
  },
  [relay.pid, agent.pid],
)
progress(`round trip at ${RATE} webhooks/s …`)
const atRate = await measured(
  { url: webhookUrl, secret, mode: 'rate', rate: RATE, warmupMs: 2000, durationMs: 10_000 },
  [relay.pid, agent.pid],
)
await agent.stop()
await relay.stop()

// -- 3. Memory per idle agent: a fresh relay, warmed with a few tunnels, then 1,000 more. --------
progress(`relay memory with ${IDLE_AGENTS} idle agents …`)
const memRelay = await startRelay()
memRelay.quiet()
const idle = launch([
  join(ROOT, 'bench/idle-agents.ts'),
  JSON.stringify({
    relayUrl: memRelay.url,
    registrationToken: REGISTRATION_TOKEN,
    batches: [20, IDLE_AGENTS],
  }),
])
await idle.line((line) => line.connected === 20, 'warm-up agents')
await settle(1500)
const rssBefore = rssBytes(memRelay.pid)
idle.child.stdin?.write('go\n')
await idle.line((line) => line.connected === 20 + IDLE_AGENTS, 'idle agents')
await settle(3000)
const rssAfter = rssBytes(memRelay.pid)
idle.child.stdin?.write('done\n')
await idle.stop()
await memRelay.stop()
const kibPerAgent = (rssAfter - rssBefore) / IDLE_AGENTS / 1024

progress('relay memory under 25 MiB webhooks …')
const { benchLargeWebhooks } = await import('./large-webhooks.ts')
const large = await benchLargeWebhooks()

// -- 4. The deploy bench. ----------------------------------------------------------------------
let deploy: unknown = null
if (withDeploy) {
  progress('deploy bench …')
  try {
    const { benchSandbox } = await import('./sandbox.ts')
    deploy = await benchSandbox()
  } catch (error) {
    progress(`  deploy bench failed: ${(error as Error).message}`)
    deploy = { error: (error as Error).message }
  }
}

// -- 6. The proxy bench. -----------------------------------------------------------------------
let proxy: ProxyBench | { error: string } | null = null
if (withProxy) {
  progress('proxy bench: direct, toehold, Caddy; 20 deploys under load …')
  try {
    proxy = await benchProxy()
  } catch (error) {
    progress(`  proxy bench failed: ${(error as Error).message}`)
    proxy = { error: (error as Error).message }
  }
}

// -- 7. The footprint of the built package. -----------------------------------------------------
let footprint: { figures: unknown; lines: string[] } = { figures: null, lines: [] }
if (!process.argv.includes('--no-footprint')) {
  const { benchFootprint } = await import('./footprint.ts')
  footprint = await benchFootprint(progress)
}

// -- Report. -------------------------------------------------------------------------------------
const perThousandMs = (cpuS: number, deliveries: number) => round((cpuS / deliveries) * 1e6, 1)
const percentOfHono = (closed.result.perSecond / honoLoad.perSecond) * 100
const failures = (statuses: Record<string, number>) =>
  Object.entries(statuses)
    .filter(([status]) => status === 'error' || Number(status) >= 500)
    .reduce((sum, [, n]) => sum + n, 0)
const figures = {
  payloadBytes: 2048,
  agentVerifies: verified,
  roundTrip: {
    rate: RATE,
    p50Ms: round(atRate.result.p50Ms, 3),
    p99Ms: round(atRate.result.p99Ms, 3),
    maxMs: round(atRate.result.maxMs, 3),
    minimalRelayP50Ms: round(minimalLoad.p50Ms, 3),
    minimalRelayP99Ms: round(minimalLoad.p99Ms, 3),
    completed: atRate.result.completed,
    statuses: atRate.result.statuses,
  },
  throughput: {
    inFlight: IN_FLIGHT,
    perSecond: round(closed.result.perSecond, 0),
    p50Ms: round(closed.result.p50Ms, 3),
    p99Ms: round(closed.result.p99Ms, 3),
    statuses: closed.result.statuses,
    bareHonoPerSecond: round(honoLoad.perSecond, 0),
    percentOfHono: round(percentOfHono, 1),
    generatorCpuS: round(closed.result.generatorCpuS, 2),
  },
  cpuMsPer1000: {
    relay: perThousandMs(closed.cpu[0] as number, closed.result.total),
    agent: perThousandMs(closed.cpu[1] as number, closed.result.total),
    relayAtRate: perThousandMs(atRate.cpu[0] as number, atRate.result.total),
    agentAtRate: perThousandMs(atRate.cpu[1] as number, atRate.result.total),
    bareHono: perThousandMs(honoCpu[0] as number, honoLoad.total),
  },
  memory: {
    idleAgents: IDLE_AGENTS,
    relayRssBeforeMiB: round(rssBefore / 1024 ** 2, 1),
    relayRssAfterMiB: round(rssAfter / 1024 ** 2, 1),
    kibPerIdleAgent: round(kibPerAgent, 1),
    ...large,
  },
  targets: TARGETS,
  met: {
    percentOfHono: percentOfHono >= TARGETS.percentOfHono,
    p50Ms: atRate.result.p50Ms <= TARGETS.p50Ms,
    p99Ms: atRate.result.p99Ms <= TARGETS.p99Ms,
    kibPerIdleAgent: kibPerAgent <= TARGETS.kibPerIdleAgent,
    oneQueuedTimes: large.oneQueuedPeakRiseTimes <= TARGETS.oneQueuedTimes,
    concurrentPeakMiB: large.concurrentPeakRssMiB <= TARGETS.concurrentPeakMiB,
  },
  failedRequests: failures(atRate.result.statuses) + failures(closed.result.statuses),
  deploy,
  proxy,
  footprint: footprint.figures,
}

const mark = (ok: boolean) => (ok ? '✓' : '✗ MISSED')
const statusText = (statuses: Record<string, number>) =>
  Object.entries(statuses)
    .map(([status, n]) => `${status}×${n}`)
    .join(' ')
const report = [
  '',
  `toehold relay bench — 2 KB signed GitHub push webhooks, loopback, ${figures.agentVerifies ? 'agent verifies (app "bench")' : 'agent answers 404 (no app)'}`,
  `  round trip at ${RATE}/s        p50 ${figures.roundTrip.p50Ms} ms ${mark(figures.met.p50Ms)} (≤ ${TARGETS.p50Ms})   p99 ${figures.roundTrip.p99Ms} ms ${mark(figures.met.p99Ms)} (≤ ${TARGETS.p99Ms})   [${statusText(figures.roundTrip.statuses)}]`,
  `  minimal relay at ${RATE}/s     p50 ${figures.roundTrip.minimalRelayP50Ms} ms   p99 ${figures.roundTrip.minimalRelayP99Ms} ms   (HTTP → WebSocket → reply and nothing else, same generator: this machine's floor)`,
  `  ${IN_FLIGHT} in flight              ${figures.throughput.perSecond} deliveries/s = ${figures.throughput.percentOfHono} % of bare Hono (${figures.throughput.bareHonoPerSecond}/s) ${mark(figures.met.percentOfHono)} (≥ ${TARGETS.percentOfHono} %)   p50 ${figures.throughput.p50Ms} ms p99 ${figures.throughput.p99Ms} ms   [${statusText(figures.throughput.statuses)}]`,
  `  CPU per 1,000 deliveries    relay ${figures.cpuMsPer1000.relay} ms, agent ${figures.cpuMsPer1000.agent} ms (bare Hono ${figures.cpuMsPer1000.bareHono} ms; at ${RATE}/s: relay ${figures.cpuMsPer1000.relayAtRate} ms, agent ${figures.cpuMsPer1000.agentAtRate} ms)`,
  `  relay memory per idle agent ${figures.memory.kibPerIdleAgent} KiB ${mark(figures.met.kibPerIdleAgent)} (≤ ${TARGETS.kibPerIdleAgent})   RSS ${figures.memory.relayRssBeforeMiB} → ${figures.memory.relayRssAfterMiB} MiB with ${IDLE_AGENTS} agents`,
  `  one queued 25 MiB webhook   peak RSS +${large.oneQueuedPeakRiseMiB} MiB = ${large.oneQueuedPeakRiseTimes}× its size ${mark(figures.met.oneQueuedTimes)} (≤ ${TARGETS.oneQueuedTimes}×)`,
  `  ${large.concurrent} × 25 MiB at once       peak RSS ${large.concurrentPeakRssMiB} MiB ${mark(figures.met.concurrentPeakMiB)} (< ${TARGETS.concurrentPeakMiB})   [${statusText(large.concurrentStatuses)}]`,
  ...(figures.failedRequests > 0
    ? [`  ${figures.failedRequests} requests failed (errors or 5xx)`]
    : []),
  ...(proxy && 'small' in proxy ? ['', ...proxyReport(proxy)] : []),
  ...footprint.lines,
]
progress(report.join('\n'))
if (asJson) process.stdout.write(`${JSON.stringify(figures)}\n`)
process.exit(0)

// The agent's proxy against what a user would put in front instead: a small Bun app's
// requests/s and p50/p99 latency direct to the release, through toehold's listener, and through
// Caddy's reverse_proxy (Debian's caddy), 50 connections, small and 100 KB responses; then the
// failed requests during 20 deploys under that load (must be 0). A raw TCP relay (no HTTP) shows
// the ceiling of any user-space proxy on this machine: on 2 cores the load generator, the app and
// the proxy share the CPU, so every byte copied once more costs the others.
// Runnable alone: `node bench/proxy.ts`.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, PATH, startAgent } from '../test/helpers/agent.ts'
import { addApp, deploy } from '../test/helpers/deploy.ts'
import { createRepo } from '../test/helpers/git-repo.ts'
import { ROOT, tempDir } from '../test/helpers/procs.ts'
import { startTraffic } from '../test/helpers/traffic.ts'
import type { GetLoadOptions, GetLoadResult } from './get-load.ts'

const CONNECTIONS = 50
const DEPLOYS = 20
const ROUNDS = 3

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0

/** Each figure's median over the rounds. */
const medians = (runs: GetLoadResult[]): GetLoadResult => ({
  perSecond: median(runs.map((r) => r.perSecond)),
  p50Ms: median(runs.map((r) => r.p50Ms)),
  p99Ms: median(runs.map((r) => r.p99Ms)),
  failed: runs.reduce((sum, r) => sum + r.failed, 0),
  bytes: median(runs.map((r) => r.bytes)),
})

const APP = {
  'package.json': JSON.stringify({
    name: 'bench-proxy-app',
    private: true,
    scripts: { start: 'bun server.js' },
  }),
  'server.js': [
    "const version = (await Bun.file('version.txt').text()).trim()",
    "const big = 'x'.repeat(100 * 1024)",
    'Bun.serve({ port: Number(process.env.PORT), fetch: (req) =>',
    "  new URL(req.url).pathname === '/big' ? new Response(big) : Response.json({ version }) })",
    '',
  ].join('\n'),
}

const CONTENDERS = ['direct', 'toehold', 'caddy', 'tcp'] as const
type Contender = (typeof CONTENDERS)[number]

export type ProxyBench = {
  small: Record<Contender, GetLoadResult>
  big: Record<Contender, GetLoadResult>
  deploys: { count: number; requests: number; failed: number; live: number }
}

function load(options: GetLoadOptions): Promise<GetLoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bench/get-load.ts'), JSON.stringify(options)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
    })
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`get-load exited ${code}`)),
    )
  })
}

async function listening(port: number) {
  for (;;) {
    try {
      await fetch(`http://127.0.0.1:${port}/`)
      return
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
}

export async function benchProxy(): Promise<ProxyBench> {
  const repo = createRepo('main')
  repo.commit({ ...APP, 'version.txt': 'v0\n' }, 'v0')
  const agent = await startAgent({ env: { TOEHOLD_DRAIN: '2s' } })
  const children: ChildProcess[] = []
  try {
    const port = await freePort()
    await addApp(agent, 'bench', repo, { port })
    const first = await deploy(agent, 'bench')
    if (first.status !== 'live') throw new Error(`first deploy: ${first.reason}`)

    // The same release by hand on a port of its own: the direct figure.
    const directPort = await freePort()
    const dir = join(agent.home, 'apps/bench/releases', first.release as string)
    children.push(
      spawn('bun', ['server.js'], {
        cwd: dir,
        env: { PATH, PORT: String(directPort) },
        stdio: 'ignore',
      }),
    )
    const caddyPort = await freePort()
    const caddyfile = join(tempDir('toehold-caddy-'), 'Caddyfile')
    writeFileSync(
      caddyfile,
      `{\n  admin off\n  auto_https off\n}\n:${caddyPort} {\n  reverse_proxy 127.0.0.1:${directPort}\n}\n`,
    )
    execFileSync('caddy', ['validate', '--config', caddyfile, '--adapter', 'caddyfile'], {
      stdio: 'ignore',
    })
    children.push(
      spawn('caddy', ['run', '--config', caddyfile, '--adapter', 'caddyfile'], {
        stdio: 'ignore',
        env: { ...process.env, HOME: tempDir('toehold-caddy-home-') },
      }),
    )
    const tcpPort = await freePort()
    children.push(
      spawn(
        process.execPath,
        [join(ROOT, 'bench/tcp-relay.ts'), String(tcpPort), String(directPort)],
        {
          stdio: 'ignore',
        },
      ),
    )
    await Promise.all([listening(directPort), listening(caddyPort), listening(tcpPort)])
    const ports: Record<Contender, number> = {
      direct: directPort,
      toehold: port,
      caddy: caddyPort,
      tcp: tcpPort,
    }

    const run = (target: number, path: string) =>
      load({
        url: `http://127.0.0.1:${target}${path}`,
        connections: CONNECTIONS,
        warmupMs: 500,
        durationMs: 3000,
      })
    // Interleaved rounds, medians: a busy machine slows one run, not one contender's figure.
    const figures = async (path: string) => {
      const runs = { direct: [], toehold: [], caddy: [], tcp: [] } as Record<
        Contender,
        GetLoadResult[]
      >
      for (let round = 0; round < ROUNDS; round++)
        for (const contender of CONTENDERS) runs[contender].push(await run(ports[contender], path))
      return Object.fromEntries(CONTENDERS.map((c) => [c, medians(runs[c])])) as Record<
        Contender,
        GetLoadResult
      >
    }
    const small = await figures('/')
    const big = await figures('/big')

    // 20 deploys while 50 connections keep asking.
    const traffic = startTraffic(port, CONNECTIONS)
    let live = 0
    for (let i = 1; i <= DEPLOYS; i++) {
      repo.commit({ 'version.txt': `v${i}\n` }, `v${i}`)
      if ((await deploy(agent, 'bench')).status === 'live') live += 1
    }
    const tally = await traffic.stop()
    const ok = tally.codes[200] ?? 0
    return {
      small,
      big,
      deploys: { count: DEPLOYS, requests: tally.total, failed: tally.total - ok, live },
    }
  } finally {
    for (const child of children) child.kill('SIGTERM')
    await agent.kill()
  }
}

const pct = (a: number, b: number) => Math.round((a / b) * 100)

export function proxyReport(b: ProxyBench): string[] {
  const line = (name: string, r: GetLoadResult) =>
    `    ${(name === 'tcp' ? 'tcp relay' : name).padEnd(9)} ${String(r.perSecond).padStart(6)} req/s   p50 ${r.p50Ms} ms   p99 ${r.p99Ms} ms${r.failed ? `   ${r.failed} failed` : ''}`
  const mark = (ok: boolean) => (ok ? '✓' : '✗ MISSED')
  return [
    `toehold proxy bench — a Bun app, ${CONNECTIONS} keep-alive connections, loopback, medians of ${ROUNDS} interleaved rounds`,
    '  small responses',
    ...CONTENDERS.map((k) => line(k, b.small[k])),
    `    toehold = ${pct(b.small.toehold.perSecond, b.small.caddy.perSecond)} % of Caddy's req/s ${mark(b.small.toehold.perSecond >= 0.5 * b.small.caddy.perSecond)} (≥ 50 %), p99 ${(b.small.toehold.p99Ms / b.small.caddy.p99Ms).toFixed(2)}× Caddy's ${mark(b.small.toehold.p99Ms <= 2 * b.small.caddy.p99Ms)} (≤ 2×)`,
    '  100 KB responses',
    ...CONTENDERS.map((k) => line(k, b.big[k])),
    `    toehold = ${pct(b.big.toehold.perSecond, b.big.direct.perSecond)} % of direct ${mark(b.big.toehold.perSecond >= 0.9 * b.big.direct.perSecond)} (≥ 90 %); Caddy ${pct(b.big.caddy.perSecond, b.big.direct.perSecond)} %, the raw TCP relay (the ceiling here) ${pct(b.big.tcp.perSecond, b.big.direct.perSecond)} %`,
    `  ${b.deploys.count} deploys under load (${b.deploys.live} live): ${b.deploys.requests} requests, ${b.deploys.failed} failed ${mark(b.deploys.failed === 0)} (0)`,
  ]
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await benchProxy()
  process.stderr.write(`${proxyReport(figures).join('\n')}\n`)
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(figures)}\n`)
  process.exit(0)
}

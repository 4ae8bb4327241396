// The load generator, run as its own process so it does not take the relay's CPU:
// 2 KB GitHub-like push webhooks signed with X-Hub-Signature-256, over keep-alive HTTP/1.1.
//   open loop:   a fixed rate, latency measured from each request's scheduled start
//   closed loop: N requests always in flight, as many as the server can take
// Usage: node bench/load.ts '<json LoadOptions>' → one JSON LoadResult line on stdout.
import { createHash, createHmac, randomUUID } from 'node:crypto'
import { Agent, request } from 'node:http'

export type LoadOptions = {
  url: string
  /** The webhook secret; the signature is computed as GitHub does. */
  secret: string
  mode: 'rate' | 'closed'
  /** Requests per second (open loop). */
  rate?: number
  /** Requests in flight (closed loop). */
  concurrency?: number
  warmupMs: number
  durationMs: number
}

export type LoadResult = {
  /** Requests completed inside the measured window. */
  completed: number
  /** Requests completed in the whole run, warm-up included (what the servers' CPU time covers). */
  total: number
  perSecond: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** HTTP status → count; "error" for failed requests. */
  statuses: Record<string, number>
  /** This process's own CPU use, to see whether the generator kept up. */
  generatorCpuS: number
}

/** A GitHub push event payload of exactly `size` bytes, to a branch no app tracks. */
export function pushPayload(size = 2048): Buffer {
  const sha = (seed: string) => createHash('sha1').update(seed).digest('hex')
  const person = { name: 'Bench Pusher', email: 'bench@example.com', username: 'bench' }
  const commit = {
    id: sha('after'),
    tree_id: sha('tree'),
    distinct: true,
    message: '',
    timestamp: '2026-01-01T12:00:00Z',
    url: `https://github.com/toehold/bench/commit/${sha('after')}`,
    author: person,
    committer: person,
    added: [],
    removed: [],
    modified: ['README.md'],
  }
  const payload = {
    ref: 'refs/heads/bench-feature',
    before: sha('before'),
    after: sha('after'),
    created: false,
    deleted: false,
    forced: false,
    base_ref: null,
    compare: `https://github.com/toehold/bench/compare/${sha('before').slice(0, 12)}...${sha('after').slice(0, 12)}`,
    commits: [commit],
    head_commit: commit,
    repository: {
      id: 123456789,
      node_id: 'R_kgDOBench',
      name: 'bench',
      full_name: 'toehold/bench',
      private: false,
      owner: { name: 'toehold', login: 'toehold', id: 1, type: 'Organization' },
      html_url: 'https://github.com/toehold/bench',
      clone_url: 'https://github.com/toehold/bench.git',
      default_branch: 'main',
    },
    pusher: { name: 'bench', email: 'bench@example.com' },
    sender: { login: 'bench', id: 2, type: 'User' },
  }
  const bare = Buffer.byteLength(JSON.stringify(payload))
  const message = 'Benchmark push '.padEnd(Math.max(0, size - bare), '.')
  commit.message = message
  return Buffer.from(JSON.stringify(payload))
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))] as number
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const body = pushPayload()
  const signature = `sha256=${createHmac('sha256', options.secret).update(body).digest('hex')}`
  const target = new URL(options.url)
  const concurrency = options.concurrency ?? 64
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency })
  const headers = {
    'content-type': 'application/json',
    'content-length': String(body.length),
    'user-agent': 'GitHub-Hookshot/bench',
    'x-github-event': 'push',
    'x-github-hook-id': '42',
  }

  const post = () =>
    new Promise<number>((resolve) => {
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: {
            ...headers,
            'x-github-delivery': randomUUID(),
            'x-hub-signature-256': signature,
          },
        },
        (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
          res.on('error', () => resolve(-1))
        },
      )
      req.on('error', () => resolve(-1))
      req.end(body)
    })

  const cpuBefore = process.cpuUsage()
  const start = performance.now()
  const from = start + options.warmupMs
  const until = from + options.durationMs
  const latencies: number[] = []
  const statuses: Record<string, number> = {}
  let total = 0
  const record = (status: number, startedAt: number) => {
    total++
    const doneAt = performance.now()
    if (doneAt < from || doneAt > until) return
    latencies.push(doneAt - startedAt)
    const key = status === -1 ? 'error' : String(status)
    statuses[key] = (statuses[key] ?? 0) + 1
  }

  if (options.mode === 'closed') {
    const worker = async () => {
      while (performance.now() < until) {
        const startedAt = performance.now()
        record(await post(), startedAt)
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
  } else {
    const period = 1000 / (options.rate ?? 200)
    const inFlight = new Set<Promise<void>>()
    let sent = 0
    await new Promise<void>((done) => {
      const tick = () => {
        const now = performance.now()
        // Everything due by now goes out, each timed from when it was due (no coordinated omission).
        for (
          let due = start + sent * period;
          due <= now && due < until;
          due = start + sent * period
        ) {
          sent++
          const flight: Promise<void> = post().then((status) => {
            inFlight.delete(flight)
            record(status, due)
          })
          inFlight.add(flight)
        }
        const next = start + sent * period
        if (next >= until) done()
        else setTimeout(tick, Math.max(0, next - performance.now()))
      }
      tick()
    })
    await Promise.all(inFlight)
  }
  agent.destroy()

  const cpu = process.cpuUsage(cpuBefore)
  const sorted = latencies.sort((a, b) => a - b)
  return {
    completed: sorted.length,
    total,
    perSecond: sorted.length / (options.durationMs / 1000),
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted.at(-1) ?? Number.NaN,
    statuses,
    generatorCpuS: (cpu.user + cpu.system) / 1e6,
  }
}

if (import.meta.main) {
  const result = await runLoad(JSON.parse(process.argv[2] ?? '{}') as LoadOptions)
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

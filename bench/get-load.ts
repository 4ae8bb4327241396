// A closed-loop GET load: `connections` keep-alive connections, each one request at a time, as
// many as the server answers. Its own process, so it does not take the measured server's CPU.
// Usage: node bench/get-load.ts '<json GetLoadOptions>' → one JSON GetLoadResult line on stdout.
import { Agent, request } from 'node:http'

export type GetLoadOptions = {
  url: string
  connections: number
  warmupMs: number
  durationMs: number
}
export type GetLoadResult = {
  perSecond: number
  p50Ms: number
  p99Ms: number
  /** Responses that were not 200, and requests that got no answer. */
  failed: number
  bytes: number
}

export async function getLoad(options: GetLoadOptions): Promise<GetLoadResult> {
  const url = new URL(options.url)
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections })
  const latencies: number[] = []
  let failed = 0
  let bytes = 0
  const start = performance.now()
  const measureFrom = start + options.warmupMs
  const end = measureFrom + options.durationMs
  const one = () =>
    new Promise<void>((resolve) => {
      const began = performance.now()
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname, agent },
        (res) => {
          let size = 0
          res.on('data', (chunk: Buffer) => {
            size += chunk.length
          })
          res.on('end', () => {
            const now = performance.now()
            if (began >= measureFrom && now <= end) {
              latencies.push(now - began)
              bytes += size
              if (res.statusCode !== 200) failed += 1
            }
            resolve()
          })
        },
      )
      req.on('error', () => {
        failed += 1
        resolve()
      })
      req.end()
    })
  const loop = async () => {
    while (performance.now() < end) await one()
  }
  await Promise.all(Array.from({ length: options.connections }, loop))
  agent.destroy()
  latencies.sort((a, b) => a - b)
  const at = (q: number) =>
    Number((latencies[Math.floor(q * (latencies.length - 1))] ?? 0).toFixed(2))
  return {
    perSecond: Math.round(latencies.length / (options.durationMs / 1000)),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    failed,
    bytes,
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await getLoad(JSON.parse(process.argv[2] ?? '{}'))
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

// A client sending requests continuously to an app's public port (keep-alive connections, like a
// browser or a load balancer), counting every answer by status and every failure by error code.
import { Agent, request } from 'node:http'

export type Tally = {
  /** Answers by status code. */
  codes: Record<number, number>
  /** Requests that got no answer (refused, reset, timed out), by error code. */
  errors: Record<string, number>
  /** 503s that came without Retry-After. */
  bare503: number
  /** Versions that answered 2xx. */
  versions: Set<string>
  total: number
}

export type Traffic = {
  /** The tally since the last `phase()` call, and a fresh one from now on. */
  phase(): Tally
  /** Requests counted in the current phase so far. */
  count(): number
  stop(): Promise<Tally>
}

const fresh = (): Tally => ({ codes: {}, errors: {}, bare503: 0, versions: new Set(), total: 0 })

function get(
  agent: Agent,
  port: number,
  path: string,
): Promise<{ status: number; retryAfter: boolean; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, timeout: 10_000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => {
        body += chunk
      })
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, retryAfter: 'retry-after' in res.headers, body }),
      )
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })))
    req.on('error', reject)
    req.end()
  })
}

/** `workers` loops, each one request at a time, until stopped. */
export function startTraffic(port: number, workers = 4, path = '/'): Traffic {
  const agent = new Agent({ keepAlive: true, maxSockets: workers })
  let tally = fresh()
  let running = true
  const loop = async () => {
    while (running) {
      const counted = tally
      try {
        const answer = await get(agent, port, path)
        counted.total += 1
        counted.codes[answer.status] = (counted.codes[answer.status] ?? 0) + 1
        if (answer.status === 503 && !answer.retryAfter) counted.bare503 += 1
        if (answer.status < 300) {
          try {
            counted.versions.add(JSON.parse(answer.body).version)
          } catch {}
        }
      } catch (error) {
        counted.total += 1
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message
        counted.errors[code] = (counted.errors[code] ?? 0) + 1
      }
    }
  }
  const loops = Array.from({ length: workers }, loop)
  return {
    phase() {
      const done = tally
      tally = fresh()
      return done
    },
    count: () => tally.total,
    async stop() {
      running = false
      await Promise.all(loops)
      agent.destroy()
      return tally
    },
  }
}

/** The tally as one line, for assertion messages. */
export const show = (tally: Tally) => JSON.stringify({ ...tally, versions: [...tally.versions] })

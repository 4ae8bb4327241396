// Is the freshly started app healthy? An HTTP GET on 127.0.0.1:<port><path> answering < 500, or,
// for an app without a port, still running after a while. Either way it must not exit meanwhile.
import { request } from 'node:http'
import { duration } from '../../core/format.ts'
import { describeExit, type Exit } from '../../core/groups.ts'

export type HealthCheck = {
  port: number | null
  path: string
  timeoutMs: number
  aliveMs: number
  /** Settles when the app's process exits. */
  exited: Promise<Exit>
  signal: AbortSignal
}

/** One GET without keep-alive: the status, or the error code of a refused or silent connection. */
function probe(url: string, timeoutMs: number): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('timeout', () => req.destroy(Object.assign(new Error(), { code: 'no answer' })))
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
    req.end()
  })
}

/** Resolves when healthy; throws with a reason a person can act on. */
export async function waitHealthy(check: HealthCheck): Promise<void> {
  let exit: Exit | null = null
  let wake = () => {}
  check.exited.then((value) => {
    exit = value
    wake()
  })
  check.signal.addEventListener('abort', () => wake(), { once: true })
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  const started = Date.now()
  const exited = () =>
    exit &&
    new Error(
      `the app ${describeExit(exit)} during the health check after ${duration(Date.now() - started)}`,
    )

  if (check.port === null) {
    await wait(check.aliveMs)
    check.signal.throwIfAborted()
    const failure = exited()
    if (failure) throw failure
    return
  }

  const url = `http://127.0.0.1:${check.port}${check.path}`
  const deadline = started + check.timeoutMs
  let last: number | string = 'no answer'
  for (;;) {
    check.signal.throwIfAborted()
    const failure = exited()
    if (failure) throw failure
    const left = deadline - Date.now()
    if (left <= 0) break
    last = await probe(url, Math.min(left, 5000))
    if (typeof last === 'number' && last < 500) return
    // Poll briskly while a fresh app boots (a Bun app listens within tens of ms; each probe is
    // one loopback connect), then ease off.
    const since = Date.now() - started
    await wait(since < 500 ? 5 : since < 2000 ? 20 : 100)
  }
  throw new Error(
    typeof last === 'number'
      ? `health check: GET ${url} answered ${last} within ${duration(check.timeoutMs)}, never below 500`
      : `health check: GET ${url} got no answer within ${duration(check.timeoutMs)} (last: ${last})`,
  )
}

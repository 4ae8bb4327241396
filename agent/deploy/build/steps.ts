// A build step (install, predeploy): one command in the release directory, in a process group of
// its own so a time limit or a shutdown ends all of it, its output in the deployment's log.
import { spawn } from 'node:child_process'
import { duration } from '../../core/format.ts'
import { stopGroup } from '../../core/groups.ts'
import type { LogFile } from '../../core/logfile.ts'
import { describeExit } from '../run/health.ts'
import type { Exit } from '../run/supervisor.ts'

export type Step = {
  /** How the log and a failure name it, e.g. `bun install`. */
  label: string
  argv: string[]
  cwd: string
  env: Record<string, string>
  timeoutMs: number
  log: LogFile
  signal: AbortSignal
  /** Called with the group's pid as soon as it exists, and when it is gone. */
  started(pid: number): void
  ended(pid: number): void
}

/** Resolves when the command exits 0; throws with a reason otherwise. */
export async function runStep(step: Step): Promise<void> {
  step.log.line(`$ ${step.label}`)
  const [command = '', ...args] = step.argv
  const child = spawn(command, args, {
    cwd: step.cwd,
    env: step.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const pid = child.pid
  if (pid) step.started(pid)
  for (const stream of [child.stdout, child.stderr]) {
    const writer = step.log.stream()
    stream.on('data', writer.write)
    stream.on('end', writer.end)
  }
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()))
  let stopped: string | null = null
  const end = (why: string) => {
    stopped = why
    if (pid) void stopGroup(pid, 2000)
  }
  const timer = setTimeout(
    () => end(`did not finish within ${duration(step.timeoutMs)}`),
    step.timeoutMs,
  )
  const abort = () => end('was stopped')
  step.signal.addEventListener('abort', abort, { once: true })

  const result = await new Promise<Exit | Error>((resolve) => {
    child.once('error', resolve)
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  clearTimeout(timer)
  step.signal.removeEventListener('abort', abort)
  if (pid) {
    // Nothing a step started may outlive it (and hold its output pipe open).
    await stopGroup(pid, 1000)
    await closed
    step.ended(pid)
  }
  step.signal.throwIfAborted()
  if (result instanceof Error) throw new Error(`cannot run ${step.label}: ${result.message}`)
  if (stopped) throw new Error(`${step.label} ${stopped}`)
  if (result.code !== 0) throw new Error(`${step.label} ${describeExit(result)}`)
}

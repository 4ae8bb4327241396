// A build step (install, predeploy): one command in the release directory, in a process group of
// its own so a time limit or a shutdown ends all of it, its output in the deployment's log.
import { duration } from '../../core/format.ts'
import { describeExit, spawnGroup, stopGroup } from '../../core/groups.ts'
import type { LogFile } from '../../core/logfile.ts'

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
  let pid: number | undefined
  const group = await spawnGroup({
    argv: step.argv,
    cwd: step.cwd,
    env: step.env,
    log: step.log,
    onPid: (started) => {
      pid = started
      step.started(started)
    },
  }).catch((error: Error) => {
    if (pid) step.ended(pid)
    throw new Error(`cannot run ${step.label}: ${error.message}`)
  })
  let stopped: string | null = null
  const end = (why: string) => {
    stopped = why
    void stopGroup(group.pid, 2000)
  }
  const timer = setTimeout(
    () => end(`did not finish within ${duration(step.timeoutMs)}`),
    step.timeoutMs,
  )
  const abort = () => end('was stopped')
  step.signal.addEventListener('abort', abort, { once: true })

  const exit = await group.exit
  clearTimeout(timer)
  step.signal.removeEventListener('abort', abort)
  // Nothing a step started may outlive it (and hold its output pipe open).
  await stopGroup(group.pid, 1000)
  await group.closed
  step.ended(group.pid)
  step.signal.throwIfAborted()
  if (stopped) throw new Error(`${step.label} ${stopped}`)
  if (exit.code !== 0) throw new Error(`${step.label} ${describeExit(exit)}`)
}

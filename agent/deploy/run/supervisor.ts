// The supervisor: each app runs as the leader of its own process group, its output in a rotated
// log. Once the app has passed its health check, a crash restarts it with exponential backoff;
// CRASH_LIMIT crashes within CRASH_WINDOW_MS mark a crash loop, and restarts wait for the next
// deploy or start. Which release runs, and when, is the engine's business, not the supervisor's.
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Logger } from 'pino'
import type { AppRuntime, RunState } from '../../api/contract.ts'
import type { Events } from '../../core/events.ts'
import { describeExit, type Exit, spawnGroup, stopGroup, usage } from '../../core/groups.ts'
import { type LogFile, openLog } from '../../core/logfile.ts'
import type { AgentMetrics } from '../../core/metrics.ts'
import type { Db } from '../../state/db.ts'
import { forgetProcess, recordProcess } from '../../state/processes.ts'

const CRASH_LIMIT = 5
const CRASH_WINDOW_MS = 60_000
const MAX_BACKOFF_MS = 30_000

export type LaunchSpec = {
  app: string
  release: string
  cwd: string
  argv: string[]
  env: Record<string, string>
  logPath: string
  graceMs: number
  backoffMs: number
}

/** A launched process: `exited` settles once it and everything left in its group are gone. */
export type Launched = { pid: number; exited: Promise<Exit> }

type Running = Launched & { leaderExit: Promise<Exit> }

type Unit = {
  spec: LaunchSpec
  runtime: AppRuntime
  current: Running | null
  /** Set by healthy(): from then on an exit is a crash, and restarts the app. */
  supervised: boolean
  stopping: boolean
  crashes: number[]
  timer: NodeJS.Timeout | null
  restarting: Promise<void> | null
}

export type Supervisor = ReturnType<typeof createSupervisor>

export function createSupervisor(deps: {
  db: Db
  events: Events
  metrics: AgentMetrics
  log: Logger
}) {
  const { db, events, metrics, log } = deps
  const units = new Map<string, Unit>()
  const logs = new Map<string, LogFile>()

  const logOf = (app: string, path: string) => {
    let file = logs.get(app)
    if (!file) {
      mkdirSync(dirname(path), { recursive: true })
      file = openLog(path, {
        rotate: true,
        onLine: (line) =>
          events.emit({
            type: 'log',
            app,
            deployment: null,
            stream: 'app',
            line,
            at: new Date().toISOString(),
          }),
      })
      logs.set(app, file)
    }
    return file
  }

  const setState = (unit: Unit, state: RunState) => {
    const { app } = unit.spec
    unit.runtime = {
      ...unit.runtime,
      state,
      pid: unit.current?.pid ?? null,
      since: new Date().toISOString(),
    }
    metrics.appUp.set({ app }, state === 'running' ? 1 : 0)
    metrics.appPid.set({ app }, unit.current?.pid ?? 0)
    sample(unit)
    events.emit({ type: 'app', app, state, at: unit.runtime.since as string })
  }

  /** CPU and memory of the app's group into the metrics: at each change, and every few seconds. */
  const sample = (unit: Unit) => {
    const { cpuSeconds, memoryBytes } = unit.current
      ? usage(unit.current.pid)
      : { cpuSeconds: 0, memoryBytes: 0 }
    metrics.appCpu.set({ app: unit.spec.app }, cpuSeconds)
    metrics.appMemory.set({ app: unit.spec.app }, memoryBytes)
  }
  const sampler = setInterval(() => {
    for (const unit of units.values()) sample(unit)
  }, 5000)
  sampler.unref()

  async function spawnProcess(unit: Unit): Promise<Running> {
    const { spec } = unit
    const file = logOf(spec.app, spec.logPath)
    file.line(`[toehold] starting ${spec.release}: ${spec.argv.join(' ')}`)
    const { pid, exit: leaderExit } = await spawnGroup({
      argv: spec.argv,
      cwd: spec.cwd,
      env: spec.env,
      log: file,
      // On record at once, so a killed agent finds it at its next start.
      onPid: (pid) => recordProcess(db, spec.app, 'app', pid, spec.release),
    })
    // Whatever the leader left behind in its group (a daemonised child) goes with it.
    const exited = leaderExit.then(async (exit) => {
      await stopGroup(pid, spec.graceMs)
      forgetProcess(db, spec.app, 'app', pid)
      file.line(`[toehold] ${spec.release} ${describeExit(exit)}`)
      if (unit.current?.pid === pid) unit.current = null
      if (!unit.stopping) {
        if (unit.supervised) crashed(unit)
        else setState(unit, 'crashed')
      }
      return exit
    })
    return { pid, exited, leaderExit }
  }

  function crashed(unit: Unit) {
    const { app } = unit.spec
    const now = Date.now()
    unit.crashes = [...unit.crashes.filter((at) => now - at < CRASH_WINDOW_MS), now]
    if (unit.crashes.length >= CRASH_LIMIT) {
      log.error(
        { app, crashes: unit.crashes.length },
        'crash loop: restarts stop until the next deploy or start',
      )
      setState(unit, 'crash_loop')
      return
    }
    setState(unit, 'crashed')
    const delay = Math.min(unit.spec.backoffMs * 2 ** (unit.crashes.length - 1), MAX_BACKOFF_MS)
    log.warn({ app, restartInMs: delay }, 'app crashed')
    unit.timer = setTimeout(() => {
      unit.timer = null
      unit.restarting = spawnProcess(unit).then(
        (running) => {
          unit.current = running
          unit.runtime.restarts += 1
          metrics.appRestarts.inc({ app })
          setState(unit, 'running')
        },
        (error: Error) => {
          log.error({ app, err: error }, 'restart failed')
          crashed(unit)
        },
      )
      unit.restarting.finally(() => {
        unit.restarting = null
      })
    }, delay)
  }

  async function stop(app: string): Promise<void> {
    const unit = units.get(app)
    if (!unit) return
    unit.stopping = true
    if (unit.timer) clearTimeout(unit.timer)
    unit.timer = null
    await unit.restarting
    const running = unit.current
    if (running) {
      await stopGroup(running.pid, unit.spec.graceMs, running.leaderExit)
      await running.exited
    }
    if (unit.runtime.state !== 'stopped') setState(unit, 'stopped')
  }

  return {
    /** Spawns an app (the caller has stopped the previous one). Throws if it cannot be spawned. */
    async launch(spec: LaunchSpec): Promise<Launched> {
      const previous = units.get(spec.app)
      if (previous?.current || previous?.restarting) throw new Error(`${spec.app} is still running`)
      const unit: Unit = {
        spec,
        runtime: {
          state: 'starting',
          pid: null,
          since: null,
          restarts: previous?.runtime.restarts ?? 0,
        },
        current: null,
        supervised: false,
        stopping: false,
        crashes: [],
        timer: null,
        restarting: null,
      }
      units.set(spec.app, unit)
      try {
        unit.current = await spawnProcess(unit)
      } catch (error) {
        setState(unit, 'stopped')
        throw error
      }
      setState(unit, 'starting')
      return unit.current
    },
    /** The launched app passed its health check: supervise it from now on. */
    healthy(app: string): void {
      const unit = units.get(app)
      if (!unit?.current) return
      unit.supervised = true
      setState(unit, 'running')
    },
    stop,
    runtime: (app: string): AppRuntime | undefined => units.get(app)?.runtime,
    async forget(app: string): Promise<void> {
      await stop(app)
      units.delete(app)
      logs.get(app)?.close()
      logs.delete(app)
    },
    async stopAll(): Promise<void> {
      clearInterval(sampler)
      await Promise.all([...units.keys()].map(stop))
      for (const file of logs.values()) file.close()
      logs.clear()
    },
  }
}

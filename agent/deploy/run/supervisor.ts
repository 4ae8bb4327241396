// The supervisor: each release process runs as the leader of its own process group, its output in
// the app's rotated log. An app may have several at once while traffic switches: the live one, a
// candidate being health-checked, old ones draining. Once promoted, the live one's exit is a
// crash: its route answers 503 with the reason, and the crash rule (crash-rule.ts) either has the
// engine bring the release up again through the same path as a deploy (start, health, switch) or
// calls it a crash loop. Which release runs, and when, is the engine's business.
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Logger } from 'pino'
import type { AppRuntime, RunState } from '../../api/contract.ts'
import type { Events } from '../../core/events.ts'
import { describeExit, type Exit, spawnGroup, stopGroup, usage } from '../../core/groups.ts'
import { type LogFile, openLog } from '../../core/logfile.ts'
import type { AgentMetrics } from '../../core/metrics.ts'
import type { Serving } from '../../serve/listeners.ts'
import type { Db } from '../../state/db.ts'
import { forgetProcess, recordProcess } from '../../state/processes.ts'
import { afterCrash, CRASH_LIMIT, CRASH_WINDOW_MS } from './crash-rule.ts'

export type LaunchSpec = {
  app: string
  release: string
  /** The private port passed as PORT; null for an app without a port. */
  port: number | null
  cwd: string
  argv: string[]
  env: Record<string, string>
  logPath: string
  graceMs: number
  backoffMs: number
}

/** One launched release process: `exited` settles once it and all of its group are gone. */
export type Launched = {
  app: string
  release: string
  pid: number
  port: number | null
  exited: Promise<Exit>
  /** When it was spawned (Date.now()): its output since then is in `output`. */
  since: number
}

type Proc = Launched & { spec: LaunchSpec; leaderExit: Promise<Exit>; stopping: boolean }

type Unit = {
  runtime: AppRuntime
  live: Proc | null
  /** Every process of the app: candidates, the live one, old ones draining. */
  procs: Set<Proc>
  crashes: number[]
  timer: NodeJS.Timeout | null
  /** The restart under way after a crash; a stop clears it, so its failure is no crash. */
  pending: symbol | null
  backoffMs: number
}

/** Lines of each app's output kept in memory, to tell why a release failed to start. */
const RECENT_LINES = 200

export type Supervisor = ReturnType<typeof createSupervisor>

export function createSupervisor(deps: {
  db: Db
  events: Events
  metrics: AgentMetrics
  log: Logger
  serving: Serving
  /** Brings a crashed app's release up again (start, health, switch); throws if it does not. */
  restart: (app: string) => Promise<void>
}) {
  const { db, events, metrics, log, serving } = deps
  const units = new Map<string, Unit>()
  const logs = new Map<string, LogFile>()
  const recent = new Map<string, { at: number; line: string }[]>()

  const logOf = (app: string, path: string) => {
    let file = logs.get(app)
    if (!file) {
      mkdirSync(dirname(path), { recursive: true })
      const lines: { at: number; line: string }[] = []
      recent.set(app, lines)
      file = openLog(path, {
        rotate: true,
        onLine: (line) => {
          lines.push({ at: Date.now(), line })
          if (lines.length > RECENT_LINES) lines.shift()
          events.emit({
            type: 'log',
            app,
            deployment: null,
            stream: 'app',
            line,
            at: new Date().toISOString(),
          })
        },
      })
      logs.set(app, file)
    }
    return file
  }

  const unitOf = (app: string): Unit => {
    let unit = units.get(app)
    if (!unit) {
      unit = {
        runtime: { state: 'stopped', pid: null, since: null, restarts: 0 },
        live: null,
        procs: new Set(),
        crashes: [],
        timer: null,
        pending: null,
        backoffMs: 1000,
      }
      units.set(app, unit)
    }
    return unit
  }

  const setState = (app: string, unit: Unit, state: RunState) => {
    unit.runtime = {
      ...unit.runtime,
      state,
      pid: unit.live?.pid ?? null,
      since: new Date().toISOString(),
    }
    metrics.appUp.set({ app }, state === 'running' ? 1 : 0)
    metrics.appPid.set({ app }, unit.live?.pid ?? 0)
    sample(app, unit)
    events.emit({ type: 'app', app, state, at: unit.runtime.since as string })
  }

  /** CPU and memory of the live group into the metrics: at each change, and every few seconds. */
  const sample = (app: string, unit: Unit) => {
    const { cpuSeconds, memoryBytes } = unit.live
      ? usage(unit.live.pid)
      : { cpuSeconds: 0, memoryBytes: 0 }
    metrics.appCpu.set({ app }, cpuSeconds)
    metrics.appMemory.set({ app }, memoryBytes)
  }
  const sampler = setInterval(() => {
    for (const [app, unit] of units) sample(app, unit)
  }, 5000)
  sampler.unref()

  function crashed(app: string, unit: Unit, why: string) {
    const verdict = afterCrash(unit.crashes, Date.now(), unit.backoffMs)
    unit.crashes = verdict.crashes
    if (verdict.restartInMs === null) {
      log.error(
        { app, crashes: unit.crashes.length },
        'crash loop: restarts stop until the next deploy or start',
      )
      serving.withdraw(
        app,
        `it keeps crashing (${CRASH_LIMIT} crashes within ${CRASH_WINDOW_MS / 1000} s; last: ${why}); restarts wait for the next deploy`,
        60,
      )
      setState(app, unit, 'crash_loop')
      return
    }
    const delay = verdict.restartInMs
    serving.withdraw(app, `it ${why}; restarting`, delay / 1000 + 1)
    setState(app, unit, 'crashed')
    log.warn({ app, restartInMs: delay, reason: why }, 'app crashed')
    unit.timer = setTimeout(() => {
      unit.timer = null
      const pending = Symbol(app)
      unit.pending = pending
      // A restart counts when the supervisor makes it, whether or not the release comes back.
      unit.runtime.restarts += 1
      metrics.appRestarts.inc({ app })
      deps.restart(app).then(
        () => {
          if (unit.pending === pending) unit.pending = null
        },
        (error: Error) => {
          if (unit.pending !== pending) return
          unit.pending = null
          log.error({ app, reason: error.message }, 'restart failed')
          // The full reason is in the log; visitors of the 503 get the gist.
          crashed(app, unit, 'did not come back after a restart')
        },
      )
    }, delay)
  }

  async function retire(proc: Proc): Promise<void> {
    proc.stopping = true
    await stopGroup(proc.pid, proc.spec.graceMs, proc.leaderExit)
    await proc.exited
  }

  return {
    /** Spawns a release process beside whatever runs; throws if it cannot be spawned. */
    async launch(spec: LaunchSpec): Promise<Launched> {
      const unit = unitOf(spec.app)
      const file = logOf(spec.app, spec.logPath)
      file.line(`[toehold] starting ${spec.release}: ${spec.argv.join(' ')}`)
      const since = Date.now()
      const group = await spawnGroup({
        argv: spec.argv,
        cwd: spec.cwd,
        env: spec.env,
        log: file,
        // On record at once, so a killed agent finds it at its next start.
        onPid: (pid) => recordProcess(db, spec.app, 'app', pid, spec.release),
      })
      const proc: Proc = {
        app: spec.app,
        release: spec.release,
        pid: group.pid,
        port: spec.port,
        since,
        spec,
        leaderExit: group.exit,
        stopping: false,
        // Whatever the leader left behind in its group (a daemonised child) goes with it; its
        // last lines are read before anyone hears of the exit.
        exited: group.exit.then(async (exit) => {
          await stopGroup(group.pid, spec.graceMs)
          await group.closed
          forgetProcess(db, spec.app, 'app', group.pid)
          file.line(`[toehold] ${spec.release} ${describeExit(exit)}`)
          unit.procs.delete(proc)
          if (unit.live === proc) {
            unit.live = null
            if (!proc.stopping) crashed(spec.app, unit, describeExit(exit))
          }
          return exit
        }),
      }
      unit.procs.add(proc)
      unit.backoffMs = spec.backoffMs
      if (!unit.live) setState(spec.app, unit, 'starting')
      return proc
    },

    /**
     * The launched process passed its health check: it is the live one from now on (its exit
     * is a crash). Returns the one it replaces, for the caller to drain and retire.
     */
    promote(launched: Launched): Launched | null {
      const unit = unitOf(launched.app)
      const proc = [...unit.procs].find((p) => p === launched)
      if (!proc) throw new Error(`${launched.release} exited before it went live`)
      if (unit.timer) clearTimeout(unit.timer)
      unit.timer = null
      const previous = unit.live
      unit.live = proc
      setState(launched.app, unit, 'running')
      return previous
    },

    /** Stops one process (SIGTERM to its group, SIGKILL after its grace period). */
    async retire(launched: Launched): Promise<void> {
      const unit = unitOf(launched.app)
      const proc = [...unit.procs].find((p) => p === launched)
      if (proc) await retire(proc)
      if (!unit.live && unit.procs.size === 0 && unit.runtime.state === 'starting')
        setState(launched.app, unit, 'stopped')
    },

    /** The live process, if any. */
    live: (app: string): Launched | null => units.get(app)?.live ?? null,

    /** Output lines of the app since `since` (Date.now()), newest last. */
    output: (app: string, since: number): string[] =>
      (recent.get(app) ?? []).filter((entry) => entry.at >= since).map((entry) => entry.line),

    /** Stops every process of the app; its route says `reason`. */
    async stop(app: string, reason = 'it is stopped'): Promise<void> {
      const unit = units.get(app)
      if (!unit) return
      if (unit.timer) clearTimeout(unit.timer)
      unit.timer = null
      unit.pending = null
      unit.live = null
      serving.withdraw(app, reason, 5)
      await Promise.all([...unit.procs].map(retire))
      if (unit.runtime.state !== 'stopped') setState(app, unit, 'stopped')
    },

    /** A crash loop or a failed restart is over once the app is brought up by hand or deploy. */
    resetCrashes(app: string): void {
      unitOf(app).crashes = []
    },

    runtime: (app: string): AppRuntime | undefined => units.get(app)?.runtime,

    async forget(app: string): Promise<void> {
      const unit = units.get(app)
      if (unit) {
        if (unit.timer) clearTimeout(unit.timer)
        await Promise.all([...unit.procs].map(retire))
      }
      units.delete(app)
      recent.delete(app)
      logs.get(app)?.close()
      logs.delete(app)
    },

    async stopAll(): Promise<void> {
      clearInterval(sampler)
      await Promise.all(
        [...units.values()].map((unit) => {
          if (unit.timer) clearTimeout(unit.timer)
          unit.live = null
          return Promise.all([...unit.procs].map(retire))
        }),
      )
      for (const file of logs.values()) file.close()
      logs.clear()
    },
  }
}

// Process groups (Linux): every app and build step is spawned detached (spawnGroup), in its app's
// sandbox, so it (bubblewrap, when sandboxed) leads a group of its own and one signal to -pid reaches everything it started. /proc tells our group
// apart from a recycled pid and sees past zombies (PID 1 in a container may never reap orphans).
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { setTimeout as pause } from 'node:timers/promises'
import type { LogFile } from './logfile.ts'
import { sandboxed } from './sandbox.ts'

export type Exit = { code: number | null; signal: NodeJS.Signals | null }

/** "exited with code 1", "was killed by SIGKILL". */
export const describeExit = (exit: Exit) =>
  exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`

export type Group = {
  /** The leader's pid, which is also the group's id. */
  pid: number
  /** The leader exited (others of its group may live on: stopGroup ends them). */
  exit: Promise<Exit>
  /** Its output pipes closed: every line is in the log. */
  closed: Promise<void>
}

/**
 * Starts `argv` as the leader of a new process group, its stdout and stderr into `log`, in the
 * app's sandbox (core/sandbox.ts: `cwd` is the release it may see).
 * `onPid` runs before anything else can happen, so the pid is on record even if the agent dies
 * right after. Rejects when the command cannot be started at all.
 */
export async function spawnGroup(options: {
  argv: string[]
  cwd: string
  env: Record<string, string>
  log: LogFile
  onPid?: (pid: number) => void
}): Promise<Group> {
  const run = sandboxed(options.argv, options.cwd, options.env)
  const [command = '', ...args] = run.argv
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: run.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  if (child.pid) options.onPid?.(child.pid)
  const exit = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()))
  for (const stream of [child.stdout, child.stderr]) {
    const writer = options.log.stream()
    stream.on('data', writer.write)
    stream.on('end', writer.end)
  }
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve)
    child.once('error', (error) => reject(new Error(`cannot start ${command}: ${error.message}`)))
  })
  return { pid: child.pid as number, exit, closed }
}

type ProcStat = {
  pid: number
  state: string
  pgrp: number
  /** Field 22: when the process started, in clock ticks after boot. */
  startTicks: string
  /** CPU time (user + system), in clock ticks. */
  cpuTicks: number
}

/** Linux fixes the clock tick userspace sees (USER_HZ) at 100 per second. */
const TICKS_PER_SECOND = 100

function readStat(pid: number): ProcStat | null {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
  // Field 2 (the command name) may hold spaces and parentheses: count from the last ')'.
  // fields[0] is field 3, so field n is fields[n - 3].
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  return {
    pid,
    state: fields[0] ?? '',
    pgrp: Number(fields[2]),
    startTicks: fields[19] ?? '',
    cpuTicks: Number(fields[11]) + Number(fields[12]),
  }
}

export const startTicks = (pid: number): string | null => readStat(pid)?.startTicks ?? null

/** Live (non-zombie) processes of a group. */
export function members(pgid: number): ProcStat[] {
  const found: ProcStat[] = []
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    const stat = readStat(pid)
    if (stat && stat.pgrp === pgid && stat.state !== 'Z') found.push(stat)
  }
  return found
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false
  }
  return members(pgid).length > 0
}

/**
 * Whether `pgid` is still the group we started: its leader with the recorded start time, or, the
 * leader gone, members left in its group (Linux hands out no pid that still names a group).
 */
export function ours(pgid: number, ticks: string | null): boolean {
  if (ticks === null) return false
  const leader = readStat(pgid)
  if (leader) return leader.startTicks === ticks
  return members(pgid).length > 0
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal)
  } catch {}
}

/** Resolves true once nothing of the group is left, false at the deadline. */
async function waitGone(pgid: number, ms: number, leaderExit?: Promise<unknown>): Promise<boolean> {
  const deadline = Date.now() + ms
  // Our own child: its exit event comes sooner than any polling would notice.
  if (leaderExit) await Promise.race([leaderExit, pause(ms)])
  while (groupAlive(pgid)) {
    if (Date.now() >= deadline) return false
    await pause(20)
  }
  return true
}

/** SIGTERM to the whole group, SIGKILL to whatever is left of it after `graceMs`. */
export async function stopGroup(
  pgid: number,
  graceMs: number,
  leaderExit?: Promise<unknown>,
): Promise<void> {
  signalGroup(pgid, 'SIGTERM')
  if (await waitGone(pgid, graceMs, leaderExit)) return
  signalGroup(pgid, 'SIGKILL')
  await waitGone(pgid, 5000)
}

/** CPU seconds and resident bytes of a group, summed over its members. */
export function usage(pgid: number): { cpuSeconds: number; memoryBytes: number } {
  let cpu = 0
  let memory = 0
  for (const member of members(pgid)) {
    cpu += member.cpuTicks
    try {
      const rss = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${member.pid}/status`, 'utf8'))
      memory += Number(rss?.[1] ?? 0) * 1024
    } catch {}
  }
  return { cpuSeconds: cpu / TICKS_PER_SECOND, memoryBytes: memory }
}

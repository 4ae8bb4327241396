// Real processes for tests: `node bin/toehold.ts …` with its JSON log lines collected and
// awaitable by predicate (no sleeps), temp dirs removed at exit, and a relay started that way.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Waitable } from './wait.ts'

export const ROOT = new URL('../..', import.meta.url).pathname
export const BIN = join(ROOT, 'bin/toehold.ts')
/** A valid (≥ 24 characters) registration token for relays started by tests. */
export const REGISTRATION_TOKEN = 'test-registration-token-0123456789'

const cleanups: (() => void)[] = []
/** Processes started here that have not exited yet. */
const running = new Set<Proc>()
process.on('exit', () => {
  for (const cleanup of cleanups.reverse()) cleanup()
})

/** A fresh directory under the OS temp dir, removed when the test process exits. */
export function tempDir(prefix = 'toehold-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export type LogLine = Record<string, unknown> & { msg?: string; level?: number }

export type Proc = {
  child: ChildProcess
  lines: LogLine[]
  stderr: string
  /** Resolves with the first log line (past or future) matching; rejects if the process exits first. */
  waitFor(match: (line: LogLine) => boolean, what?: string): Promise<LogLine>
  /** Resolves with the exit code / signal; immediately if it already exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/**
 * `command`: how to run toehold; the sources by default, an installed package's bin in
 * test/package, or the sources under a wrapper (bwrap with a small tmpfs for a full disk).
 */
export function spawnToehold(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  command: string[] = [process.execPath, BIN],
): Proc {
  const [program, ...prefix] = command as [string, ...string[]]
  const child = spawn(program, [...prefix, ...args], {
    cwd: ROOT,
    env: { ...process.env, TOEHOLD_LOG_JSON: '1', TOEHOLD_LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const log = new Waitable<LogLine>()
  const proc: Proc = {
    child,
    lines: log.items,
    stderr: '',
    exited: new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    ),
    waitFor(match, what = 'log line') {
      const early = proc.exited.then(({ code, signal }): never => {
        throw new Error(
          `process exited (${code ?? signal}) before ${what}\n${proc.stderr}\n${log.items.map((l) => JSON.stringify(l)).join('\n')}`,
        )
      })
      return log.untilOr(match, early)
    },
    kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return proc.exited
    },
  }
  createInterface({ input: child.stdout }).on('line', (text) => {
    let line: LogLine
    try {
      line = JSON.parse(text)
    } catch {
      line = { msg: text }
    }
    log.push(line)
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    proc.stderr += chunk
  })
  cleanups.push(() => child.kill('SIGKILL'))
  running.add(proc)
  proc.exited.then(() => running.delete(proc))
  return proc
}

/**
 * Kills (SIGKILL) every process started here that still runs. For an `after` hook: a failed test
 * that left a relay or agent behind would otherwise keep the test file from ever exiting.
 */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((proc) => proc.kill('SIGKILL')))
}

export type RelayProc = Proc & { url: string; dataDir: string }

export async function startRelay(
  options: { dataDir?: string; env?: NodeJS.ProcessEnv; args?: string[]; command?: string[] } = {},
): Promise<RelayProc> {
  const dataDir = options.dataDir ?? join(tempDir('toehold-relay-'), 'data')
  const proc = spawnToehold(
    ['relay', '--host', '127.0.0.1', '--port', '0', '--data', dataDir, ...(options.args ?? [])],
    {
      RELAY_REGISTRATION_TOKEN: REGISTRATION_TOKEN,
      ...options.env,
    },
    options.command,
  )
  const ready = await proc.waitFor((line) => line.msg === 'relay listening', 'relay listening')
  return Object.assign(proc, { url: ready.url as string, dataDir })
}

// The facts `toehold doctor` reports, each found the plain way (run the tool, stat the file, ask
// the relay, read /proc): no agent state involved, so each can be tested on its own.
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** `git --version` → "2.39.5"; null when the tool is not on `path` or does not run. */
export async function toolVersion(
  tool: string,
  path = process.env.PATH ?? '',
): Promise<string | null> {
  try {
    const { stdout } = await run(tool, ['--version'], {
      env: { PATH: path },
      timeout: 5_000,
      encoding: 'utf8',
    })
    return /\d+\.\d+(\.\d+)?/.exec(stdout)?.[0] ?? stdout.trim().slice(0, 40)
  } catch {
    return null
  }
}

/** Whether bubblewrap runs here: installed, and unprivileged user namespaces allowed. */
export async function sandboxWorks(path = process.env.PATH ?? ''): Promise<string | null> {
  try {
    await run('bwrap', ['--ro-bind', '/', '/', '--dev', '/dev', '--unshare-all', 'true'], {
      env: { PATH: path },
      timeout: 5_000,
    })
    return null
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string }
    if (failure.code === 'ENOENT') return 'bwrap is not installed'
    return `bwrap does not run: ${(failure.stderr ?? failure.message).trim().split('\n')[0]}`
  }
}

/**
 * What is wrong with a secret's file mode: anything readable or writable by group or others, or
 * owned by someone else. null when it is private to this user.
 */
export function notPrivate(path: string): string | null {
  let stat: ReturnType<typeof statSync>
  try {
    stat = statSync(path)
  } catch {
    return null
  }
  const mode = (stat.mode & 0o777).toString(8).padStart(3, '0')
  if (typeof process.getuid === 'function' && stat.uid !== process.getuid())
    return `${path} belongs to uid ${stat.uid}, not to the agent's user`
  if (stat.mode & 0o077) return `${path} is mode ${mode}: others can read it`
  return null
}

/** How far the relay's clock (its `Date` header) is from ours, in ms; positive: theirs is ahead. */
export async function clockSkew(httpUrl: string): Promise<number> {
  const sent = Date.now()
  const response = await fetch(`${httpUrl.replace(/\/+$/, '')}/health`, {
    signal: AbortSignal.timeout(5_000),
  })
  const received = Date.now()
  await response.body?.cancel()
  const date = Date.parse(response.headers.get('date') ?? '')
  if (Number.isNaN(date)) throw new Error('the relay sent no Date header')
  // Date has whole seconds: its true time lies in [date, date + 1 s).
  return date + 500 - (sent + received) / 2
}

/** The pids holding a listening TCP socket on `port` (Linux: /proc/net/tcp*; [] when none). */
export function portHolders(port: number): { listening: boolean; pids: number[] } {
  const inodes = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try {
      text = readFileSync(table, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 9 is the socket's inode.
      const local = fields[1]?.split(':')[1]
      if (fields[3] === '0A' && local && Number.parseInt(local, 16) === port && fields[9])
        inodes.add(`socket:[${fields[9]}]`)
    }
  }
  if (inodes.size === 0) return { listening: false, pids: [] }
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${entry}/fd`)
    } catch {
      continue
    }
    const holds = fds.some((fd) => {
      try {
        return inodes.has(readlinkSync(`/proc/${entry}/fd/${fd}`))
      } catch {
        return false
      }
    })
    if (holds) pids.push(Number(entry))
  }
  return { listening: true, pids }
}

/** The process group of `pid` (field 5 of /proc/PID/stat), or null once it is gone. */
export function processGroup(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2])
  } catch {
    return null
  }
}

/** The command line of `pid`, for naming a stranger holding an app's port. */
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim().slice(0, 80)
  } catch {
    return '?'
  }
}

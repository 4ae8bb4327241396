// The sandbox every process of an app runs in (its install, predeploy and the app itself): with
// bubblewrap, a fresh mount, pid, ipc and user namespace that sees the system read-only, the
// directories holding the programs it may run (read-only), its own release (read-write), its
// logs (read-only), its own HOME and a private /tmp; nothing else of TOEHOLD_HOME (keys, state,
// the API key, other apps) and no other process. The network stays the host's: apps need it.
// Without bubblewrap (or one that cannot make namespaces here) processes run as before and the
// agent says so.
import { spawnSync } from 'node:child_process'
import {
  accessSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  readlinkSync,
  realpathSync,
} from 'node:fs'
import { delimiter, dirname, isAbsolute, join } from 'node:path'
import { sandboxEnv } from './child-env.ts'
import { type AppDirs, releaseDirs } from './home.ts'

/** How apps are isolated from the agent: what `status`, the dashboard and the start log report. */
export type Isolation = 'bubblewrap' | 'none'

/** The system, read-only. Merged-/usr systems have symlinks here: they stay symlinks. */
const SYSTEM = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt']

const NAMESPACES = [
  '--unshare-user',
  '--unshare-pid',
  '--unshare-ipc',
  '--unshare-uts',
  '--unshare-cgroup-try',
  // The command itself is the namespace's pid 1: no bubblewrap init in between, which (with the
  // user namespace's helper) would leave zombies in the group that a host init may never reap.
  '--as-pid-1',
  // As root bubblewrap keeps capabilities inside unless told: none, whoever runs the agent.
  '--cap-drop',
  'ALL',
]

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!isAbsolute(dir)) continue
    try {
      accessSync(join(dir, name), constants.X_OK)
      return join(dir, name)
    } catch {}
  }
  return null
}

/** bubblewrap's path when it can make its namespaces on this machine, else null. */
function probe(): string | null {
  const bwrap = onPath('bwrap')
  if (!bwrap) return null
  const tried = spawnSync(
    bwrap,
    [...NAMESPACES, '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--', 'true'],
    { stdio: 'ignore', timeout: 10_000 },
  )
  return tried.status === 0 ? bwrap : null
}

let bwrap: string | null | undefined
let enabled = true

/**
 * Decides once per agent process: `off` runs apps unsandboxed (a measurement, or a machine where
 * the operator wants it). Returns what is in effect.
 */
export function useSandbox(mode: 'auto' | 'off'): Isolation {
  enabled = mode === 'auto'
  return isolation()
}

export function isolation(): Isolation {
  if (!enabled) return 'none'
  bwrap ??= probe()
  return bwrap ? 'bubblewrap' : 'none'
}

const mount = (path: string): string[] => {
  if (!existsSync(path)) return []
  const stat = lstatSync(path)
  return stat.isSymbolicLink() ? ['--symlink', readlinkSync(path), path] : ['--ro-bind', path, path]
}

/**
 * Directories holding the programs the app may run: PATH's, and where `argv0` and bun really are
 * (a PATH entry such as node_modules/.bin holds only symlinks to them).
 */
function programDirs(argv0: string): string[] {
  const dirs = new Set<string>()
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (isAbsolute(dir) && existsSync(dir)) dirs.add(realpathSync(dir))
  }
  for (const program of [argv0, onPath('bun')]) {
    if (program && isAbsolute(program) && existsSync(program))
      dirs.add(dirname(realpathSync(program)))
  }
  const within = (dir: string, parent: string) => dir === parent || dir.startsWith(`${parent}/`)
  // Already there (the system), or never a place for programs: / and /tmp would bring the
  // host's temp files (and any directory above TOEHOLD_HOME) into view.
  return [...dirs].filter(
    (dir) => dir !== '/' && !within(dir, '/tmp') && !SYSTEM.some((system) => within(dir, system)),
  )
}

function bwrapArgv(dirs: AppDirs, argv: string[]): string[] {
  const above = (dir: string) => dirs.root === dir || dirs.root.startsWith(`${dir}/`)
  const args = [...NAMESPACES, '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp']
  for (const path of SYSTEM) args.push(...mount(path))
  // /etc/resolv.conf may point into /run (systemd-resolved): name lookups need its target.
  if (existsSync('/etc/resolv.conf')) {
    const resolv = realpathSync('/etc/resolv.conf')
    if (!resolv.startsWith('/etc/')) args.push('--ro-bind', dirname(resolv), dirname(resolv))
  }
  for (const dir of programDirs(argv[0] ?? '')) if (!above(dir)) args.push('--ro-bind', dir, dir)
  // Whatever of TOEHOLD_HOME a bind above may have brought in is hidden again; then the app's own.
  args.push('--tmpfs', dirs.root)
  args.push('--bind', dirs.release, dirs.release)
  args.push('--ro-bind', dirs.logs, dirs.logs)
  args.push('--bind', dirs.home, dirs.home)
  args.push('--chdir', dirs.release, '--', ...argv)
  return args
}

/**
 * What to spawn for `argv` in `cwd` (a release directory): bubblewrap around it with the app's
 * directories, and its environment for inside; or, without a sandbox, the same command as given.
 */
export function sandboxed(
  argv: string[],
  cwd: string,
  env: Record<string, string>,
): { argv: string[]; env: Record<string, string> } {
  if (isolation() === 'none' || !bwrap) return { argv, env }
  const dirs = releaseDirs(cwd)
  if (!dirs) throw new Error(`${cwd} is not an app release: refusing to run outside the sandbox`)
  for (const dir of [dirs.logs, dirs.home]) mkdirSync(dir, { recursive: true })
  return { argv: [bwrap, ...bwrapArgv(dirs, argv)], env: sandboxEnv(env, dirs.home) }
}

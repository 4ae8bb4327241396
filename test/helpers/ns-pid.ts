// Apps run in a pid namespace of their own (the sandbox): the pid an app reports is its pid in
// there. Tests that check processes on the host translate it through /proc/<pid>/status NSpid
// (the pid in each namespace, outermost first), finding the app by the port it listens on.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

const status = (pid: number) => {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8')
    const field = (name: string) => new RegExp(`^${name}:\\s+(.+)$`, 'm').exec(text)?.[1] ?? ''
    return { nspid: field('NSpid').split(/\s+/).map(Number), ppid: Number(field('PPid')) }
  } catch {
    return null
  }
}

const pids = () =>
  readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)

/** Socket inodes listening on `port` (IPv4 and IPv6). */
function listening(port: number): Set<string> {
  const inodes = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try {
      text = readFileSync(table, 'utf8')
    } catch {}
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      const local = fields[1]?.split(':')[1]
      if (local && Number.parseInt(local, 16) === port && fields[3] === '0A')
        inodes.add(fields[9] ?? '')
    }
  }
  return inodes
}

/** The host pid of the process listening on `port` whose own namespace calls it `inner`. */
export function hostPid(port: number, inner: number): number | null {
  const sockets = listening(port)
  for (const pid of pids()) {
    if (status(pid)?.nspid.at(-1) !== inner) continue
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`)
        if (sockets.has(/^socket:\[(\d+)\]$/.exec(link)?.[1] ?? '')) return pid
      }
    } catch {}
  }
  return null
}

/** The host pid of `parent`'s child that its namespace calls `inner`. */
export function hostChild(parent: number, inner: number): number | null {
  return (
    pids().find((pid) => {
      const s = status(pid)
      return s?.ppid === parent && s.nspid.at(-1) === inner
    }) ?? null
  )
}

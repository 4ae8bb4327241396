// What the kernel says a process used: CPU seconds (user + system) and resident memory.
// Linux only (/proc), which is where the bench runs.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** User + system CPU time of `pid` so far, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after "(comm)": state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / TICKS
}

/** Resident set size of `pid`, in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]
  if (!kib) throw new Error(`no VmRSS for ${pid}`)
  return Number(kib) * 1024
}

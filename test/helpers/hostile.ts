// Tools for the relay's hostile-load tests: a process's memory from /proc, a sender that reads
// the answer while it is still writing (a relay may refuse a large body early), and raw sockets.
import { readFileSync, writeFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'

const MiB = 1024 ** 2

/** Current and peak resident memory of a process, in bytes, from /proc/<pid>/status. */
export function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1])
  return { rss: kib('VmRSS') * 1024, peak: kib('VmHWM') * 1024 }
}

/** Resets the process's peak RSS (VmHWM) to its current RSS (see proc(5), clear_refs). */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5')
}

export const mib = (bytes: number) => Math.round((bytes / MiB) * 10) / 10

export type Answer = { status: number; headers: Record<string, string>; body: string }

/**
 * POSTs `body` with Content-Length over a raw socket and resolves with the answer as soon as it
 * is complete, even if the relay stopped reading (it may refuse early and drain or close).
 */
export function post(
  url: string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const target = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname)
    let received = ''
    const parse = () => {
      const head = /^HTTP\/1\.1 (\d{3}) [^\r]*\r\n([\s\S]*?)\r\n\r\n/.exec(received)
      if (!head) return false
      const fields: Record<string, string> = {}
      for (const line of (head[2] as string).split('\r\n')) {
        const at = line.indexOf(':')
        fields[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim()
      }
      const length = Number(fields['content-length'] ?? 0)
      const start = head[0].length
      if (received.length < start + length) return false
      resolve({
        status: Number(head[1]),
        headers: fields,
        body: received.slice(start, start + length),
      })
      socket.destroy()
      return true
    }
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      received += chunk
      parse()
    })
    socket.on('error', () => {}) // EPIPE / ECONNRESET once the relay stopped reading
    socket.on('close', () => parse() || reject(new Error(`no answer: ${received.slice(0, 200)}`)))
    const extra = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('')
    socket.write(
      `POST ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Length: ${body.length}\r\n${extra}\r\n`,
    )
    socket.write(body)
  })
}

/** Opens a TCP connection and waits until it is established. */
export function openSocket(url: string): Promise<Socket> {
  const target = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname)
    socket.once('connect', () => resolve(socket))
    socket.once('error', reject)
  })
}

/** The relay's queue as stored: one row per delivery id with its stored bytes. */
export function storedQueue(dataDir: string): { id: string; bytes: number }[] {
  const db = new DatabaseSync(join(dataDir, 'relay.db'), { readOnly: true })
  try {
    return db.prepare('SELECT id, bytes FROM queue ORDER BY seq').all() as {
      id: string
      bytes: number
    }[]
  } finally {
    db.close()
  }
}

// Size-capped log files written line by line, each line also handed to a listener (the live
// stream). A build log stops at its cap with a note; an app's log rotates to `<file>.1`.
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs'
import { StringDecoder } from 'node:string_decoder'

const LOG_CAP = 5 * 1024 * 1024
/** A "line" without a newline is cut here, so a progress bar cannot grow one without bound. */
const MAX_LINE = 64 * 1024

export type LogFile = {
  /** A writer for one output stream of a process: it keeps that stream's partial line. */
  stream(): { write(chunk: Buffer): void; end(): void }
  /** A whole line, e.g. the agent's own `$ bun install`. */
  line(text: string): void
  close(): void
}

export function openLog(
  path: string,
  options: { rotate: boolean; onLine: (line: string) => void; maxBytes?: number },
): LogFile {
  const maxBytes = options.maxBytes ?? LOG_CAP
  let fd = openSync(path, 'a')
  let size = statSync(path).size
  let truncated = false

  const line = (text: string) => {
    options.onLine(text)
    const bytes = Buffer.from(`${text}\n`)
    if (size + bytes.length > maxBytes) {
      if (options.rotate) {
        closeSync(fd)
        renameSync(path, `${path}.1`)
        fd = openSync(path, 'a')
        size = 0
      } else {
        if (!truncated) writeSync(fd, `[toehold] log cut at ${maxBytes} bytes\n`)
        truncated = true
        return
      }
    }
    writeSync(fd, bytes)
    size += bytes.length
  }

  return {
    line,
    stream() {
      const decoder = new StringDecoder('utf8')
      let rest = ''
      const take = (text: string) => {
        rest += text
        let end = rest.indexOf('\n')
        while (end !== -1) {
          line(rest.slice(0, end).replace(/\r$/, ''))
          rest = rest.slice(end + 1)
          end = rest.indexOf('\n')
        }
        if (rest.length > MAX_LINE) {
          line(rest)
          rest = ''
        }
      }
      return {
        write: (chunk) => take(decoder.write(chunk)),
        end() {
          take(decoder.end())
          if (rest) line(rest)
          rest = ''
        },
      }
    },
    close: () => closeSync(fd),
  }
}

/** The last `count` lines of a log (all of them when null), including its rotated part. */
export function readLog(path: string, count: number | null): string[] {
  const text = [`${path}.1`, path]
    .filter((file) => existsSync(file))
    .map((file) => readFileSync(file, 'utf8'))
    .join('')
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  return count === null ? lines : lines.slice(-count)
}

// One HTTP/1.1 exchange over a plain socket, for the CLI's one-shot JSON calls to the agent's
// API. node:http and fetch each add ~15 MB RSS and tens of milliseconds to a command that is done
// in 50 (bench/footprint.ts); a request with `Connection: close` read to its end needs neither.
// (The request is written, not ended: a server may drop a half-closed socket before it answers.)
// Streams (`--follow`) still use fetch: they run for minutes, where that cost does not matter.

import type { Socket } from 'node:net'
import { connect as tcp } from 'node:net'

/** More than any answer of the API; a bigger one is not the agent talking. */
const MAX_RESPONSE = 32 * 1024 * 1024

export type Exchange = { status: number; body: string }

/** `Transfer-Encoding: chunked` → the bytes it carries. */
function unchunk(data: Buffer): Buffer {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const eol = data.indexOf('\r\n', at)
    if (eol < 0) throw new Error('truncated chunked body')
    const size = Number.parseInt(data.subarray(at, eol).toString('latin1'), 16)
    if (!Number.isInteger(size) || size < 0) throw new Error('bad chunk size')
    if (size === 0) return Buffer.concat(parts)
    parts.push(data.subarray(eol + 2, eol + 2 + size))
    at = eol + 2 + size + 2
  }
}

/** A plain socket for http:, TLS (loaded only then) for https:. */
async function open(url: URL): Promise<{ socket: Socket; ready: string }> {
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (url.protocol !== 'https:')
    return { socket: tcp({ host, port: Number(url.port || 80) }), ready: 'connect' }
  const { connect } = await import('node:tls')
  return {
    socket: connect({ host, port: Number(url.port || 443), servername: host }),
    ready: 'secureConnect',
  }
}

export async function exchange(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Exchange> {
  const payload = body === undefined ? undefined : Buffer.from(body)
  const head = [
    `${method} ${url.pathname}${url.search} HTTP/1.1`,
    `host: ${url.host}`,
    'connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ...(payload ? [`content-length: ${payload.length}`] : []),
    '',
    '',
  ].join('\r\n')
  const { socket, ready } = await open(url)
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    socket.setTimeout(60_000, () => socket.destroy(new Error('the agent did not answer in 60 s')))
    socket.on(ready, () =>
      socket.write(payload ? Buffer.concat([Buffer.from(head), payload]) : head),
    )
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_RESPONSE) socket.destroy(new Error('answer too large'))
      else chunks.push(chunk)
    })
    socket.on('error', reject)
    socket.on('end', () => {
      try {
        const data = Buffer.concat(chunks)
        const split = data.indexOf('\r\n\r\n')
        if (split < 0) throw new Error('no HTTP answer')
        const lines = data.subarray(0, split).toString('latin1').split('\r\n')
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1])
        if (!status) throw new Error('no HTTP status line')
        const header = (name: string) =>
          lines
            .find((line) => line.toLowerCase().startsWith(`${name}:`))
            ?.slice(name.length + 1)
            .trim()
        let rest: Buffer = data.subarray(split + 4)
        if (header('transfer-encoding')?.toLowerCase() === 'chunked') rest = unchunk(rest)
        else {
          const length = header('content-length')
          if (length !== undefined) rest = rest.subarray(0, Number(length))
        }
        resolve({ status, body: rest.toString('utf8') })
      } catch (error) {
        reject(error)
      }
    })
  })
}

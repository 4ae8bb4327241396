// A raw HTTP sender: exact header lines and chunked uploads, and JSON posts. Each request has a
// connection of its own: a pooled keep-alive socket can be closed by the server's idle timer just
// as a test, late from a busy event loop, writes its next request on it ("other side closed").
import { request } from 'node:http'

export type Response = { status: number; headers: Record<string, string | string[]>; body: Buffer }

export function send(
  url: string,
  options: {
    method?: string
    /** Array values become repeated header lines, names are sent as written. */
    headers?: Record<string, string | string[]>
    /** An array is written chunk by chunk without Content-Length (chunked encoding). */
    body?: Buffer | Buffer[]
    /** Milliseconds until the request is abandoned (rejects with a TimeoutError). */
    timeout?: number
  } = {},
): Promise<Response> {
  const target = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: options.method ?? 'POST',
        headers: options.headers ?? {},
        agent: false,
        ...(options.timeout === undefined ? {} : { signal: AbortSignal.timeout(options.timeout) }),
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers as Record<string, string | string[]>,
            body: Buffer.concat(chunks),
          }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    const { body } = options
    if (Array.isArray(body)) {
      for (const chunk of body) req.write(chunk)
      req.end()
    } else {
      // Node frames a body on DELETE (and GET, OPTIONS) only when told its length.
      if (body && !req.hasHeader('content-length')) req.setHeader('content-length', body.length)
      req.end(body)
    }
  })
}

/** POSTs a small JSON webhook. */
export const postJson = (url: string, payload: unknown = { zen: 'hi' }) =>
  send(url, {
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(payload)),
  })

export const json = (response: Response): unknown => JSON.parse(response.body.toString('utf8'))

// The proxy in-process, against a real node:http upstream over real sockets: bodies stream both
// ways without buffering, upstream connections are reused, hop-by-hop headers go, 503 by Accept
// with Retry-After, 502 when the release breaks before answering, a cut when it breaks mid-answer.
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import pino from 'pino'
import { createAgentMetrics } from '../agent/core/metrics.ts'
import { createServing } from '../agent/serve/listeners.ts'
import { freePort } from './helpers/agent.ts'

let handler: (req: IncomingMessage, res: ServerResponse) => void = () => {}
const upstream = createServer((req, res) => handler(req, res))
const connections: unknown[] = []
upstream.on('connection', (socket) => connections.push(socket))
const serving = createServing({ log: pino({ level: 'silent' }), metrics: createAgentMetrics() })
let port: number

before(async () => {
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  port = await freePort()
  await serving.claim({ name: 'app', port, bind: '127.0.0.1', hostname: null })
})
after(async () => {
  await serving.close()
  upstream.closeAllConnections()
  upstream.close()
})

const live = () => serving.switchTo('app', (upstream.address() as AddressInfo).port)

function call(
  options: { method?: string; path?: string; headers?: Record<string, string> },
  body?: (req: ReturnType<typeof request>) => void,
) {
  return new Promise<{
    status: number
    headers: Record<string, unknown>
    body: string
    error?: string
  }>((resolve) => {
    const req = request({ host: '127.0.0.1', port, agent: false, ...options }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => {
        text += chunk
      })
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
      )
      res.on('error', (error: NodeJS.ErrnoException) =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: text,
          error: error.code ?? error.message,
        }),
      )
    })
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ status: 0, headers: {}, body: '', error: error.code ?? error.message }),
    )
    if (body) body(req)
    else req.end()
  })
}

test('503 while nothing is live: JSON for programs, HTML for browsers, with Retry-After', async () => {
  const json = await call({ headers: { accept: 'application/json' } })
  assert.equal(json.status, 503)
  assert.equal(json.headers['retry-after'], '5')
  assert.deepEqual(JSON.parse(json.body), {
    error: 'app is not serving right now: it has not been deployed yet',
    app: 'app',
  })
  const page = await call({ headers: { accept: 'text/html,application/xhtml+xml' } })
  assert.equal(page.status, 503)
  assert.match(page.headers['content-type'] as string, /^text\/html/)
  assert.match(page.body, /<h1>503 Unavailable<\/h1>/)
})

test('a large upload streams through: the release reads it while it is still being sent', async () => {
  live()
  let firstChunkBeforeEnd = false
  let clientDone = false
  handler = (req, res) => {
    let bytes = 0
    req.on('data', (chunk: Buffer) => {
      if (bytes === 0) firstChunkBeforeEnd = !clientDone
      bytes += chunk.length
    })
    req.on('end', () => res.end(String(bytes)))
  }
  const chunk = Buffer.alloc(1024 * 1024, 97)
  const answer = await call({ method: 'POST', path: '/upload' }, (req) => {
    let sent = 0
    const next = () => {
      while (sent < 32) {
        sent += 1
        if (!req.write(chunk)) return void req.once('drain', next)
      }
      clientDone = true
      req.end()
    }
    next()
  })
  assert.equal(answer.body, String(32 * 1024 * 1024))
  assert.ok(firstChunkBeforeEnd, 'not buffered: the release saw the body before it was all sent')
})

test('keep-alive to the release; hop-by-hop headers dropped both ways', async () => {
  live()
  const before = connections.length
  handler = (req, res) => {
    res.writeHead(200, {
      'keep-alive': 'timeout=5',
      'x-hop': 'no',
      connection: 'x-hop',
      'x-end': 'yes',
    })
    res.end(JSON.stringify(req.headers))
  }
  const seen = []
  for (let i = 0; i < 5; i++) {
    const answer = await call({
      headers: { te: 'trailers', 'proxy-authorization': 'Basic eA==', 'x-app': 'kept' },
    })
    assert.equal(answer.headers['x-end'], 'yes')
    assert.equal(answer.headers['x-hop'], undefined)
    seen.push(JSON.parse(answer.body))
  }
  assert.ok(connections.length - before <= 1, 'one upstream connection for five requests')
  for (const headers of seen) {
    assert.equal(headers.te, undefined)
    assert.equal(headers['proxy-authorization'], undefined)
    assert.equal(headers['x-app'], 'kept')
  }
})

test('502 when the release breaks before answering; a cut when it breaks mid-answer', async () => {
  live()
  handler = (req) => req.socket.destroy()
  const post = await call({ method: 'POST', path: '/x' }, (req) => req.end('body'))
  assert.equal(post.status, 502)
  assert.deepEqual(JSON.parse(post.body), {
    error: 'app broke the connection before answering',
    app: 'app',
  })
  handler = (_req, res) => {
    res.writeHead(200, { 'content-length': '100' })
    res.write('partial')
    setImmediate(() => res.socket?.destroy())
  }
  const cut = await call({})
  assert.equal(cut.status, 200)
  assert.ok(cut.error, 'the client sees the answer cut, not a short body passed off as whole')
})

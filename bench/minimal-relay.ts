// The latency baseline: the least a relay can do — HTTP in, one WebSocket frame to an agent in
// another process, its reply back out — with nothing else (no auth, queue, limits or checks).
//   node bench/minimal-relay.ts relay   → prints {"port": N}, serves POSTs and the agent socket
//   node bench/minimal-relay.ts agent URL → answers every frame at once
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import WebSocket, { WebSocketServer } from 'ws'

const ANSWER = Buffer.from('{"status":"ignored"}')

if (process.argv[2] === 'agent') {
  const socket = new WebSocket(process.argv[3] as string, { perMessageDeflate: false })
  // Frame: uint32 request id | body. The answer keeps the id.
  socket.on('message', (data: Buffer) => socket.send(Buffer.concat([data.subarray(0, 4), ANSWER])))
  socket.on('open', () => process.stdout.write('{"connected":true}\n'))
} else {
  const waiting = new Map<number, ServerResponse>()
  let agent: WebSocket | null = null
  let next = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const id = ++next >>> 0
      const head = Buffer.alloc(4)
      head.writeUInt32BE(id)
      waiting.set(id, res)
      agent?.send(Buffer.concat([head, ...chunks]))
    })
  })
  new WebSocketServer({ server, perMessageDeflate: false }).on('connection', (socket) => {
    agent = socket
    socket.on('message', (data: Buffer) => {
      const id = data.readUInt32BE(0)
      waiting.get(id)?.writeHead(200, { 'content-type': 'application/json' }).end(data.subarray(4))
      waiting.delete(id)
    })
  })
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`)
  })
}
process.on('SIGTERM', () => process.exit(0))

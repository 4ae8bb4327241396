// A stand-in relay for agent-side tests: accepts the agent's tunnel, lets the test send exact
// frames (including redeliveries of one id) and await the agent's results.
import { createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { decodeJwt, type JWK } from 'jose'
import { type WebSocket, WebSocketServer } from 'ws'
import { encodeFrame } from '../../shared/frame.ts'
import { type Delivery, parseMessage, type Result } from '../../shared/protocol.ts'
import { sealInPlace, sealingKey } from '../../shared/seal.ts'
import { Waitable } from './wait.ts'

export type FakeRelay = {
  url: string
  /** Every agent connection, in order. */
  sockets: Waitable<WebSocket>
  /** Resolves with the next agent connection (its instance id and sealing key). */
  nextConnection(): Promise<{ socket: WebSocket; instance: string; sealingJwk: JWK }>
  deliver(
    socket: WebSocket,
    delivery: Delivery,
    body: Buffer,
  ): Promise<{ result: Result; body: Buffer }>
  deliverSealed(
    socket: WebSocket,
    delivery: Delivery,
    body: Buffer,
    sealingJwk: JWK,
  ): Promise<{ result: Result; body: Buffer }>
  /** Sends raw bytes and resolves with the result for `id`. */
  sendRaw(socket: WebSocket, frame: Buffer, id: string): Promise<{ result: Result; body: Buffer }>
  /** Sends deliveries in one TCP write, so the agent reads them together; resolves with each result. */
  deliverTogether(
    socket: WebSocket,
    deliveries: { delivery: Delivery; body: Buffer }[],
  ): Promise<{ result: Result; body: Buffer }[]>
  close(): Promise<void>
}

export async function startFakeRelay(
  options: {
    /** Send `welcome` on each connection (default); off to send other frames first. */
    welcome?: boolean
    /** Answer pings (default); off plays a relay that went silent. */
    autoPong?: boolean
  } = {},
): Promise<FakeRelay> {
  const server = createServer()
  const wss = new WebSocketServer({ server, path: '/connect', autoPong: options.autoPong ?? true })
  const sockets = new Waitable<WebSocket>()
  const waiting: ((connection: Awaited<ReturnType<FakeRelay['nextConnection']>>) => void)[] = []
  const results = new Map<string, (value: { result: Result; body: Buffer }) => void>()

  wss.on('connection', (socket, req) => {
    const claims = decodeJwt((req.headers.authorization ?? '').replace(/^Bearer /, ''))
    const instance = claims.sub as string
    socket.on('message', (data: Buffer) => {
      const parsed = parseMessage(data)
      if (parsed?.message.t === 'result')
        results.get(parsed.message.id)?.({ result: parsed.message, body: parsed.body })
    })
    sockets.push(socket)
    if (options.welcome !== false)
      socket.send(encodeFrame({ t: 'welcome', v: 1, instance, publicUrl: url, queued: 0 }))
    waiting.shift()?.({ socket, instance, sealingJwk: claims.seal as JWK })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const sendRaw: FakeRelay['sendRaw'] = (socket, frame, id) =>
    new Promise((resolve) => {
      results.set(id, resolve)
      socket.send(frame)
    })

  return {
    url,
    sockets,
    nextConnection: () => new Promise((resolve) => waiting.push(resolve)),
    deliver: (socket, delivery, body) => sendRaw(socket, encodeFrame(delivery, body), delivery.id),
    async deliverSealed(socket, delivery, body, sealingJwk) {
      const sealed = encodeFrame(delivery, body)
      const { head, tag } = await sealInPlace(sealed, await sealingKey(sealingJwk))
      return sendRaw(
        socket,
        encodeFrame(
          { t: 'sealed', id: delivery.id, receivedAt: delivery.receivedAt },
          Buffer.concat([head, sealed, tag]),
        ),
        delivery.id,
      )
    },
    sendRaw,
    deliverTogether(socket, deliveries) {
      // ws writes each message on its own; corking the TCP socket underneath joins them.
      const tcp = (socket as unknown as { _socket: Socket })._socket
      tcp.cork()
      const answers = deliveries.map(({ delivery, body }) =>
        sendRaw(socket, encodeFrame(delivery, body), delivery.id),
      )
      tcp.uncork()
      return Promise.all(answers)
    },
    async close() {
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

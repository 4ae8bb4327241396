// Connected agents: one tunnel per instance. Live deliveries go straight down the socket and
// wait for the agent's result; queued (sealed) ones are pumped in order after `welcome`.
import type { Logger } from 'pino'
import type { WebSocket } from 'ws'
import { allocFrame, encodeFrame, FrameError } from '../shared/frame.ts'
import { CLOSE, PROTOCOL_VERSION, parseMessage, SILENT_INTERVALS } from '../shared/protocol.ts'
import type { Budget, Lease } from './budget.ts'
import type { RelayMetrics } from './metrics.ts'
import type { Instance, Queued, Store } from './store.ts'

export type Reply = { status: number; headers: Record<string, string>; body: Buffer }

/** Sealed deliveries in flight to one agent at once, by count and bytes. */
const REPLAY_WINDOW = 16
const REPLAY_WINDOW_BYTES = 32 * 1024 ** 2
/** Live deliveries awaiting a result on one tunnel; past this, new ones are queued instead. */
const MAX_WAITING = 1024
/**
 * Bytes a tunnel's socket may have waiting to be written before nothing more is sent live: an
 * agent that does not read gets its deliveries queued instead of held in the relay's memory.
 */
const TUNNEL_BUFFER_BYTES = 4 * 1024 ** 2

type Session = {
  instance: Instance
  socket: WebSocket
  lastSeen: number
  /** Live deliveries awaiting the agent's result. */
  waiting: Map<string, (reply: Reply | null) => void>
  /** Live deliveries that timed out and were stored: already on this socket, never resend. */
  unanswered: Set<string>
  /** Sealed deliveries sent from the queue, awaiting their result: id → bytes. */
  replaying: Map<string, number>
  replayBytes: number
  pumping: boolean
  lastSeq: number
  /** Wakes the pump: a replay slot or budget freed up, a frame was written, the socket closed. */
  wake: (() => void) | null
}

export type Sessions = ReturnType<typeof createSessions>

export function createSessions(deps: {
  store: Store
  budget: Budget
  metrics: RelayMetrics
  log: Logger
  publicUrl: () => string
  heartbeatMs: number
}) {
  const { store, budget, metrics, log } = deps
  const sessions = new Map<string, Session>()

  // One timer for every tunnel: ping the live, drop the silent.
  const heartbeat = setInterval(() => {
    const deadline = Date.now() - deps.heartbeatMs * SILENT_INTERVALS
    for (const session of sessions.values()) {
      if (session.lastSeen >= deadline) session.socket.ping()
      else {
        // A silent peer would not answer a close handshake either (ws waits 30 s for one):
        // cut it off now so its deliveries are queued at once instead of waiting on a dead socket.
        log.warn({ instance: session.instance.id }, 'agent silent past the heartbeat deadline')
        session.socket.terminate()
      }
    }
  }, deps.heartbeatMs)
  heartbeat.unref()

  function onResult(session: Session, id: string, reply: Reply) {
    const settle = session.waiting.get(id)
    if (settle) return settle(reply)
    session.unanswered.delete(id)
    if (store.ack(session.instance.id, id)) metrics.deliveries.inc({ outcome: 'replayed' })
    const bytes = session.replaying.get(id)
    if (bytes !== undefined) {
      session.replaying.delete(id)
      session.replayBytes -= bytes
      session.wake?.()
    }
  }

  const sleep = (session: Session) =>
    new Promise<void>((resolve) => {
      session.wake = () => {
        session.wake = null
        resolve()
      }
    })

  /** A queued delivery as a `sealed` frame: its envelope copied in a part at a time. */
  function sealedFrame(row: Queued): Buffer {
    const { frame, bodyAt } = allocFrame(
      { t: 'sealed', id: row.id, receivedAt: row.receivedAt },
      row.bytes,
    )
    let at = bodyAt
    for (const part of store.sealedParts(row.seq)) {
      frame.set(part, at)
      at += part.length
    }
    if (at !== frame.length)
      throw new Error(`stored delivery ${row.id} is incomplete: left in the queue`)
    return frame
  }

  async function pump(session: Session) {
    if (session.pumping) return
    session.pumping = true
    const { socket } = session
    try {
      while (socket.readyState === socket.OPEN) {
        const room = REPLAY_WINDOW - session.replaying.size
        if (
          room <= 0 ||
          session.replayBytes >= REPLAY_WINDOW_BYTES ||
          socket.bufferedAmount >= TUNNEL_BUFFER_BYTES
        ) {
          await sleep(session)
          continue
        }
        const [row] = store.next(session.instance.id, session.lastSeq, 1)
        if (!row) break
        if (session.unanswered.has(row.id) || session.replaying.has(row.id)) {
          session.lastSeq = row.seq
          continue
        }
        // A row bigger than the whole budget (stored under a larger one) still goes, alone.
        const lease = budget.take(Math.min(row.bytes, budget.limit))
        if (!lease) {
          const woken = sleep(session)
          budget.whenFreed(() => session.wake?.())
          await woken
          continue
        }
        session.lastSeq = row.seq
        let frame: Buffer
        try {
          frame = sealedFrame(row)
        } catch (error) {
          lease.release()
          log.error(
            { instance: session.instance.id, err: (error as Error).message },
            'cannot replay a stored delivery',
          )
          continue
        }
        session.replaying.set(row.id, row.bytes)
        session.replayBytes += row.bytes
        socket.send(frame, () => {
          lease.release()
          session.wake?.()
        })
      }
    } finally {
      session.pumping = false
    }
  }

  function attach(instance: Instance, socket: WebSocket) {
    const session: Session = {
      instance,
      socket,
      lastSeen: Date.now(),
      waiting: new Map(),
      unanswered: new Set(),
      replaying: new Map(),
      replayBytes: 0,
      pumping: false,
      lastSeq: 0,
      wake: null,
    }
    const previous = sessions.get(instance.id)
    sessions.set(instance.id, session)
    if (previous) previous.socket.close(CLOSE.replaced, 'replaced by a newer connection')
    const seen = () => {
      session.lastSeen = Date.now()
    }
    socket.on('pong', seen)
    socket.on('message', (data: Buffer, isBinary) => {
      seen()
      try {
        if (!isBinary) throw new FrameError('text frame')
        const parsed = parseMessage(data)
        if (parsed?.message.t === 'result') {
          const { id, status, headers } = parsed.message
          onResult(session, id, { status, headers, body: parsed.body })
        } else if (parsed?.message.t === 'hello') {
          const { agent, v } = parsed.message
          // An agent older than this relay still works (frames only ever gain optional fields);
          // say which one, so its owner knows to upgrade it.
          if (v < PROTOCOL_VERSION)
            log.warn({ instance: instance.id, agent, protocol: v }, 'agent on an older protocol')
          else log.debug({ instance: instance.id, agent }, 'agent hello')
        }
      } catch (error) {
        log.warn(
          { instance: instance.id, err: (error as Error).message },
          'malformed frame from agent',
        )
        socket.close(CLOSE.protocolError, 'malformed frame')
      }
    })
    socket.on('error', (error) =>
      log.debug({ instance: instance.id, err: error.message }, 'agent socket error'),
    )
    socket.on('close', (code) => {
      if (sessions.get(instance.id) === session) sessions.delete(instance.id)
      for (const settle of session.waiting.values()) settle(null)
      session.wake?.()
      log.info({ instance: instance.id, code }, 'agent disconnected')
    })

    const queued = store.usage(instance.id).count
    socket.send(
      encodeFrame({
        t: 'welcome',
        v: PROTOCOL_VERSION,
        instance: instance.id,
        publicUrl: deps.publicUrl(),
        queued,
      }),
    )
    log.info({ instance: instance.id, queued, replaced: Boolean(previous) }, 'agent connected')
    void pump(session)
  }

  return {
    attach,
    /**
     * Sends a live delivery frame and waits for the agent's result. Null means "not answered
     * in time or not sendable now": the caller stores it, and it is replayed on the next tunnel.
     */
    forward(
      instanceId: string,
      id: string,
      frame: Buffer,
      lease: Lease,
      timeoutMs: number,
    ): Promise<Reply | null> {
      const session = sessions.get(instanceId)
      return session ? send(session, id, frame, lease, timeoutMs) : Promise.resolve(null)
    },
    /** A delivery was just stored: let a connected agent's pump pick it up. */
    kick(instanceId: string) {
      const session = sessions.get(instanceId)
      if (session) void pump(session)
    },
    connected: (instanceId: string) => sessions.has(instanceId),
    /** Open tunnels (the agents_connected gauge reads it). */
    count: () => sessions.size,
    closeAll(code: number, reason: string) {
      clearInterval(heartbeat)
      for (const session of sessions.values()) session.socket.close(code, reason)
    },
  }
}

function send(
  session: Session,
  id: string,
  frame: Buffer,
  lease: Lease,
  timeoutMs: number,
): Promise<Reply | null> {
  const { socket } = session
  if (
    session.pumping ||
    session.waiting.size >= MAX_WAITING ||
    socket.bufferedAmount >= TUNNEL_BUFFER_BYTES
  ) {
    return Promise.resolve(null)
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => settle(null), timeoutMs)
    const settle = (reply: Reply | null) => {
      clearTimeout(timer)
      session.waiting.delete(id)
      // Unanswered: it will be stored; this socket already has it, so the pump must not resend.
      if (!reply) session.unanswered.add(id)
      resolve(reply)
    }
    session.waiting.set(id, settle)
    // The frame stays in memory until the socket has written it, however the request ends.
    lease.retain()
    socket.send(frame, () => lease.release())
  })
}

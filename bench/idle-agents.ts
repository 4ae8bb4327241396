// Many idle agents in one process: each its own key (agent/identity.ts) and its own tunnel
// (agent/tunnel.ts) to the relay, connected and then left alone, heartbeats and all.
// Usage: node bench/idle-agents.ts '{"relayUrl","registrationToken","batches":[20,1000]}'
// Prints {"connected":N} after each batch, and waits for a line on stdin before the next one.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import pino from 'pino'
import { loadIdentity } from '../agent/core/identity.ts'
import { startTunnel } from '../agent/tunnel/client.ts'

type Options = { relayUrl: string; registrationToken: string; batches: number[] }

const options = JSON.parse(process.argv[2] ?? '{}') as Options
const dir = mkdtempSync(join(tmpdir(), 'toehold-idle-agents-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
process.on('SIGTERM', () => process.exit(0))

const log = pino({ level: 'silent' })
const tunnels: { close(): void }[] = []
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()

/** Opens one tunnel and resolves at its welcome. */
async function connectOne(n: number): Promise<void> {
  const identity = await loadIdentity(join(dir, `key-${n}.json`))
  await new Promise<void>((resolve) => {
    tunnels.push(
      startTunnel({
        relayUrl: options.relayUrl,
        identity,
        registrationToken: options.registrationToken,
        log,
        handler: async () => ({ status: 404 }),
        onWelcome: () => resolve(),
      }),
    )
  })
}

const PARALLEL = 32
for (const [b, size] of options.batches.entries()) {
  if (b > 0) await lines.next()
  let next = tunnels.length
  const end = tunnels.length + size
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < end) await connectOne(next++)
    }),
  )
  process.stdout.write(`${JSON.stringify({ connected: tunnels.length })}\n`)
}
await lines.next()
for (const tunnel of tunnels) tunnel.close()

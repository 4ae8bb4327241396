// Relay memory under large webhooks, from /proc: the peak RSS rise for one queued 25 MiB
// webhook (as a multiple of its size), and the peak RSS of a relay hit by 20 at once, with what
// it answered. The relay runs with its default budgets (RELAY_INFLIGHT_BYTES and the rest).
import { randomBytes } from 'node:crypto'
import { startEchoAgent } from '../test/helpers/echo-agent.ts'
import { memory, post, resetPeak } from '../test/helpers/hostile.ts'
import { startRelay } from '../test/helpers/procs.ts'

const MiB = 1024 ** 2
const SIZE = 25 * MiB
const CONCURRENT = 20

export type LargeWebhooks = {
  oneQueuedPeakRiseMiB: number
  oneQueuedPeakRiseTimes: number
  concurrent: number
  concurrentPeakRssMiB: number
  concurrentStatuses: Record<string, number>
}

export async function benchLargeWebhooks(): Promise<LargeWebhooks> {
  const relay = await startRelay()
  const pid = relay.child.pid as number
  try {
    // An instance the relay knows whose agent is away: every webhook is sealed and stored.
    const agent = await startEchoAgent(relay)
    await agent.welcomes.count(1)
    agent.close()
    await relay.waitFor((line) => line.msg === 'agent disconnected', 'agent disconnected')
    const url = agent.webhookUrl('bench')
    await post(url, randomBytes(MiB)) // warm the seal and store paths

    const one = randomBytes(SIZE)
    resetPeak(pid)
    const before = memory(pid).rss
    const answer = await post(url, one)
    if (answer.status !== 202)
      throw new Error(`one 25 MiB webhook: ${answer.status} ${answer.body}`)
    const rise = memory(pid).peak - before

    resetPeak(pid)
    const bodies = Array.from({ length: CONCURRENT }, () => randomBytes(SIZE))
    const answers = await Promise.all(bodies.map((body) => post(url, body)))
    const statuses: Record<string, number> = {}
    for (const { status } of answers) statuses[status] = (statuses[status] ?? 0) + 1
    return {
      oneQueuedPeakRiseMiB: Math.round((rise / MiB) * 10) / 10,
      oneQueuedPeakRiseTimes: Math.round((rise / SIZE) * 100) / 100,
      concurrent: CONCURRENT,
      concurrentPeakRssMiB: Math.round((memory(pid).peak / MiB) * 10) / 10,
      concurrentStatuses: statuses,
    }
  } finally {
    await relay.kill()
  }
}

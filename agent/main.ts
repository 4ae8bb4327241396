// `toehold agent`: run the home agent until SIGTERM/SIGINT, then stop its apps and exit 0.
import { createLogger } from '../shared/log.ts'
import { type AgentFlags, agentConfig } from './config.ts'
import { startAgent } from './start.ts'

export async function runAgent(flags: AgentFlags): Promise<void> {
  const config = agentConfig(flags)
  const log = createLogger('agent')
  const agent = await startAgent(config, log)
  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'agent shutting down')
    await agent.close()
    log.flush()
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
}

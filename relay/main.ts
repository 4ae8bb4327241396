// `toehold relay`: run the public relay until SIGTERM/SIGINT.
import { createLogger } from '../shared/log.ts'
import { type RelayFlags, relayConfig } from './config.ts'
import { startRelay } from './server.ts'

export async function runRelay(flags: RelayFlags): Promise<void> {
  const config = relayConfig(flags)
  const log = createLogger('relay')
  const relay = await startRelay(config, log)
  log.info({ url: relay.url, publicUrl: relay.publicUrl, data: config.dataDir }, 'relay listening')
  if (relay.registrationTokenFile) {
    // The log is stderr under systemd and on fly: the token itself never goes there.
    log.warn(
      { file: relay.registrationTokenFile },
      'new relay registration token written to this file (0600): agents need it for their first connection; set RELAY_REGISTRATION_TOKEN to choose your own',
    )
  }
  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'relay shutting down')
    await relay.close()
    log.flush()
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
}

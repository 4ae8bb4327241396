// One line in a deployment's build log (and the live stream) for what was reported about it.
import { appendFile } from 'node:fs/promises'
import type { Events } from '../core/events.ts'
import type { Deployer } from '../deploy/types.ts'

export function deployLogLine(
  deps: { deployer: Deployer; events: Events },
  app: string,
  deployment: number,
  text: string,
): Promise<void> {
  const line = `[toehold] ${text}`
  deps.events.emit({
    type: 'log',
    app,
    deployment,
    stream: 'build',
    line,
    at: new Date().toISOString(),
  })
  // The log may be gone (app removed): the line is informative only.
  return appendFile(deps.deployer.buildLogPath(app, deployment), `${line}\n`).catch(() => {})
}

// A real Caddy in front of a relay, configured like ops/Caddyfile (reverse_proxy, nothing else)
// but on plain HTTP and a free port, for tests of what reaches the relay through a proxy.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { freePort } from './agent.ts'
import { tempDir } from './procs.ts'

export type Caddy = { url: string; child: ChildProcess; stop(): Promise<void> }

/** `site`: the directives of the one site block (default: a bare reverse_proxy to `upstream`). */
export async function startCaddy(upstream: string, site?: string): Promise<Caddy> {
  const port = await freePort()
  const dir = tempDir('toehold-caddy-')
  const config = join(dir, 'Caddyfile')
  writeFileSync(
    config,
    `{\n\tadmin off\n\tauto_https off\n\tstorage file_system ${dir}\n}\nhttp://127.0.0.1:${port} {\n${site ?? `\treverse_proxy ${new URL(upstream).host}`}\n}\n`,
  )
  const child = spawn('caddy', ['run', '--config', config, '--adapter', 'caddyfile'], {
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const exited = once(child, 'exit')
  await new Promise<void>((resolve, reject) => {
    let log = ''
    const lines = createInterface({ input: child.stderr })
    lines.on('line', (line) => {
      log += `${line}\n`
      if (line.includes('serving initial configuration')) resolve()
    })
    exited.then(() => reject(new Error(`caddy exited:\n${log}`)))
  })
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}

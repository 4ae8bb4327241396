// The one way tests start an agent as a real process: on a free API port, with or without a
// relay, resolved once it has recovered (fully up), with its local API at hand.
import { randomInt } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, delimiter, join } from 'node:path'
import { agentHome } from '../../agent/core/home.ts'
import { send } from './http.ts'
import {
  type LogLine,
  type Proc,
  REGISTRATION_TOKEN,
  ROOT,
  spawnToehold,
  tempDir,
} from './procs.ts'
import { assertNoSecret } from './secrets.ts'

/** PATH with node_modules/.bin, where the agent finds bun. */
export const PATH = `${join(ROOT, 'node_modules/.bin')}${delimiter}${process.env.PATH}`

// biome-ignore lint/suspicious/noExplicitAny: tests read API answers field by field
export type ApiAnswer<T = any> = { status: number; body: T }

export type Agent = Proc & {
  home: string
  instance: string
  /** The local API's base URL. */
  url: string
  // biome-ignore lint/suspicious/noExplicitAny: see ApiAnswer
  api<T = any>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>>
  /** The webhook URL of `app` on the relay the agent dials. */
  webhookUrl(app: string): string
}

export type AgentOptions = {
  relay?: { url: string }
  home?: string
  env?: NodeJS.ProcessEnv
  args?: string[]
  /** The relay's registration token to send; null sends none. Default: the test suite's. */
  registrationToken?: string | null
  /** How to run toehold: the sources by default (an installed package's bin in package.test). */
  command?: string[]
}

export async function startAgent(options: AgentOptions = {}): Promise<Agent> {
  const home = options.home ?? tempDir('toehold-home-')
  const { relay } = options
  const token =
    options.registrationToken === undefined ? REGISTRATION_TOKEN : options.registrationToken
  const proc = spawnToehold(
    [
      'agent',
      ...(relay ? ['--relay', relay.url.replace(/^http/, 'ws')] : []),
      '--home',
      home,
      '--api-port',
      '0',
      ...(options.args ?? []),
    ],
    { PATH, ...(relay && token ? { TOEHOLD_REGISTRATION_TOKEN: token } : {}), ...options.env },
    options.command,
  )
  const identity = await proc.waitFor((line) => line.msg === 'agent identity', 'agent identity')
  await proc.waitFor((line) => line.msg === 'recovered', 'recovery')
  const info = JSON.parse(readFileSync(agentHome(home).agentInfo, 'utf8'))
  const instance = identity.instance as string
  return Object.assign(proc, {
    home,
    instance,
    url: info.api as string,
    webhookUrl: (app: string) => `${relay?.url}/hooks/${instance}/${app}`,
    // A fresh connection per call: a pooled keep-alive socket can be closed by the agent's idle
    // timer just as a test, late from a busy event loop, writes its next request on it.
    async api(method: string, path: string, body?: unknown) {
      const response = await send(`${info.api}${path}`, {
        method,
        headers: { authorization: `Bearer ${info.apiKey}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: Buffer.from(JSON.stringify(body)) }),
      })
      const text = response.body.toString('utf8')
      let parsed: unknown = text
      try {
        parsed = JSON.parse(text)
      } catch {}
      // biome-ignore lint/suspicious/noExplicitAny: see ApiAnswer
      return { status: response.status, body: parsed as any }
    },
  })
}

/** Waits until the agent's current tunnel is up (the n-th "connected to relay" line, 1-based). */
export function connected(agent: Proc, nth = 1): Promise<LogLine> {
  let count = 0
  return agent.waitFor(
    (line) => line.msg === 'connected to relay' && ++count === nth,
    `connection #${nth}`,
  )
}

// Ports an app is given to serve on. They come from below the kernel's ephemeral range, where no
// listen(0) of another test process (an agent's API, a release) lands, and each is claimed by a
// mkdir in a directory every test process shares, so two concurrent tests never get the same
// one. A port taken by listen(0) and closed again was once handed to another process's listen(0)
// before the test used it: the app's URL answered with somebody's dashboard.
const CLAIMS = join(tmpdir(), 'toehold-test-ports')
const EPHEMERAL_LOW = Number(
  readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
)
const FIRST = 10_000
const claimed: string[] = []
process.on('exit', () => {
  for (const claim of claimed) rmSync(claim, { recursive: true, force: true })
})

const canListen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    // Every interface, as the agent binds an app's port by default.
    server.listen({ port }, () => server.close(() => resolve(true)))
  })

export async function freePort(): Promise<number> {
  mkdirSync(CLAIMS, { recursive: true })
  for (let tries = 0; tries < 100; tries++) {
    const port = FIRST + randomInt(EPHEMERAL_LOW - FIRST)
    const claim = join(CLAIMS, String(port))
    try {
      mkdirSync(claim)
    } catch {
      continue // another test process holds it
    }
    claimed.push(claim)
    if (await canListen(port)) return port
  }
  throw new Error(`no free port below ${EPHEMERAL_LOW} after 100 tries`)
}

/** No secret in the agent's output, the API answers, or its home's files but the state, which
 *  keeps `env set` values by design. */
export const assertNoLeak = (
  agent: Agent,
  secrets: Record<string, string>,
  answers: unknown[] = [],
) =>
  assertNoSecret(secrets, {
    texts: {
      'agent output': `${agent.lines.map((line) => JSON.stringify(line)).join('\n')}\n${agent.stderr}`,
      'API answers': JSON.stringify(answers),
    },
    dirs: [agent.home],
    skip: (path) => basename(path).startsWith('state.db'),
  })
